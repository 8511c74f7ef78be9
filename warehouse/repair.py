"""Repair a damaged lake: leave out the files that are not as committed, keep every row that can
still be read, and make the runs load again what the lost files held.

Every table is partitioned by its run's date, so a damaged file `<table>/D/<name>`
held rows of the runs its name gives (`<run_id>.parquet`, `<run_id>-<chunk>.parquet`) or, for a
merged file (`compacted-*.parquet`), of any run of day D. What follows from leaving it out:

- `documents`: those documents are no longer loaded, and their rows in the tables derived from
  them (sentences, mentions, quotes, removed lines, signatures) are removed with them, so the
  next run over their inputs loads them again, whole.
- a table derived from documents, or `entity_keys`: the documents of those runs keep their rows
  but are marked `pipeline_version = 'needs-reload'`, which the next run over their inputs
  processes again, as it does after an upgrade; the views show the new rows from then on.
- `quarantine`: the next run over those inputs quarantines them again.
- `runs`, `dq_results`: the records of those runs are lost; nothing can derive them again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas import TABLES
from warehouse.lake import Damage, Lake

#: The `pipeline_version` of a document whose derived rows were in a damaged file.
NEEDS_RELOAD: Final[str] = "needs-reload"
#: Tables whose rows belong to one document of one run.
DOCUMENT_ROWS: Final[tuple[str, ...]] = ("sentences", "mentions", "quotes", "removed_lines", "signatures")
_MARK_DOCUMENTS: Final[frozenset[str]] = frozenset({*DOCUMENT_ROWS, "entity_keys"})


@dataclass
class Repaired:
    """What a repair did: the files it left out, the documents it marked for loading again and
    what is lost for good, in sentences; `snapshot` is None when nothing was damaged."""

    left_out: list[Damage] = field(default_factory=list)
    unloaded: list[str] = field(default_factory=list)
    marked: int = 0
    lost: list[str] = field(default_factory=list)
    snapshot: Path | None = None


def repair(lake: Lake, run_id: str) -> Repaired:
    """Publish, as commit `run_id`, a snapshot without the damaged and unknown files of the
    current one (`Lake.damage` with checksums), with the consequences in the module's docstring.
    Call it while holding the lake's lock."""
    damage = lake.damage(checksums=True)
    out = Repaired(left_out=damage)
    if not damage:
        return out
    snapshot = lake.current_snapshot()
    assert snapshot is not None
    lost_documents: set[str] = set()  # partitions that lost documents rows
    mark: dict[str, set[str] | None] = defaultdict(set)  # partition -> runs whose documents to mark (None: all)
    for item in damage:
        parts = item.path.split("/")
        if item.problem == "unknown" or len(parts) != 3 or parts[0] not in TABLES:
            continue
        table, partition, name = parts
        runs = _runs_of(name)
        if table == "documents":
            lost_documents.add(partition)
            out.unloaded.append(f"the documents of {_describe(runs, partition)}")
        elif table in _MARK_DOCUMENTS:
            if runs is None or mark[partition] is None:
                mark[partition] = None
            else:
                mark[partition].update(runs)  # type: ignore[union-attr]
        elif table == "quarantine":
            out.lost.append(f"quarantine rows of {_describe(runs, partition)}: the next run over those inputs quarantines them again")
        else:
            out.lost.append(f"the {table} rows of {_describe(runs, partition)}: these records cannot be derived again")
    dropped = {item.path for item in damage}
    rewrite: dict[str, Callable[[pa.Table], pa.Table]] = {}

    def marking(runs: set[str] | None) -> Callable[[pa.Table], pa.Table]:
        def change(table: pa.Table) -> pa.Table:
            marked = _marked(table, runs)
            out.marked += int(pc.sum(marked).as_py() or 0)
            return _mark(table, marked)

        return change

    for partition, runs in mark.items():  # the commit reads and rewrites each file once
        rewrite.update({path.relative_to(snapshot).as_posix(): marking(runs) for path in snapshot.glob(f"documents/{partition}/*.parquet")})
    for partition in sorted(lost_documents):
        kept = _documents_of(snapshot, partition, dropped)
        for name in DOCUMENT_ROWS:
            for path in sorted(snapshot.glob(f"{name}/{partition}/*.parquet")):
                rel = path.relative_to(snapshot).as_posix()
                if rel not in dropped:
                    rewrite[rel] = _keeping(kept)
    # an empty file for a table left with none, so that its view still exists
    empty: dict[str, list[dict[str, object]]] = {name: [] for name in TABLES}
    out.snapshot = lake.commit(run_id, empty, drop=dropped, rewrite=rewrite, compact_min_files=None)
    return out


def _keeping(kept: pa.Array) -> Callable[[pa.Table], pa.Table]:
    """A table's rows whose (doc_id, run_id) is in `kept` (`_pairs`)."""
    return lambda table: table.filter(pc.is_in(_pairs(table), value_set=kept))


def _runs_of(name: str) -> set[str] | None:
    """The runs whose rows a file of this name holds; None: any run of its day (a merged file)."""
    stem = name.removesuffix(".parquet")
    if stem.startswith("compacted-") or not name.endswith(".parquet"):
        return None
    run, _, chunk = stem.rpartition("-")
    return {run if run and chunk.isdigit() else stem}


def _describe(runs: set[str] | None, partition: str) -> str:
    return f"run {', '.join(sorted(runs))}" if runs else f"the runs of {partition}"


def _marked(table: pa.Table, runs: set[str] | None) -> pa.ChunkedArray:
    if runs is None:
        return pc.is_valid(table.column("run_id"))
    return pc.is_in(table.column("run_id"), value_set=pa.array(sorted(runs), pa.string()))


def _mark(table: pa.Table, marked: pa.ChunkedArray) -> pa.Table:
    index = table.schema.get_field_index("pipeline_version")
    versions = pc.if_else(marked, pa.scalar(NEEDS_RELOAD), table.column(index))
    return table.set_column(index, table.schema.field(index), versions)


def _pairs(table: pa.Table) -> pa.ChunkedArray:
    return pc.binary_join_element_wise(table.column("doc_id"), table.column("run_id"), "\x00")


def _documents_of(snapshot: Path, partition: str, dropped: set[str]) -> pa.Array:
    """(doc_id, run_id) of the documents rows left in one partition, joined as `_pairs` does."""
    tables = [
        pq.read_table(path, columns=["doc_id", "run_id"], partitioning=None)
        for path in sorted(snapshot.glob(f"documents/{partition}/*.parquet"))
        if path.relative_to(snapshot).as_posix() not in dropped
    ]
    if not tables:
        return pa.array([], pa.string())
    return pc.unique(_pairs(pa.concat_tables(tables)))
