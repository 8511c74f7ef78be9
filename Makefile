# newsetl: `make run` and `make test` are the two commands a new machine needs.
# Both create .venv from the pinned, hashed set in requirements/lock.txt when it
# is missing or out of date; nothing else has to be installed by hand.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

export PREFECT_SERVER_ANALYTICS_ENABLED := false
export GX_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: run test venv lock clean-data bench-extraction

run: $(STAMP)
	$(VENV)/bin/newsetl run

test: $(STAMP)
	$(PY) -m mypy
	$(PY) -m pytest

venv: $(STAMP)

# --no-deps: the lock is complete, so pip installs exactly it (pip's resolver
# mishandles extras such as sqlalchemy[asyncio] in --require-hashes mode).
$(STAMP): requirements/lock.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "newsetl needs Python 3.11; set PYTHON=/path/to/python3.11")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --no-deps --require-hashes -r requirements/lock.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	touch $(STAMP)

# Re-resolve the lock from requirements/requirements.in (needs uv in the venv).
lock: $(STAMP)
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile requirements/requirements.in --python-version 3.11 \
	    --generate-hashes --no-strip-extras --no-header -o requirements/lock.txt

clean-data:
	rm -rf data

# Extraction benchmark (not part of `make test`): seeds against hand labels, the 91 HTML pages of
# ../shared/benchmarks/article-extraction with newsetl and trafilatura alone, and page text only.
SHARED ?= ../shared
bench-extraction: $(STAMP)
	$(PY) -m benchmarks.extraction --shared $(SHARED)
