"""Growing-lake benchmark: does a run cost what its own inputs cost, whatever the lake's size?

    .venv/bin/python -m benchmarks.scale [--sizes 10000 100000 1000000] [--repeat 2] [--parts lake,stream]

`make bench-scale` runs it (minutes to an hour; not part of `make test`). Two parts:

- `lake`: for each size N, a synthetic lake of N documents is built straight through the lake's
  own commit, in 200 daily partitions as hourly runs over months would leave it: `documents`
  (short bodies), five `mentions` each over a pool of N/5 names, a `signatures` row each (random
  MinHash and band keys), the `entity_keys` rows of those names and a `runs` row per partition.
  One real BBC article is among them, with its real body and signature. Then `newsetl run` loads
  the same 200 BBC articles, plus a syndicated copy of that article, into an empty data dir and
  into a (hard-linked) copy of the lake, alternating, `--repeat` pairs. Printed per size: the
  flow's own time (the summary's `time`) and the peak resident memory of the run's process
  tree, both lakes, and their ratios; and whether the copy was found as a near-duplicate of the
  article loaded "months ago".
- `stream`: `newsetl run` on the BBC corpus and on four distinct copies of it (as `make bench`
  builds them), each into an empty data dir: the peak resident memory of the `newsetl run`
  process itself and of its tree, and the growth per 1,000 documents.

Needs ../shared/corpora/bbc (or --corpus). Figures go to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa

from benchmarks.throughput import BBC, NEWSETL, PeakMemory, replicate

PARTITIONS = 200
MENTIONS_PER_DOC = 5
RUN_DOCS = 200
#: Words of the synthetic names: made-up ones, and some surnames the BBC articles use, so that
#: the run's names share resolver blocks with the lake's and are resolved against them.
REAL_SURNAMES = ("blair", "brown", "howard", "kennedy", "bush", "straw", "prescott", "milburn", "smith", "jones")


def _names(n: int, rng: np.random.Generator) -> list[str]:
    syllables = ["ka", "lo", "mi", "ten", "ra", "vo", "su", "del", "mar", "quin", "bo", "zet", "an", "ri", "ol"]
    first = sorted({"".join(rng.choice(syllables, 2)) for _ in range(400)})
    last = sorted({"".join(rng.choice(syllables, 3)) for _ in range(6000)}) + list(REAL_SURNAMES)
    names: set[str] = set()
    while len(names) < n:
        names.add(f"{rng.choice(first)} {rng.choice(last)}" + (f" {rng.choice(syllables)}" if len(names) % 7 == 0 else ""))
    return sorted(names)


def _original(article: Path) -> dict:
    """The cleaned BBC article the lake holds from "months ago": doc id, body, signature."""
    from flows.sources import read_document
    from transforms.clean import clean_document
    from transforms.records import CleanDoc, RawDoc

    raw = read_document(str(article), max_bytes=50 * 2**20)
    assert isinstance(raw, RawDoc), raw
    doc = clean_document(raw)
    assert isinstance(doc, CleanDoc) and doc.signature is not None, doc
    return {"doc_id": doc.doc_id, "path": str(article), "body": doc.cleaned.body, "signature": doc.signature,
            "sha": raw.input_sha256, "n_raw": len(raw.text)}


def build_lake(data_dir: Path, n_docs: int, original: dict, *, seed: int = 7) -> None:
    """A lake of `n_docs` synthetic documents in PARTITIONS daily runs (see the module's doc)."""
    from flows.nlp import model_version
    from flows.pipeline import PIPELINE_VERSION
    from flows.settings import DEFAULT_MODEL
    from schemas import DOCUMENTS, ENTITY_KEYS, MENTIONS, RUNS, SIGNATURES, TABLES
    from transforms.dedup import BANDS, band_keys
    from transforms.entities import entity_id
    from transforms.resolve import resolution_blocks
    from warehouse.lake import Lake

    rng = np.random.default_rng(seed)
    versions = {"pipeline_version": PIPELINE_VERSION, "model_version": model_version(DEFAULT_MODEL)}
    pool = np.array(_names(max(n_docs // MENTIONS_PER_DOC, 50), rng), dtype=object)
    pool_ids = np.array([entity_id(k) for k in pool], dtype=object)
    seen = np.zeros(len(pool), dtype=bool)
    lake = Lake(data_dir)
    per_part = n_docs // PARTITIONS
    with lake.lock():
        for part in range(PARTITIONS):
            day = date(2026, 1, 1) + timedelta(days=part)
            run = f"{day:%Y%m%d}T000000Z-syn{part:04d}"
            at = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
            n = per_part if part < PARTITIONS - 1 else n_docs - per_part * (PARTITIONS - 1)
            ids = [f"{rng.integers(2**63):016x}{part:04x}" for _ in range(n)]
            bodies = [f"Synthetic article {part}-{i}. The minister met officials on Monday to discuss the budget "
                      f"and the council's plans for the year ahead, a spokesman said." for i in range(n)]
            paths = [f"/feeds/site{i % 40}/{day}/{i}.txt" for i in range(n)]
            shas = [f"{rng.integers(2**63):016x}" * 4 for _ in range(n)]
            minhashes = [rng.bytes(4 * 128) for _ in range(n)]
            bands = pa.array(list(rng.integers(-(2**62), 2**62, size=(n, BANDS))), type=pa.list_(pa.int64()))
            if part == PARTITIONS // 2:  # the real article, loaded "months ago"
                ids[0], bodies[0], paths[0], shas[0] = original["doc_id"], original["body"], original["path"], original["sha"]
                minhashes[0] = original["signature"]
                bands = pa.concat_arrays([pa.array([band_keys(original["signature"])], type=pa.list_(pa.int64())), bands[1:]])
            lineage = {"run_id": pa.array([run] * n), **{k: pa.array([v] * n) for k, v in versions.items()}}
            documents = pa.table({
                "doc_id": ids, "source_path": paths, "title": [None] * n, "subtitle": [None] * n,
                "published_at": pa.nulls(n, pa.timestamp("us")), "updated_at": pa.nulls(n, pa.timestamp("us")),
                "page_date": pa.nulls(n, pa.date32()), "author": [None] * n, "dateline": [None] * n,
                "tags": pa.nulls(n, pa.list_(pa.string())), "source_name": [None] * n, "source_url": [None] * n,
                "body": bodies, "n_chars_raw": [len(b) + 40 for b in bodies], "n_chars_body": [len(b) for b in bodies],
                "encoding": ["utf-8"] * n, "language": ["en"] * n, "run_id": lineage["run_id"],
                "ingested_at": pa.array([at] * n, pa.timestamp("us", tz="UTC")), "input_sha256": shas,
                "duplicate_of": [None] * n, **{k: lineage[k] for k in versions},
            }, schema=DOCUMENTS)
            picks = rng.integers(len(pool), size=n * MENTIONS_PER_DOC)
            keys = pool[picks]
            texts = [k.title() for k in keys]
            m = len(keys)
            mentions = pa.table({
                "doc_id": np.repeat(np.array(ids, dtype=object), MENTIONS_PER_DOC), "mention_id": np.tile(np.arange(MENTIONS_PER_DOC, dtype=np.int32), n),
                "sentence_id": np.zeros(m, dtype=np.int32), "start_char": np.zeros(m, dtype=np.int32),
                "end_char": np.array([len(t) for t in texts], dtype=np.int32), "text": texts,
                "label": ["PERSON"] * m, "entity_id": pool_ids[picks], "run_id": [run] * m, "entity_key": keys,
                "full_name": np.ones(m, dtype=bool), "input_sha256": np.repeat(np.array(shas, dtype=object), MENTIONS_PER_DOC),
                **{k: [v] * m for k, v in versions.items()},
            }, schema=MENTIONS)
            signatures = pa.table({
                "doc_id": ids, "bands": bands, "minhash": minhashes, "run_id": lineage["run_id"], "input_sha256": shas,
                **{k: lineage[k] for k in versions},
            }, schema=SIGNATURES)
            used, counts = np.unique(picks, return_counts=True)
            new = ~seen[used]
            seen[used] = True
            k = len(used)
            entity_keys = pa.table({
                "alias_key": pool[used], "entity_id": pool_ids[used], "n_mentions": counts.astype(np.int64),
                "labels": pa.array([[("PERSON", int(c))] for c in counts], type=pa.map_(pa.string(), pa.int64())),
                "acronym": np.zeros(k, dtype=bool), "short_forms": pa.array([[]] * k, type=pa.list_(pa.string())),
                "blocks": pa.array([list(resolution_blocks(key)) if is_new else None for key, is_new in zip(pool[used], new)],
                                   type=pa.list_(pa.string())),
                "fixed_name": [None] * k, "fixed_label": [None] * k, "run_id": [run] * k, "chunk": pa.array([0] * k, pa.int32()),
                **{key: [v] * k for key, v in versions.items()},
            }, schema=ENTITY_KEYS)
            runs = pa.table({
                "run_id": [run], "started_at": pa.array([at], pa.timestamp("us", tz="UTC")),
                "finished_at": pa.array([at + timedelta(minutes=5)], pa.timestamp("us", tz="UTC")),
                "status": ["completed"], "n_input": [n], "n_loaded": [n], "n_skipped": [0], "n_quarantined": [0],
                "n_duplicates": [0], "n_mentions": [m], "entity_density": pa.nulls(1, pa.float64()),
                "extract_s": [1.0], "clean_s": [1.0], "annotate_s": [1.0], "quality_s": [1.0], "load_s": [1.0],
                "model": [versions["model_version"]], "error": [None], **{k: [v] for k, v in versions.items()},
            }, schema=RUNS)
            others = {name: [] for name in TABLES} if part == 0 else {}  # every table has a file, as after a real run
            lake.commit(run, {**others, "documents": documents, "mentions": mentions, "signatures": signatures,
                              "entity_keys": entity_keys, "runs": runs}, ingest_date=day, compact_min_files=None)


def _copy_data_dir(source: Path, target: Path) -> None:
    """A copy of a data dir whose Parquet files are hard links (a run never writes into them)."""
    target.mkdir()
    subprocess.run(["cp", "-al", str(source / ".snapshots"), str(target / ".snapshots")], check=True)
    for name in ("lake", "warehouse.duckdb"):
        if (source / name).exists() or (source / name).is_symlink():
            subprocess.run(["cp", "-a", str(source / name), str(target / name)], check=True)


def measure_run(inputs: Path, data_dir: Path) -> tuple[float, float, float, str]:
    """`newsetl run` of `inputs` into `data_dir`: the flow's own seconds (from the summary),
    peak MiB of the run's process tree and of the `newsetl run` process, and the summary."""
    process = subprocess.Popen([str(NEWSETL), "run", str(inputs), "--data-dir", str(data_dir)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    tree, own = PeakMemory(process.pid), PeakMemory(process.pid, children=False)
    out, _ = process.communicate()
    peak_tree, peak_own = tree.stop(), own.stop()
    if process.returncode != 0:
        raise SystemExit(f"newsetl run failed with status {process.returncode}:\n{out}")
    line = next(line for line in out.splitlines() if line.strip().startswith("time"))
    return float(line.split()[1].rstrip("s")), peak_tree, peak_own, out


def _duplicate_found(data_dir: Path, original: dict) -> bool:
    from warehouse.duck import query

    rows = query(data_dir, "select duplicate_of from documents where source_path like '%syndicated.txt'").rows
    return rows == [(original["doc_id"],)]


def lake_part(corpus: Path, sizes: list[int], repeat: int, work: Path) -> None:
    from warehouse.duck import refresh_views
    from warehouse.lake import Lake

    articles = sorted(corpus.rglob("*.txt"))
    original = _original(articles[-1])
    inputs = work / "inputs"
    inputs.mkdir()
    for path in articles[:RUN_DOCS]:
        shutil.copy(path, inputs / f"{path.parent.name}-{path.name}")
    text = Path(original["path"]).read_text(encoding="utf-8", errors="replace")
    (inputs / "syndicated.txt").write_text(text.replace(" the ", " a ", 1) + "\nReporting by our correspondent.\n", encoding="utf-8")
    print(f"run: {RUN_DOCS} BBC articles and a syndicated copy of {Path(original['path']).name}")
    for size in sizes:
        lake_dir = work / f"lake-{size}"
        start = time.perf_counter()
        build_lake(work / "run-lake", size, original)
        refresh_views(Lake(work / "run-lake"))  # the warehouse as the last run left it, at the runs' path
        (work / "run-lake").rename(lake_dir)
        print(f"\nlake of {size:,} documents in {PARTITIONS} partitions: built in {time.perf_counter() - start:.0f} s, "
              f"{sum(p.stat().st_size for p in lake_dir.rglob('*.parquet')) / 2**20:.0f} MiB of Parquet")
        figures: dict[str, list[tuple[float, float]]] = {"empty": [], "lake": []}
        found = []
        for pair in range(repeat):
            for which in (("empty", "lake") if pair % 2 == 0 else ("lake", "empty")):
                target = work / f"run-{which}"
                if which == "lake":
                    _copy_data_dir(lake_dir, target)
                seconds, peak, _, out = measure_run(inputs, target)
                figures[which].append((seconds, peak))
                if which == "lake":
                    found.append(_duplicate_found(target, original))
                stages = next(line for line in out.splitlines() if line.strip().startswith("time")).split("(", 1)[-1].rstrip(")")
                print(f"    {which:5s} flow {seconds:5.1f} s ({stages}), peak {peak:5.0f} MiB")
                shutil.rmtree(target)
        time_ratios = [lake[0] / empty[0] for empty, lake in zip(figures["empty"], figures["lake"])]
        memory_ratios = [lake[1] / empty[1] for empty, lake in zip(figures["empty"], figures["lake"])]
        print(f"  {size:,}: flow time lake/empty median {statistics.median(time_ratios):.2f} "
              f"(pairs {', '.join(f'{r:.2f}' for r in time_ratios)}; target <= 1.25), "
              f"peak memory median {statistics.median(memory_ratios):.2f} "
              f"(pairs {', '.join(f'{r:.2f}' for r in memory_ratios)}; target <= 1.15); "
              f"syndicated copy found: {all(found)} ({sum(found)} of {len(found)})")
        shutil.rmtree(lake_dir)


def stream_part(corpus: Path, work: Path) -> None:
    peaks = {}
    for copies in (1, 4):
        inputs = replicate(corpus, work / f"{copies}x", copies)
        n = sum(1 for _ in inputs.rglob("*.txt"))
        seconds, tree, own, _ = measure_run(inputs, work / f"data-{copies}x")
        peaks[copies] = (n, tree, own)
        print(f"  {copies}x ({n} documents): flow {seconds:.0f} s, peak newsetl run process {own:.0f} MiB, tree {tree:.0f} MiB")
        shutil.rmtree(inputs)
        shutil.rmtree(work / f"data-{copies}x")
    (n1, tree1, own1), (n4, tree4, own4) = peaks[1], peaks[4]
    per_k = 1000 / (n4 - n1)
    print(f"  growth per 1,000 documents: newsetl run process {(own4 - own1) * per_k:.1f} MiB (target <= 10), "
          f"tree {(tree4 - tree1) * per_k:.1f} MiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=BBC)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000], help="lake sizes, in documents")
    parser.add_argument("--repeat", type=int, default=2, help="pairs of runs (empty lake, big lake) per size, alternating")
    parser.add_argument("--parts", default="lake,stream", help="comma-separated: lake, stream (default: both)")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        print(f"benchmark corpus not found: {args.corpus} (give --corpus DIR)", file=sys.stderr)
        return 2
    parts = set(args.parts.split(","))
    with tempfile.TemporaryDirectory(prefix="newsetl-bench-scale-") as tmp:
        if "lake" in parts:
            lake_part(args.corpus, args.sizes, args.repeat, Path(tmp))
        if "stream" in parts:
            print("\nnewsetl run on 1x and 4x the corpus, into empty data dirs")
            stream_part(args.corpus, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
