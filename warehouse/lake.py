"""The Parquet lake: one folder per table, partitioned by ingest date, published atomically.

Layout of a data dir:

    lake -> .snapshots/<snapshot_id>         a symbolic link, swapped in one rename per commit
    .snapshots/<snapshot_id>/
        <table>/YYYY-MM-DD/<run_id>[-<chunk>].parquet  each row with its ingest_date, a date column
        _lake.json                           schema version, run id, time, and each file's size and SHA-256
    .snapshots/.parts-<run_id>/<table>/<chunk>.parquet
                                             a run's parts, written chunk by chunk (`RunParts`)
    .lock                                    held (fcntl) by the run that loads the data dir

A commit builds a complete new snapshot under `.snapshots/.staging-*`: the files of the current
snapshot are hard-linked (no copy), the run's parts are moved in and its other rows written
beside them (zstd), small files of one partition are merged (compaction) and the manifest is
written last. The staging folder is
then renamed to its final name and the `lake` link is replaced by one `rename(2)`. A reader that
follows `lake/` (DuckDB, pyarrow, a BI tool) therefore sees either the lake before the commit or
after it, never a partial file or half a run, however many chunks the run wrote; a process
killed at any moment leaves the `lake` link on the old snapshot, and `recover()` removes what it
left behind. The replaced snapshot is removed by the commit unless a reader pinned it
(`Lake.reading`, as `newsetl sql` does): a query that listed its files can still open them after
the link moved on, even those a compaction merged away.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Final, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas import INGEST_DATE, SCHEMA_VERSION, TABLES, build_table, check_schema

MANIFEST = "_lake.json"
SNAPSHOTS = ".snapshots"
LOCK_FILE = ".lock"
#: A partition with at least this many files is merged into one file by the next commit.
COMPACT_MIN_FILES: int | None = 12


class LakeError(RuntimeError):
    """The data dir cannot be used as it is; the message says what to do."""


class LakeBusy(LakeError):
    """Another process holds the data dir's lock."""


class LakeDamaged(LakeError):
    """A file of the current snapshot is missing, or not the file that was committed."""


@dataclass(frozen=True, slots=True)
class Damage:
    """One file of the current snapshot that is not as committed: `path` relative to the
    snapshot, `problem` missing, changed or unknown (in the folder, not in any commit)."""

    path: str
    problem: Literal["missing", "changed", "unknown"]
    detail: str


class Lake:
    """The Parquet files of one data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / "lake"
        self.snapshots = self.data_dir / SNAPSHOTS

    # --- reading -------------------------------------------------------------------------------

    def table_dir(self, name: str) -> Path:
        if name not in TABLES:
            raise KeyError(f"unknown table {name!r}; tables are {sorted(TABLES)}")
        return self.root / name

    def files(self, name: str) -> list[Path]:
        """The committed Parquet files of a table, sorted by partition then name."""
        folder = self.table_dir(name)
        return sorted(folder.rglob("*.parquet")) if folder.is_dir() else []

    def file_counts(self) -> dict[str, int]:
        """Table name -> number of committed Parquet files, for every table that has a folder."""
        return {name: len(self.files(name)) for name in TABLES if self.table_dir(name).is_dir()}

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
            part = pq.read_table(path, columns=[f.name for f in wanted], schema=pa.schema(wanted), partitioning=None)
            for i, f in enumerate(schema):
                if f.name not in present:
                    part = part.add_column(i, f.with_nullable(True), pa.nulls(part.num_rows, f.type))
            parts.append(part)
        return pa.concat_tables(parts, promote_options="permissive") if parts else schema.empty_table()

    def manifest(self) -> dict[str, Any] | None:
        """The current snapshot's `_lake.json`, or None before the first commit."""
        path = self.root / MANIFEST
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def check_version(self) -> None:
        """Raise LakeError when the data dir was written by an incompatible newsetl.

        The tables of another version have other columns or tables (version 3 added the
        lineage columns to every table, version 4 the sentence_entities table), and a lake never
        mixes versions: the fix is to load the inputs again into a new data dir. The old data dir stays readable (`newsetl sql` on its views, or its Parquet).

        Raises:
            LakeError: `lake` is a plain folder (the layout before snapshots) or its schema
                version differs from this newsetl's; the message says to load into a new data dir.
        """
        fix = f"load the inputs into a new data dir (newsetl run INPUT ... --data-dir NEW_DIR); {self.data_dir} stays readable with newsetl sql"
        if self.root.exists() and not self.root.is_symlink():
            raise LakeError(f"{self.root} is a folder from an older newsetl (schema version 1, before snapshots; this newsetl writes {SCHEMA_VERSION}): {fix}")
        manifest = self.manifest()
        if manifest is not None and manifest.get("schema_version") != SCHEMA_VERSION:
            raise LakeError(f"{self.root} has schema version {manifest.get('schema_version')}, this newsetl writes {SCHEMA_VERSION}: {fix}")

    # --- concurrency and recovery -------------------------------------------------------------

    @contextmanager
    def lock(self, *, wait: bool = True, on_wait: Any = None) -> Iterator[None]:
        """Hold the data dir's exclusive lock (fcntl.flock on `.lock`); released on exit or death.

        With `wait`, block until the holder is done (calling `on_wait(holder)` once first);
        without, raise LakeBusy naming the holder.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
                if not wait:
                    raise LakeBusy(f"{self.data_dir} is being loaded by {holder}; try again when it has finished") from error
                if on_wait is not None:
                    on_wait(holder)
                fcntl.flock(fd, fcntl.LOCK_EX)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} since {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC\n".encode(), 0)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    @contextmanager
    def writing(self, *, on_wait: Any = None, check: bool = True) -> Iterator[list[Path]]:
        """Hold `lock()` for writing: check the lake's schema version, remove what an interrupted
        commit left (`recover`), check that every committed file is there with its size (`check`)
        and yield what was removed.

        Raises:
            LakeError: the lake has another schema version (see `check_version`).
            LakeDamaged: a committed file is missing or has another size; the message names it
                and the command that repairs the lake.
        """
        with self.lock(on_wait=on_wait):
            self.check_version()
            removed = self.recover()
            if check:
                self.check_intact()
            yield removed

    def check_intact(self) -> None:
        """Raise LakeDamaged when a committed file is missing or has another size (cheap: one
        stat per file; `newsetl verify` also compares checksums).

        Raises:
            LakeDamaged: the message names the first damaged file and the commands that list the
                damage and repair it.
        """
        damage = [d for d in self.damage() if d.problem != "unknown"]
        if damage:
            more = f" (and {len(damage) - 1} more)" if len(damage) > 1 else ""
            raise LakeDamaged(
                f"the lake is damaged: {damage[0].path} {damage[0].detail}{more}; nothing was changed. "
                f"List the damage with `newsetl verify --data-dir {self.data_dir}`, repair it with "
                f"`newsetl verify --repair --data-dir {self.data_dir}`"
            )

    def damage(self, *, checksums: bool = False) -> list[Damage]:
        """The files of the current snapshot that are not as its manifest records them: missing,
        of another size, with another SHA-256 (only with `checksums`, which reads every file), or
        unknown to it. Empty before the first commit, and for a manifest of an older newsetl,
        which recorded no files."""
        snapshot = self.current_snapshot()
        if snapshot is None:
            return []
        manifest = self.manifest()
        if manifest is None:
            return [Damage(MANIFEST, "missing", "is missing: the snapshot's list of files is gone")]
        recorded: dict[str, dict[str, Any]] = manifest.get("parquet_files") or {}
        if not recorded:
            return []
        present = {p.relative_to(snapshot).as_posix(): p for p in snapshot.rglob("*") if p.is_file() and p.name != MANIFEST}
        found = []
        for rel, entry in sorted(recorded.items()):
            path = present.get(rel)
            if path is None:
                found.append(Damage(rel, "missing", "is missing"))
            elif (size := path.stat().st_size) != entry["size"]:
                found.append(Damage(rel, "changed", f"is {size:,} bytes, {entry['size']:,} were committed"))
            elif checksums and _sha256(path) != entry["sha256"]:
                found.append(Damage(rel, "changed", "has other bytes than were committed (SHA-256 differs)"))
        found += [Damage(rel, "unknown", "is in no commit") for rel in sorted(set(present) - set(recorded))]
        return found

    def current_snapshot(self) -> Path | None:
        if not self.root.is_symlink():
            return None
        return self.data_dir / os.readlink(self.root)

    @contextmanager
    def reading(self) -> Iterator[Path | None]:
        """The current snapshot's folder (absolute; None before the first commit), pinned for the
        block: a reader that lists files through it finds every one of them until it is done,
        whatever commits run meanwhile. It holds a shared lock on the snapshot's manifest, and a
        commit removes a snapshot it replaced only when it can lock that manifest exclusively."""
        while True:
            snapshot = self.current_snapshot()
            if snapshot is None:
                yield None
                return
            snapshot = snapshot.resolve()
            try:
                fd = os.open(snapshot / MANIFEST, os.O_RDONLY)
            except FileNotFoundError:
                now = self.current_snapshot()
                if now is not None and now.resolve() == snapshot:
                    yield snapshot  # still current, its manifest lost (a damaged lake): unpinned
                    return
                continue  # replaced and removed since the link was read: read it again
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)
                if (snapshot / MANIFEST).exists():  # not removed while this waited for the lock
                    yield snapshot
                    return
            finally:
                os.close(fd)

    def recover(self) -> list[Path]:
        """Remove what interrupted commits left (staging folders, parts, temporary links) and the
        snapshots the `lake` link no longer points to that no reader holds (`reading`). Call it
        while holding `lock()`. Returns what was removed."""
        removed: list[Path] = []
        for path in sorted(self.data_dir.glob(".lake-*")):
            path.unlink()
            removed.append(path)
        if self.snapshots.is_dir():
            for path in sorted(self.snapshots.iterdir()):
                if path.name.startswith("."):
                    shutil.rmtree(path)
                    removed.append(path)
        return removed + self._remove_replaced()

    def _remove_replaced(self) -> list[Path]:
        """Remove every snapshot but the current one, except those a reader holds."""
        current = self.current_snapshot()
        removed = []
        for path in sorted(self.snapshots.iterdir()) if self.snapshots.is_dir() else []:
            if path.name.startswith(".") or (current is not None and path.name == current.name):
                continue
            try:
                fd = os.open(path / MANIFEST, os.O_RDONLY)
            except FileNotFoundError:  # not a complete snapshot: nobody reads it
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a reader is listing it; a later commit removes it
            else:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
            finally:
                os.close(fd)
        return removed

    # --- writing -------------------------------------------------------------------------------

    def write_rows(self, name: str, rows: Iterable[Mapping[str, Any]], *, stem: str) -> Path:
        """Commit one table's rows as `<name>/<today>/<stem>.parquet` (for fixtures
        and tools; the flow commits all its tables at once with `commit`)."""
        with self.lock():
            self.commit(stem, {name: rows})
        return self.root

    def commit(
        self,
        run_id: str,
        tables: Mapping[str, Iterable[Mapping[str, Any]] | pa.Table],
        *,
        parts: RunParts | None = None,
        part_tables: Collection[str] | None = None,
        rewrite: Mapping[str, Callable[[pa.Table], pa.Table]] | None = None,
        drop: Collection[str] = (),
        ingest_date: date | None = None,
        compact_min_files: int | None | Literal["default"] = "default",
    ) -> Path:
        """Publish `tables` (rows or Arrow tables, built with their schemas) and the run's `parts`
        (of `part_tables` only, when given; the others are dropped) as one new snapshot, in which
        every file of a table named in `rewrite`, or the file of a path relative to the snapshot
        named there, is rewritten through its function (same path), and the files of the paths in
        `drop` are left out.

        Each table's rows go to `<table>/<ingest_date>/<run_id>.parquet` (replacing a file of that
        name), with the column `ingest_date` (default: today, UTC); each part to
        `<table>/<the parts' day>/<run_id>-<chunk>.parquet`. No rows write no
        file, unless the table has none yet (so that its view can exist). Partitions that reach
        `compact_min_files` files are merged (None: never; default: the module's
        COMPACT_MIN_FILES, read at call time). Call it while holding `lock()`.
        Returns the new snapshot folder.

        Raises:
            SchemaMismatch: rows do not fit their table's schema (nothing is written).
        """
        self.check_version()
        built = {name: t if isinstance(t, pa.Table) else build_table(t, TABLES[name]) for name, t in tables.items()}
        for name, table in built.items():
            check_schema(table, TABLES[name], name=name)
        day = ingest_date or datetime.now(timezone.utc).date()
        parts_day = parts.day if parts is not None else day
        snapshot_id = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        self.snapshots.mkdir(parents=True, exist_ok=True)
        staging = self.snapshots / f".staging-{snapshot_id}"
        staging.mkdir()
        try:
            current = self.current_snapshot()
            written: list[Path] = []
            if current is not None:
                for path in sorted(current.rglob("*.parquet")):
                    rel = path.relative_to(current)
                    if rel.as_posix() in drop:
                        continue
                    (staging / rel.parent).mkdir(parents=True, exist_ok=True)
                    change = (rewrite or {}).get(rel.as_posix()) or (rewrite or {}).get(rel.parts[0])
                    if change is not None:
                        name = rel.parts[0]
                        new = change(pq.read_table(path, schema=TABLES[name], partitioning=None))
                        check_schema(new, TABLES[name], name=name)
                        _write_parquet(new, staging / rel, day=date.fromisoformat(rel.parts[1]))
                        written.append(staging / rel)
                    else:
                        os.link(path, staging / rel)
            for name, path in parts.files() if parts is not None else []:
                if part_tables is None or name in part_tables:
                    target = staging / name / parts_day.isoformat() / f"{run_id}-{path.stem}.parquet"
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.rename(path, target)
                    written.append(target)
            for name, table in built.items():
                if table.num_rows == 0 and (staging / name).is_dir() and any((staging / name).rglob("*.parquet")):
                    continue  # an empty file only makes a table exist; runs with nothing new add no files
                target = staging / name / day.isoformat() / f"{run_id}.parquet"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.unlink(missing_ok=True)  # a hard link to the old snapshot's file: never write into it
                _write_parquet(table, target, day=day)
                written.append(target)
            if compact_min_files == "default":
                compact_min_files = COMPACT_MIN_FILES
            if compact_min_files is not None:
                written += _compact(staging, run_id=run_id, min_files=compact_min_files)
            manifest = {
                "schema_version": SCHEMA_VERSION,
                "run_id": run_id,
                "committed_at": datetime.now(timezone.utc).isoformat(),
                "parquet_files": _file_entries(staging, previous=(self.manifest() or {}).get("parquet_files") or {}, written=written),
            }
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            _fsync_new(staging, [*written, staging / MANIFEST])
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)  # what was written so far: a full disk gets it back
            raise
        final = self.snapshots / snapshot_id
        os.rename(staging, final)
        _fsync_dir(self.snapshots)
        link = self.data_dir / f".lake-{snapshot_id}"
        os.symlink(os.path.join(SNAPSHOTS, snapshot_id), link)
        os.replace(link, self.root)  # the commit point
        _fsync_dir(self.data_dir)
        self._remove_replaced()
        if parts is not None:
            parts.remove()
        return final

    def compact(self, run_id: str, *, min_files: int = 2) -> Path | None:
        """Merge every partition of at least `min_files` files into one file
        (`compacted-<run_id>.parquet`), as a commit of its own: readers see the lake before or
        after, with the same rows. Call it while holding `lock()`. Returns the new snapshot; None,
        with nothing written, when the lake is empty or no partition has that many files.

        Raises:
            LakeError: the lake has another schema version (see `check_version`).
        """
        current = self.current_snapshot()
        if current is None:
            return None
        self.check_version()
        if not _partitions_to_compact(current, min_files=min_files):
            return None
        return self.commit(run_id, {}, compact_min_files=min_files)


def _file_entries(staging: Path, *, previous: Mapping[str, dict[str, Any]], written: Collection[Path]) -> dict[str, dict[str, Any]]:
    """Relative path -> size and SHA-256 of every Parquet file of a new snapshot: hashed when the
    commit wrote it (or the previous manifest did not record it), else carried over, so a
    commit reads what it wrote, not the lake."""
    fresh = {path.relative_to(staging).as_posix() for path in written}
    entries = {}
    for path in sorted(staging.rglob("*.parquet")):
        rel = path.relative_to(staging).as_posix()
        entry = previous.get(rel)
        if rel in fresh or entry is None:
            entry = {"size": path.stat().st_size, "sha256": _sha256(path)}
        entries[rel] = entry
    return entries


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _write_parquet(table: pa.Table, target: Path, *, day: date) -> None:
    """Write a table's rows (its schema's columns) with `ingest_date` = `day` added."""
    table = table.append_column(INGEST_DATE, pa.array([day] * table.num_rows, pa.date32()))
    metadata = {**(table.schema.metadata or {}), b"newsetl.schema_version": SCHEMA_VERSION.encode()}
    pq.write_table(table.replace_schema_metadata(metadata), target, compression="zstd")


def _partitions_to_compact(snapshot: Path, *, min_files: int) -> list[Path]:
    """The partition folders of appended tables holding at least `min_files` (and 2) files."""
    return [
        partition
        for table_dir in sorted(p for p in snapshot.iterdir() if p.is_dir() and p.name in TABLES)
        for partition in sorted(p for p in table_dir.iterdir() if p.is_dir())
        if len(list(partition.glob("*.parquet"))) >= max(min_files, 2)
    ]


def _compact(staging: Path, *, run_id: str, min_files: int) -> list[Path]:
    """Merge the files of each partition folder holding at least `min_files` of them; return
    the merged files."""
    merged_files = []
    for partition in _partitions_to_compact(staging, min_files=min_files):
        schema = TABLES[partition.parent.name]
        files = sorted(partition.glob("*.parquet"))
        merged = pa.concat_tables([pq.read_table(f, schema=schema, partitioning=None) for f in files])
        _write_parquet(merged, partition / f"compacted-{run_id}.tmp", day=date.fromisoformat(partition.name))
        for f in files:
            f.unlink()
        os.rename(partition / f"compacted-{run_id}.tmp", partition / f"compacted-{run_id}.parquet")
        merged_files.append(partition / f"compacted-{run_id}.parquet")
    return merged_files


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_new(root: Path, files: Iterable[Path]) -> None:
    """fsync the files a commit wrote into `root` (the hard-linked ones are on disk already)
    and every folder, so the rename publishes data on disk."""
    for path in files:
        if path.exists():  # a compacted partition's inputs are gone
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    for folder, _dirs, _names in os.walk(root):
        _fsync_dir(Path(folder))


class RunParts:
    """A run's rows, written chunk by chunk as Parquet parts beside the lake, so that a run
    holds one chunk in memory whatever its size; `Lake.commit` moves them into the new snapshot
    at once. The folder (`.snapshots/.parts-<run_id>`) is outside every snapshot: readers never
    see a part before the commit, and `Lake.recover` removes the parts of a run that died."""

    def __init__(self, lake: Lake, run_id: str, *, day: date) -> None:
        self.root = lake.snapshots / f".parts-{run_id}"
        self.day = day  # the rows' ingest_date, and the partition the commit moves them to

    def write(self, name: str, rows: Iterable[Mapping[str, Any]] | pa.Table) -> Path | None:
        """Write rows of table `name` (built with its schema) as its next part; no rows write
        nothing.

        Raises:
            SchemaMismatch: the rows do not fit the table's schema.
        """
        table = rows if isinstance(rows, pa.Table) else build_table(rows, TABLES[name])
        check_schema(table, TABLES[name], name=name)
        if table.num_rows == 0:
            return None
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{len(list(folder.glob('*.parquet'))):05d}.parquet"
        _write_parquet(table, target, day=self.day)
        return target

    def files(self) -> list[tuple[str, Path]]:
        """(table, part) of every part written, in table then chunk order."""
        if not self.root.is_dir():
            return []
        return [(folder.name, path) for folder in sorted(self.root.iterdir()) for path in sorted(folder.glob("*.parquet"))]

    def paths(self, name: str) -> list[Path]:
        """The parts of table `name`, in chunk order."""
        return [path for table, path in self.files() if table == name]

    def count_distinct(self, name: str, column: str) -> int:
        """Distinct non-null values of `column` in the parts of table `name`."""
        values = [pq.read_table(path, columns=[column]).column(column) for path in self.paths(name)]
        return pc.count_distinct(pa.chunked_array(values, TABLES[name].field(column).type)).as_py() if values else 0

    def num_rows(self, name: str) -> int:
        """Rows in the parts of table `name` (from the files' footers)."""
        return sum(pq.ParquetFile(path).metadata.num_rows for path in self.paths(name))

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def remap(table: pa.Table, column: str, mapping: Mapping[str, str | None], *, key: str, keep: bool = True) -> pa.Table:
    """`table` with string column `column` set to `mapping[row[key]]`; where the mapping does not
    name the row's key, the old value stays (`keep`) or becomes null."""
    keys = pa.array(list(mapping), pa.string())
    values = pa.array(list(mapping.values()), pa.string())
    index = pc.index_in(table.column(key), value_set=keys)
    fallback = table.column(column) if keep else pa.nulls(table.num_rows, pa.string())
    new = pc.if_else(pc.is_null(index), fallback, pc.take(values, index))
    return table.set_column(table.schema.get_field_index(column), table.schema.field(column), new)
