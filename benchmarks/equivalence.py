"""Same tables as an earlier commit: run this checkout and a git revision on one corpus, compare.

    .venv/bin/python -m benchmarks.equivalence [--before REV] [--corpus DIR] [--chunk-size N]

Checks out `--before` (default: 29bbf6f, the last commit before the lake kept incremental state)
into a temporary git worktree, runs `newsetl run` of both on the same input folder into two empty
data dirs, and compares what a user queries: documents (with their near-duplicate), mentions
(with their entity), entities (name, label, counts), quotes (with their speaker's entity),
removed lines and quarantine, ignoring what differs by run (run ids, times). Prints each table's
row counts and the rows only one side holds; exits 1 when any differ. With `--chunk-size`, this
checkout streams the input in chunks of that size (the earlier code took it whole).

Needs git and the input folder (default: the sample corpus); runs the earlier code with this
checkout's virtualenv, so its dependencies must match.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "29bbf6f"
#: What is compared of each view: its content columns, not the run's lineage.
COMPARED = {
    "documents": "doc_id, source_path, title, subtitle, published_at, author, dateline, body, language, duplicate_of",
    "mentions": "doc_id, mention_id, sentence_id, start_char, end_char, text, label, entity_id, entity_key",
    "entities": "entity_id, name, label, n_mentions, n_documents",
    "quotes": "doc_id, quote_id, start_char, end_char, text, speaker, speaker_entity_id",
    "removed_lines": "doc_id, line_no, text, reason",
    "quarantine": "source_path, stage, reason",
}


def run(code: Path, inputs: Path, data_dir: Path, extra: list[str]) -> None:
    """`newsetl run` of the code in `code` (its folder first on the import path)."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    command = [sys.executable, "-c", "import sys; from flows.cli import main; sys.exit(main(sys.argv[1:]))",
               "run", str(inputs), "--data-dir", str(data_dir), *extra]
    done = subprocess.run(command, cwd=code, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"run of {code} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def compare(before: Path, after: Path) -> int:
    """Print each view's counts and differing rows; return how many views differ."""
    differ = 0
    with duckdb.connect() as con:
        con.execute(f"attach '{before / 'warehouse.duckdb'}' as before (read_only)")
        con.execute(f"attach '{after / 'warehouse.duckdb'}' as after (read_only)")
        for view, columns in COMPARED.items():
            n_before = con.execute(f"select count(*) from before.{view}").fetchone()[0]  # type: ignore[index]
            n_after = con.execute(f"select count(*) from after.{view}").fetchone()[0]  # type: ignore[index]
            only_before = con.execute(f"select {columns} from before.{view} except all select {columns} from after.{view}").fetchall()
            only_after = con.execute(f"select {columns} from after.{view} except all select {columns} from before.{view}").fetchall()
            same = not only_before and not only_after
            differ += not same
            print(f"  {view:14s} before {n_before:6d}  after {n_after:6d}  {'same rows' if same else 'DIFFER'}")
            for side, rows in (("only before", only_before), ("only after", only_after)):
                for row in rows[:5]:
                    print(f"      {side}: {row}")
    return differ


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default=BEFORE, help=f"git revision to compare with (default {BEFORE})")
    parser.add_argument("--corpus", type=Path, default=ROOT / "flows" / "sample_corpus", help="input folder")
    parser.add_argument("--chunk-size", type=int, help="this checkout's --chunk-size")
    args = parser.parse_args()
    args.corpus = args.corpus.resolve()  # the runs start in their own checkouts
    if not args.corpus.is_dir():
        print(f"input folder not found: {args.corpus} (give --corpus DIR)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="newsetl-equivalence-") as tmp:
        work = Path(tmp)
        old = work / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), args.before],
                       check=True, capture_output=True)
        try:
            run(old, args.corpus, work / "data-before", [])
            run(ROOT, args.corpus, work / "data-after", ["--chunk-size", str(args.chunk_size)] if args.chunk_size else [])
            print(f"{args.corpus}: {args.before} (before) against this checkout (after)")
            differ = compare(work / "data-before", work / "data-after")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False)
    print("same tables" if not differ else f"{differ} views differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
