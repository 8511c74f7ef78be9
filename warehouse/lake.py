"""The Parquet lake: one folder per table under `<data-dir>/lake/`, files written atomically.

Each run writes one file per table, `<table>/<run_id>.parquet`; `entities` and
`entity_aliases` are single files replaced at every run. A file is written under a temporary name and renamed into place, so a
reader never sees a partial file.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from schemas import SCHEMA_VERSION, TABLES, build_table, check_schema

ENTITIES_FILE = "entities.parquet"
#: Tables recomputed whole at every run: one file each, `<table>/<table>.parquet`, replaced.
REPLACED_TABLES = ("entities", "entity_aliases")


class Lake:
    """The Parquet files of one data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / "lake"

    def table_dir(self, name: str) -> Path:
        if name not in TABLES:
            raise KeyError(f"unknown table {name!r}; tables are {sorted(TABLES)}")
        return self.root / name

    def files(self, name: str) -> list[Path]:
        """The Parquet files of a table, sorted by name (run ids sort by time)."""
        folder = self.table_dir(name)
        return sorted(folder.glob("*.parquet")) if folder.is_dir() else []

    def write_rows(self, name: str, rows: Iterable[Mapping[str, Any]], *, stem: str) -> Path:
        """Build `rows` with the table's schema and write them as `<name>/<stem>.parquet`."""
        return self.write_table(name, build_table(rows, TABLES[name]), stem=stem)

    def write_table(self, name: str, table: pa.Table, *, stem: str) -> Path:
        """Write a table atomically (temporary file, fsync, rename); replaces a same-named file."""
        check_schema(table, TABLES[name], name=name)
        folder = self.table_dir(name)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{stem}.parquet"
        tmp = folder / f".{stem}.{uuid.uuid4().hex}.tmp"
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"newsetl.schema_version": SCHEMA_VERSION.encode()})
        try:
            pq.write_table(table, tmp, compression="zstd")
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    def read(self, name: str, *, columns: list[str] | None = None) -> pa.Table:
        """All rows of a table (an empty table with the schema when there are no files).

        A column added to the schema after a file was written (e.g. `mentions.entity_key`)
        reads as nulls from that file."""
        schema = TABLES[name]
        if columns is not None:
            schema = pa.schema([schema.field(c) for c in columns])
        parts = []
        for path in self.files(name):
            present = set(pq.read_schema(path).names)
            wanted = [f for f in schema if f.name in present]
            part = pq.read_table(path, columns=[f.name for f in wanted], schema=pa.schema(wanted))
            for i, f in enumerate(schema):
                if f.name not in present:
                    part = part.add_column(i, f.with_nullable(True), pa.nulls(part.num_rows, f.type))
            parts.append(part)
        return pa.concat_tables(parts, promote_options="permissive") if parts else schema.empty_table()

    def loaded_documents(self) -> dict[str, str]:
        """doc_id -> source_path of every loaded document."""
        table = self.read("documents", columns=["doc_id", "source_path"])
        return dict(zip(table.column("doc_id").to_pylist(), table.column("source_path").to_pylist()))
