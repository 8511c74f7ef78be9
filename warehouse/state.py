"""What a run reads of the lake: only the rows its own inputs need, found by DuckDB out of core.

Each function runs one query from `warehouse/queries/` over the committed Parquet files of the
lake's current snapshot and returns plain values; a table with no files yet gives an empty
answer. None of them reads a whole table into Python, so a run's cost and memory follow its
own size, not the lake's: DuckDB scans the key columns (doc ids, band keys, entity keys) and
reads the other columns of the matching rows only.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from warehouse.lake import Lake

QUERIES_DIR = Path(__file__).parent / "queries"


@contextmanager
def _connect(lake: Lake) -> Iterator[tuple[duckdb.DuckDBPyConnection, Path]]:
    """A DuckDB connection and the current snapshot's folder, pinned while it is open
    (`Lake.reading`: a commit meanwhile removes none of its files)."""
    with lake.reading() as snapshot, duckdb.connect() as con:
        yield con, snapshot or lake.root.parent.resolve() / lake.root.name


def _sql(folder: Path, name: str) -> str:
    return (QUERIES_DIR / f"{name}.sql").read_text(encoding="utf-8").replace("{{lake}}", str(folder).replace("'", "''"))


def _query(lake: Lake, table: str, name: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Rows of query `name` over `table` (the query's other tables must have files if it does)."""
    if not lake.files(table):
        return []
    with _connect(lake) as (con, folder):
        return con.execute(_sql(folder, name), params).fetchall()


def loaded_documents(lake: Lake, doc_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The latest row of each loaded document among `doc_ids`: doc_id, source_path,
    pipeline_version, model_version, duplicate_of. Ids the lake does not hold are left out."""
    if not doc_ids:
        return []
    columns = ("doc_id", "source_path", "pipeline_version", "model_version", "duplicate_of")
    return [dict(zip(columns, row)) for row in _query(lake, "documents", "loaded_documents", {"ids": list(doc_ids)})]


def signature_candidates(lake: Lake, bands: Sequence[int]) -> list[tuple[str, bytes]]:
    """(doc_id, signature) of the loaded originals sharing one of the LSH band keys `bands`, in
    load order."""
    if not bands:
        return []
    return [(doc_id, bytes(signature)) for doc_id, signature in _query(lake, "signatures", "signature_candidates", {"bands": list(bands)})]


def known_keys(lake: Lake, keys: Sequence[str], blocks: Sequence[str], *, parts: Sequence[Path] = ()) -> list[dict[str, Any]]:
    """The entity keys of the lake and of `parts` (a run's `entity_keys` parts, its earlier
    chunks) among `keys` and those sharing one of `blocks`: alias_key, entity_id, n_mentions,
    labels (label -> count, summed over chunks), acronym, short_forms."""
    committed = bool(lake.files("entity_keys"))
    if not keys or not (committed or parts):
        return []
    with _connect(lake) as (con, folder):
        sources = ([f"{folder}/entity_keys/*/*.parquet"] if committed else []) + [str(path) for path in parts]
        listed = "[" + ", ".join("'" + source.replace("'", "''") + "'" for source in sources) + "]"
        sql = _sql(folder, "known_keys").replace("{{entity_keys}}", listed)
        rows = con.execute(sql, {"keys": list(keys), "blocks": list(blocks)}).fetchall()
    out = []
    for alias_key, eid, n_mentions, label_lists, acronym, short_forms in rows:
        labels: dict[str, int] = {}
        for pairs in label_lists:
            for label, count in _items(pairs):
                labels[label] = labels.get(label, 0) + count
        out.append({"alias_key": alias_key, "entity_id": eid, "n_mentions": int(n_mentions), "labels": labels,
                    "acronym": bool(acronym), "short_forms": set(short_forms or ())})
    return out


def key_history(lake: Lake, *, batch: int = 50_000) -> Iterator[tuple[tuple[str, int], list[dict[str, Any]]]]:
    """Each chunk's rows of entity_keys, in the order they were resolved: ((run_id, chunk), rows
    with alias_key, n_mentions, labels, acronym, short_forms). Streamed: one chunk's rows in
    memory at a time."""
    if not lake.files("entity_keys"):
        return
    with _connect(lake) as (con, folder):
        cursor = con.execute(_sql(folder, "key_history"))
        step: tuple[str, int] = ("", -1)
        rows: list[dict[str, Any]] = []
        while fetched := cursor.fetchmany(batch):
            for rid, chunk, alias_key, n_mentions, labels, acronym, short_forms in fetched:
                if (rid, chunk) != step and rows:
                    yield step, rows
                    rows = []
                step = (rid, chunk)
                rows.append({"alias_key": alias_key, "n_mentions": int(n_mentions), "labels": dict(_items(labels)),
                             "acronym": bool(acronym), "short_forms": set(short_forms or ())})
        if rows:
            yield step, rows


def _items(pairs: Any) -> list[tuple[str, int]]:
    """A Parquet map as DuckDB returns it: a dict (key -> value) or a list of pairs."""
    if isinstance(pairs, dict):
        if set(pairs) == {"key", "value"} and isinstance(pairs["key"], list):
            return list(zip(pairs["key"], pairs["value"]))
        return list(pairs.items())
    return [(p["key"], p["value"]) if isinstance(p, dict) else tuple(p) for p in pairs or ()]


def recent_densities(lake: Lake, *, n: int) -> list[float]:
    """Entity densities of the last `n` completed runs that annotated something, newest first."""
    return [row[0] for row in _query(lake, "runs", "recent_densities", {"n": n})]


@dataclass
class ReportRows:
    """What the data-quality report shows: the latest runs (newest first), their `dq_results`
    rows, the first quarantine rows of each and its quarantine counts by reason, and how many
    runs the lake holds."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    quarantine_counts: list[dict[str, Any]] = field(default_factory=list)
    n_runs: int = 0


def report_rows(lake: Lake, *, n: int, files_per_run: int = 100) -> ReportRows:
    """The latest `n` runs and what the report shows of them (`ReportRows`), with at most
    `files_per_run` quarantine rows each."""
    out = ReportRows()
    if not lake.files("runs"):
        return out
    with _connect(lake) as (con, folder):

        def rows(name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
            cursor = con.execute(_sql(folder, name), params)
            return [dict(zip([d[0] for d in cursor.description], row)) for row in cursor.fetchall()]

        out.runs = rows("report_runs", {"n": n})
        out.n_runs = out.runs[0]["n_runs"] if out.runs else 0
        ids = [run["run_id"] for run in out.runs]
        if lake.files("dq_results"):
            out.results = rows("report_results", {"ids": ids})
        if lake.files("quarantine"):
            out.quarantined = rows("report_quarantine", {"ids": ids, "limit": files_per_run})
            out.quarantine_counts = rows("report_quarantine_counts", {"ids": ids})
    return out
