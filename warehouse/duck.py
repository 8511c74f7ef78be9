"""The DuckDB database over the lake: views from `warehouse/views/*.sql`, read-only queries.

The database holds only views; the data stays in Parquet. The views read `lake/` (the link to the
current snapshot), so they never change between runs; the load step rebuilds the database in a
temporary file and renames it over `warehouse.duckdb`, so no process ever holds a read-write
connection to the live file and `newsetl sql` (read-only) works while a run is loading.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import duckdb

from schemas import TABLES
from warehouse.lake import Lake

T = TypeVar("T")

VIEWS_DIR = Path(__file__).parent / "views"
#: The oldest DuckDB whose command-line shell or drivers (a BI tool's) can open the database: the
#: duckdb-cli package on the registry is 1.5, and a file in DuckDB 2's own format is unreadable there.
STORAGE_COMPATIBILITY = "v1.5.0"
DATABASE_FILE = "warehouse.duckdb"


class WarehouseMissing(FileNotFoundError):
    """The data dir has no warehouse yet."""


def view_files() -> dict[str, Path]:
    """View name -> its .sql file: the tables' views first, then the views built on them."""
    files = {path.stem: path for path in sorted(VIEWS_DIR.glob("*.sql"))}
    return {name: files[name] for name in sorted(files, key=lambda n: (n not in TABLES, n))}


#: The DuckDB variable that points the views at one snapshot's folder (`newsetl sql` sets it to the
#: snapshot it pinned); without it, the views read the `lake` link. The view files name it.
SNAPSHOT_VARIABLE = "newsetl_snapshot"


def view_sql(name: str, lake_root: Path) -> str:
    """The CREATE VIEW statement of one view, for a lake at `lake_root` (the link itself is kept,
    not resolved, so the views of a tool's connection follow each new snapshot)."""
    return view_files()[name].read_text(encoding="utf-8").replace("{{lake}}", _lake_path(lake_root).replace("'", "''"))


def _lake_path(lake_root: Path) -> str:
    return str(lake_root.parent.resolve() / lake_root.name)


def database_path(data_dir: Path) -> Path:
    return Path(data_dir) / DATABASE_FILE


def refresh_views(lake: Lake) -> list[str]:
    """Build the view of every table that has Parquet files, then every view built on views
    (entities, entity co-occurrence, ...) whose views exist, in a new database file renamed over
    `warehouse.duckdb`; return the views' names.

    A database whose views were built from the same view files over the same tables is kept as
    it is (the views read the `lake` link, so they follow every snapshot): creating a view reads
    the footer of each Parquet file it covers, a cost that would grow with the lake on every run.
    """
    tables = [name for name in TABLES if lake.files(name)]
    target = database_path(lake.data_dir)
    fingerprint = _fingerprint(tables, lake.root)
    kept = _views_built_from(target, fingerprint)
    if kept is not None:
        return kept
    created = []
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with duckdb.connect(str(tmp), config={"storage_compatibility_version": STORAGE_COMPATIBILITY}) as con:
            for name in view_files():
                if name in tables:
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
            for name in created:
                con.execute(f"comment on view {name} is '{fingerprint}'")
            con.execute("checkpoint")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
    return created


def _fingerprint(tables: list[str], lake_root: Path) -> str:
    """What the views are built from: the view files over this lake, the tables that have files
    and their schemas, and DuckDB's version."""
    digest = hashlib.sha256(f"{duckdb.__version__} {STORAGE_COMPATIBILITY}".encode())
    for name in view_files():
        digest.update(view_sql(name, lake_root).encode())
    for name in tables:
        digest.update(f"{name}:{TABLES[name]}".encode())
    return f"newsetl views {digest.hexdigest()[:16]}"


def _views_built_from(path: Path, fingerprint: str) -> list[str] | None:
    """The views of the database at `path` when all of them carry `fingerprint`; else None."""
    if not path.exists():
        return None
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            rows = con.execute("select view_name, comment from duckdb_views() where not internal").fetchall()
    except duckdb.Error:  # held by a tool, or not a database: build a new one
        return None
    if not rows or any(comment != fingerprint for _, comment in rows):
        return None
    names = {name for name, _ in rows}
    return [name for name in view_files() if name in names]


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]


class QueryRefused(ValueError):
    """The query is not one select, or reaches outside the data dir: one line saying what is not
    allowed."""


class Selection:
    """The result of one select, read `batches` of rows at a time so that any number of rows
    passes through bounded memory. Each call into DuckDB can be interrupted (Ctrl-C)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, cursor: duckdb.DuckDBPyConnection, root: Path) -> None:
        self._con, self._cursor, self._root = con, cursor, root
        self.columns: list[str] = [d[0] for d in cursor.description] if cursor.description else []

    def batches(self, size: int = 10_000) -> Iterator[list[tuple[Any, ...]]]:
        while rows := _interruptible(self._con, lambda: self._cursor.fetchmany(size), self._root):
            yield rows


@contextmanager
def select(data_dir: Path, sql: str) -> Iterator[Selection]:
    """Run one select on a read-only connection to the data dir's warehouse that reads no file
    outside the data dir, installs and loads no extension and cannot be reconfigured.

    Raises:
        WarehouseMissing: there is no warehouse.duckdb in `data_dir` (no run has loaded it).
        QueryRefused: `sql` is not one select (or with ... select), or reads outside the data dir.
        duckdb.Error: the query is wrong; the message is DuckDB's.
        KeyboardInterrupt: the query was interrupted; DuckDB stopped it.
    """
    check_select(sql)
    path = database_path(data_dir)
    if not path.exists():
        raise WarehouseMissing(f"no warehouse at {path}: run `newsetl run --data-dir {data_dir}` first")
    root = Path(data_dir).resolve()
    lake = Lake(root)
    con = _read_only(path, root)
    if _moved(con, lake):
        con.close()
        refresh_views(lake)  # the views name the lake by its absolute path: point them at where it is now
        con = _read_only(path, root)
    with con, lake.reading() as snapshot:  # files the query lists stay there until it is done
        if snapshot is not None:
            con.execute(f"set variable {SNAPSHOT_VARIABLE} = $folder", {"folder": str(snapshot)})
        con.execute("set lock_configuration = true")
        cursor = _interruptible(con, lambda: con.execute(sql), root)
        yield Selection(con, cursor, root)


def query(data_dir: Path, sql: str) -> QueryResult:
    """`select`'s result with all its rows."""
    with select(data_dir, sql) as result:
        return QueryResult(columns=result.columns, rows=[row for rows in result.batches() for row in rows])


def check_select(sql: str) -> None:
    """Refuse anything but one select statement (DuckDB's parser says which kind each is)."""
    statements = duckdb.extract_statements(sql)
    if len(statements) != 1:
        raise QueryRefused(f"not allowed: {len(statements) or 'no'} statements; newsetl sql runs one select at a time")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise QueryRefused(
            f"not allowed: a {kind.name.lower()} statement; newsetl sql runs only select queries "
            "(the lake changes only through newsetl run, compact, resolve and verify --repair)"
        )


def _moved(con: duckdb.DuckDBPyConnection, lake: Lake) -> bool:
    """Whether the views of the database `con` is connected to read a lake at another path (the
    data dir was moved or copied since they were built)."""
    (n_views, n_here), = con.execute(
        "select count(*), count(*) filter (where contains(sql, $here)) from duckdb_views() where not internal and contains(sql, 'read_parquet')",
        {"here": "'" + _lake_path(lake.root).replace("'", "''") + "'"},  # the link's path, as the view files quote it
    ).fetchall()
    return bool(n_views > 0 and n_here == 0)


def _read_only(path: Path, root: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection whose queries may read files under `root` only (the views read the
    lake there), with extensions neither installed nor loaded on demand (the caller locks its
    settings)."""
    config: dict[str, Any] = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    for attempt in range(_OPEN_ATTEMPTS):
        try:
            con = duckdb.connect(str(path), read_only=True, config=config)
            break
        except duckdb.IOException as error:  # a tool holding a read-write connection: wait briefly
            if "lock" not in str(error).lower() or attempt == _OPEN_ATTEMPTS - 1:
                raise
            time.sleep(0.1 * (attempt + 1))
    con.execute("set allowed_directories = $dirs", {"dirs": [str(root) + os.sep]})
    con.execute("set enable_external_access = false")
    return con


def _interruptible(con: duckdb.DuckDBPyConnection, call: Callable[[], T], root: Path) -> T:
    """`call()` (a DuckDB call) in a thread, so that Ctrl-C in this one interrupts it: DuckDB
    does not look at Python's signals while it runs a query."""
    done = threading.Event()
    outcome: list[Any] = []

    def work() -> None:
        try:
            outcome.append(call())
        except BaseException as error:  # handed to the caller's thread
            outcome.append(error)
        finally:
            done.set()

    threading.Thread(target=work, name="duckdb-query", daemon=True).start()
    try:
        while not done.wait(0.1):
            pass
    except KeyboardInterrupt:
        con.interrupt()
        done.wait(5)
        raise
    result = outcome[0]
    if isinstance(result, duckdb.PermissionException):
        what = str(result).removeprefix("Permission Error: ").split(" - ")[0].split("\n")[0]
        raise QueryRefused(f"not allowed: {what}; newsetl sql reads only files under the data dir {root}") from None
    if isinstance(result, BaseException):
        raise result
    return cast(T, result)


_OPEN_ATTEMPTS = 20
