"""The DuckDB database over the lake: views from `warehouse/views/*.sql`, read-only queries.

The database holds only views; the data stays in Parquet. The views read `lake/` (the link to the
current snapshot), so they never change between runs; the load step rebuilds the database in a
temporary file and renames it over `warehouse.duckdb`, so no process ever holds a read-write
connection to the live file and `newsetl sql` (read-only) works while a run is loading.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from schemas import TABLES
from warehouse.lake import Lake

VIEWS_DIR = Path(__file__).parent / "views"
DATABASE_FILE = "warehouse.duckdb"


class WarehouseMissing(FileNotFoundError):
    """The data dir has no warehouse yet."""


def view_files() -> dict[str, Path]:
    """View name -> its .sql file: the tables' views first, then the views built on them."""
    files = {path.stem: path for path in sorted(VIEWS_DIR.glob("*.sql"))}
    return {name: files[name] for name in sorted(files, key=lambda n: (n not in TABLES, n))}


def view_sql(name: str, lake_root: Path) -> str:
    """The CREATE VIEW statement of one view, for a lake at `lake_root` (the link itself is kept,
    not resolved, so the views follow each new snapshot)."""
    literal = str(lake_root.parent.resolve() / lake_root.name).replace("'", "''")
    return view_files()[name].read_text(encoding="utf-8").replace("{{lake}}", literal)


def database_path(data_dir: Path) -> Path:
    return Path(data_dir) / DATABASE_FILE


def refresh_views(lake: Lake) -> list[str]:
    """Build the view of every table that has Parquet files, then every view built on views
    (entities, entity co-occurrence, ...) whose views exist, in a new database file renamed over
    `warehouse.duckdb`; return the views' names."""
    created = []
    target = database_path(lake.data_dir)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with duckdb.connect(str(tmp)) as con:
            for name in view_files():
                if name in TABLES and lake.files(name):
                    con.execute(view_sql(name, lake.root))
                    created.append(name)
            waiting = [name for name in view_files() if name not in TABLES]
            while waiting:  # views on views, in as many passes as they nest
                left = []
                for name in waiting:
                    try:
                        con.execute(view_sql(name, lake.root))
                    except duckdb.CatalogException:
                        left.append(name)  # a view over one that does not exist (yet)
                        continue
                    created.append(name)
                if len(left) == len(waiting):
                    break
                waiting = left
            con.execute("checkpoint")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
    return created


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]


def query(data_dir: Path, sql: str) -> QueryResult:
    """Run `sql` on a read-only connection to the data dir's warehouse.

    Raises:
        WarehouseMissing: there is no warehouse.duckdb in `data_dir` (no run has loaded it).
        duckdb.Error: the query is wrong; the message is DuckDB's.
    """
    path = database_path(data_dir)
    if not path.exists():
        raise WarehouseMissing(f"no warehouse at {path}: run `newsetl run --data-dir {data_dir}` first")
    for attempt in range(_OPEN_ATTEMPTS):
        try:
            con = duckdb.connect(str(path), read_only=True)
            break
        except duckdb.IOException as error:  # a tool holding a read-write connection: wait briefly
            if "lock" not in str(error).lower() or attempt == _OPEN_ATTEMPTS - 1:
                raise
            time.sleep(0.1 * (attempt + 1))
    with con:
        cursor = con.execute(sql)
        columns = [d[0] for d in cursor.description] if cursor.description else []
        return QueryResult(columns=columns, rows=cursor.fetchall())


_OPEN_ATTEMPTS = 20
