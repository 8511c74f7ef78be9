"""rs-trafilatura's extraction of the benchmark pages, for `benchmarks/extraction.py --rs-python`.

rs-trafilatura is on the registry only as a CPython 3.12 wheel (its source needs crates.io, out
of reach here), so it runs in an interpreter of its own:

    python3.12 -m venv /tmp/rs312 && /tmp/rs312/bin/pip install rs-trafilatura
    /tmp/rs312/bin/python benchmarks/rs_extract.py PAGES_DIR OUT.json

Standard library and rs_trafilatura only. Writes {page key: {"text", "title"}} and prints the
seconds it took.
"""

import gzip, json, sys, time
from pathlib import Path
import rs_trafilatura
pages_dir = Path(sys.argv[1])
truth = json.loads((pages_dir / "ground-truth.json").read_text(encoding="utf-8"))
out = {}
start = time.perf_counter()
for key in sorted(truth):
    html = gzip.decompress((pages_dir / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8")
    r = rs_trafilatura.extract(html)
    out[key] = {"text": r.main_content or "", "title": r.title or ""}
print(f"{time.perf_counter() - start:.1f}", file=sys.stderr)
json.dump(out, open(sys.argv[2], "w"))
