"""The DuckDB database over the lake: views from `warehouse/views/*.sql`, read-only queries.

The database holds only views; the data stays in Parquet. Views are (re)created by the load step
after it writes, with the lake's absolute path filled into each view's `{{lake}}` placeholder.
"""

from __future__ import annotations

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
    """View name -> its .sql file."""
    return {path.stem: path for path in sorted(VIEWS_DIR.glob("*.sql"))}


def view_sql(name: str, lake_root: Path) -> str:
    """The CREATE VIEW statement of one view, for a lake at `lake_root`."""
    literal = str(lake_root.resolve()).replace("'", "''")
    return view_files()[name].read_text(encoding="utf-8").replace("{{lake}}", literal)


def database_path(data_dir: Path) -> Path:
    return Path(data_dir) / DATABASE_FILE


def refresh_views(lake: Lake) -> list[str]:
    """Create or replace the view of every table that has Parquet files, then the views built
    on those views (e.g. entity co-occurrence) whose tables all exist; return their names."""
    created = []
    with duckdb.connect(str(database_path(lake.data_dir))) as con:
        for name in view_files():
            if name in TABLES and lake.files(name):
                con.execute(view_sql(name, lake.root))
                created.append(name)
        for name in view_files():
            if name not in TABLES:
                try:
                    con.execute(view_sql(name, lake.root))
                except duckdb.CatalogException:  # a table it reads has no rows yet (no completed run)
                    continue
                created.append(name)
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
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(sql)
        columns = [d[0] for d in cursor.description] if cursor.description else []
        return QueryResult(columns=columns, rows=cursor.fetchall())
