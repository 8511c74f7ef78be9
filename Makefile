# newsetl: `make run` and `make test` are the two commands a new machine needs.
# Both create .venv from the pinned, hashed set in requirements/lock.txt when it
# is missing or out of date; nothing else has to be installed by hand.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# One stamp per Python version: `make test PYTHON=python3.13` rebuilds a .venv made by another.
PYVER  := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
STAMP  := $(VENV)/.installed-$(PYVER)

export PREFECT_SERVER_ANALYTICS_ENABLED := false
export GX_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: run test venv lock clean-data docs browser bench bench-mechanisms bench-scale bench-warehouse bench-entities bench-extraction

run: $(STAMP)
	$(VENV)/bin/newsetl run

test: $(STAMP) browser
	$(PY) -m mypy
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -n auto --dist loadscope

# The data-quality report is checked in a real headless browser: install Debian's chromium
# when it is missing and we may (root with apt-get); otherwise say how.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium for the report test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "note: no chromium; the report's browser test will be skipped (install chromium to run it)"; \
	  fi

venv: $(STAMP)

# Throughput benchmark on ../shared/corpora/bbc (minutes; not part of `make test`).
bench: $(STAMP)
	$(PY) benchmarks/throughput.py

# Each runtime mechanism (flows/runtime/) with and without, side by side (about half an hour).
bench-mechanisms: $(STAMP)
	$(PY) -m benchmarks.mechanisms

# Entity resolution: time and peak memory at 1x and 4x the BBC corpus (../shared), seed scores.
bench-entities: $(STAMP)
	$(PY) -m benchmarks.entities

# --no-deps: the lock is complete, so pip installs exactly it (pip's resolver
# mishandles extras such as sqlalchemy[asyncio] in --require-hashes mode).
$(STAMP): requirements/lock.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 13) else "newsetl needs Python 3.11, 3.12 or 3.13; set PYTHON=/path/to/python3.13, for example")'
	@if [ -x $(PY) ] && [ "$$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])')" != "$(PYVER)" ]; then \
	    echo "$(VENV) is for another Python: making it again with $(PYTHON)"; rm -rf $(VENV); fi
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --no-deps --require-hashes -r requirements/lock.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	touch $(STAMP)

# Re-resolve the lock from requirements/requirements.in (needs uv in the venv).
lock: $(STAMP)
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile requirements/requirements.in --universal --python-version 3.11 \
	    --generate-hashes --no-strip-extras --no-header -o requirements/lock.txt

# Growing lake: a run into lakes of 10k to 1M documents against an empty one, and a run's memory
# at 1x and 4x the BBC corpus (../shared; up to an hour; not part of `make test`).
bench-scale: $(STAMP)
	$(PY) -m benchmarks.scale

# Warehouse benchmark on ../shared/corpora/bbc (not part of `make test`; prints figures).
bench-warehouse: $(STAMP)
	$(PY) benchmarks/bench_warehouse.py

clean-data:
	rm -rf data

# Regenerate the table reference from schemas/ (a test fails when it is stale).
docs: $(STAMP)
	$(PY) -m schemas.reference > docs/tables.md

# Extraction benchmark (not part of `make test`): seeds against hand labels, the 91 HTML pages of
# ../shared/benchmarks/article-extraction with newsetl and trafilatura alone, and page text only.
SHARED ?= ../shared
bench-extraction: $(STAMP)
	$(PY) -m benchmarks.extraction --shared $(SHARED) $(if $(RS_PYTHON),--rs-python $(RS_PYTHON))
