"""The newsetl Prefect flow: extract -> clean -> annotate -> load, with a quality gate after each.

Tasks are thin wrappers over plain functions in `transforms`, `warehouse` and `flows.sources`,
and take batches of documents (never one task per document or line). Retries are only on the
tasks that write.
"""

from __future__ import annotations

import errno
import ipaddress
import math
import sys
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlsplit

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture, as_completed
from prefect.states import Failed
from prefect.task_runners import ProcessPoolTaskRunner
from prefect.utilities.annotations import quote

from flows import quality
from flows.aliases import load_alias_rules
from flows.nlp import model_version
from flows.progress import StageProgress
from flows.settings import Settings
from flows.sources import discover
from flows.tasks import Opaque, annotate_batch, clean_batch, extract_batch
from schemas import TABLES, RunStatus, Stage
from transforms.checks import annotated_frame, documents_frame, extracted_frame, mentions_frame, quotes_frame, run_frame, sentences_frame
from transforms.dedup import LoadedDoc, band_keys, lookup_ids, mark_near_duplicates, plan_run
from transforms.furniture import learn_furniture
from transforms.records import AnnotatedDoc, CleanDoc, Lineage, RawDoc, Rejection, attach_annotations
from transforms.resolve import AliasRules, KeyStats, key_stats, replay_runs, resolution_blocks, resolve_run
from transforms.rows import (
    document_row,
    entity_key_rows,
    mention_rows,
    quarantine_row,
    quote_rows,
    removed_line_rows,
    sentence_rows,
    signature_row,
    with_entities,
    with_lineage,
)
from transforms.tally import D, RunTally, set_aside

if TYPE_CHECKING:
    import pyarrow as pa

    from warehouse.lake import Lake, RunParts

T = TypeVar("T")
#: What a stage task returns: its documents, its rejections, then anything else.
R = TypeVar("R", bound=tuple[Any, ...])
Row = dict[str, Any]
PIPELINE_VERSION = version("newsetl")
#: Most and fewest documents in one task when no batch size is set (see `shards`).
MAX_SHARD_DOCS = 512
MIN_SHARD_DOCS = 16
#: Documents per spaCy batch (nlp.pipe) when no batch size is set.
SPACY_BATCH = 64
#: Runs whose entity density a new run is compared with.
RECENT_RUNS = 10
#: A run's entity density is compared with recent runs only when it annotated at least this many documents.
MIN_DOCS_FOR_DENSITY = 20


@dataclass
class RunSummary:
    """What a run did; the CLI prints it and the `runs` table stores it."""

    run_id: str
    data_dir: str
    status: str = RunStatus.RUNNING.value
    n_input: int = 0
    n_loaded: int = 0
    n_skipped: int = 0
    n_quarantined: int = 0
    n_duplicates: int = 0
    n_mentions: int = 0
    n_entities: int = 0
    entity_density: float | None = None
    seconds: dict[str, float] = field(default_factory=lambda: {s: 0.0 for s in ("extract", "clean", "annotate", "quality", "load")})
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def _lake(data_dir: str | Path) -> Lake:
    """The lake in `data_dir`. The warehouse modules (pyarrow datasets, pandas, DuckDB: about
    0.6 s to import) are imported at first use: worker processes import this module too (each
    task's context names the flow), and need none of them."""
    from warehouse.lake import Lake

    return Lake(Path(data_dir))


def new_run_id(now: datetime) -> str:
    """A sortable run id: UTC start time and a random suffix."""
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def _quoted(value: T) -> T:
    """`value`, marked so that Prefect passes it to a task without walking it: Prefect otherwise
    visits every element of a task's arguments (looking for futures), which cost more than the
    quality checks themselves on a few thousand rows. Only for tasks called in the flow's
    process: prefect-dask ships a quoted value to its workers still wrapped."""
    return cast(T, quote(value))


def _gather(
    submit: Callable[[list[T]], PrefectFuture[R]],
    batches: Sequence[list[T]],
    progress: StageProgress,
    *,
    ahead: int,
    keep: Callable[[R], Any] = lambda result: result,
) -> list[Any]:
    """Run `submit` on each batch, with at most `ahead` tasks submitted and not yet finished,
    and return what `keep` makes of each result, in the order of `batches` (so tables do not
    depend on the task runner), advancing `progress` as each finishes, in any order.

    Submitting a task serializes its arguments in the flow's process until a worker takes it,
    and a finished future holds its result: a window of tasks, rather than all of them at once,
    keeps memory to a few batches whatever the size of the run."""
    queue = deque(enumerate(batches))
    running: dict[Any, tuple[int, PrefectFuture[R]]] = {}
    results: dict[int, Any] = {}
    while queue or running:
        while queue and len(running) < max(ahead, 1):
            index, batch = queue.popleft()
            future = submit(batch)
            running[future.task_run_id] = (index, future)
        finished = next(as_completed([future for _, future in running.values()]))
        index, _ = running.pop(finished.task_run_id)
        result = finished.result()
        results[index] = keep(result)
        progress.advance(_handled(result))
    return [results[i] for i in range(len(batches))]


def _handled(result: tuple[Any, ...]) -> int:
    """How many documents a stage task handled: every stage task returns (documents,
    rejections, ...), and both count."""
    return len(result[0]) + len(result[1])


def _extracts_here() -> bool:
    """Whether this flow run extracts in its own process rather than on the task runner's
    workers: under a local process pool, and under a Dask cluster whose scheduler is on this
    machine (`on_this_machine`: the cluster `newsetl run --dask` starts, or one given as
    `--dask-address tcp://127.0.0.1:PORT`), whose workers read the same disk. Reading and
    decoding costs less there than each task's Prefect start-up on a worker and the documents
    pickled back to the flow, which sends them out again to the clean stage either way
    (`benchmarks/RESULTS.md`). The workers of a cluster reached over the network
    extract: on several machines, they share the reading."""
    runner = _task_runner()
    if isinstance(runner, ProcessPoolTaskRunner):
        return True
    dask = sys.modules.get("prefect_dask.task_runners")  # imported by whoever made a Dask runner
    return dask is not None and isinstance(runner, dask.DaskTaskRunner) and on_this_machine(runner.address)


def on_this_machine(address: str | None) -> bool:
    """Whether a Dask scheduler address is on this machine: loopback (127.0.0.0/8, ::1,
    localhost) or in-process (`inproc://`). Any other address may be another machine's."""
    if not address:
        return False
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme == "inproc":
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _task_runner() -> Any:
    """The task runner of the flow run this code runs in; None outside a flow run."""
    context = FlowRunContext.get()
    return context.task_runner if context is not None else None


def _run_here(run: Callable[[list[T]], R], batches: Sequence[list[T]], progress: StageProgress) -> list[R]:
    """Run the task `run` on each batch in turn in the flow's process (a task called, not
    submitted), advancing `progress` as `_gather` does."""
    results = []
    for batch in batches:
        result = run(batch)
        progress.advance(_handled(result))
        results.append(result)
    return results


def even_shards(items: Sequence[T], *, size: int | None, workers: int) -> list[list[T]]:
    """`items` in order, in tasks of `size`; with no size, in shards of about equal size, as many
    as a multiple of `workers` (at least two each) that keeps them to MAX_SHARD_DOCS, and no
    smaller than MIN_SHARD_DOCS. For stages whose documents all take about the same time
    (extract, clean): fewer tasks than `shards` (each costs the flow's process its submission:
    Prefect serializes its settings for every task), and every worker gets as many."""
    if size is None:
        n = workers * max(2, math.ceil(len(items) / (workers * MAX_SHARD_DOCS)))
        size = max(MIN_SHARD_DOCS, math.ceil(len(items) / n))
    return list(batched(items, size))


def batched(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def shards(items: Sequence[T], *, size: int | None, workers: int) -> list[list[T]]:
    """`items` in order, in tasks of `size`; with no size, in shrinking shards (guided
    scheduling): each takes 1/(2 * workers) of what is left, at most MAX_SHARD_DOCS and at least
    MIN_SHARD_DOCS. Few tasks (a task costs Prefect a fraction of a second in API calls), and
    small ones at the end, so that no worker is left alone with a large last shard."""
    if size is not None:
        return list(batched(items, size))
    out: list[list[T]] = []
    start = 0
    while start < len(items):
        step = min(MAX_SHARD_DOCS, max(MIN_SHARD_DOCS, math.ceil((len(items) - start) / (2 * workers))))
        out.append(list(items[start : start + step]))
        start += step
    return out


# --- tasks ---------------------------------------------------------------------------------------


@task(name="quality-gate", cache_policy=NO_CACHE)
def check_stage(
    stage: Stage, frames: dict[str, list[Row]], run_id: str, params: dict[str, Any], data_dir: str
) -> quality.StageCheck | quality.QualityGateFailed:
    """The stage's checks; a failed gate is returned, not raised, so that Prefect does not log
    it as a crash of the task with a traceback: the flow stops the run with its message."""
    try:
        check = quality.validate_stage(stage, frames, run_id=run_id, params=params)
    except quality.QualityGateFailed as gate_failed:
        return gate_failed
    n_failed = sum(1 for row in check.dq_rows if not row["success"])
    get_run_logger().info(
        "quality gate %s: %d expectations, %d warnings or quarantines, %d documents quarantined",
        stage.value, len(check.dq_rows), n_failed, len(check.quarantined),
    )
    return check


@task(name="read-loaded", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def read_loaded(data_dir: str, doc_ids: list[str]) -> dict[str, LoadedDoc]:
    """doc_id -> what the lake holds about each of `doc_ids` it has loaded (its latest row)."""
    from warehouse.state import loaded_documents

    return {row["doc_id"]: LoadedDoc(**row) for row in loaded_documents(_lake(data_dir), doc_ids)}


@task(name="read-signatures", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def read_candidates(data_dir: str, bands: list[int]) -> list[tuple[str, bytes]]:
    """(doc_id, signature) of the loaded originals sharing a band key with `bands`, in load order."""
    from warehouse.state import signature_candidates

    return signature_candidates(_lake(data_dir), bands)


@task(name="read-runs", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def read_recent_densities(data_dir: str) -> list[float]:
    """Entity densities of the last completed runs that annotated something."""
    from warehouse.state import recent_densities

    return recent_densities(_lake(data_dir), n=RECENT_RUNS)


@task(name="resolve-entities", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def resolve_keys(data_dir: str, keys: dict[str, KeyStats], rules: AliasRules, earlier: list[Path]) -> tuple[dict[str, str], set[str]]:
    """Entity id of each of a chunk's keys, resolved against the keys it may join of the lake
    and of the run's `earlier` chunks (their `entity_keys` parts), read by block, not whole;
    also which of the keys are new (in neither)."""
    from warehouse.state import known_keys

    blocks = sorted({block for key in keys for block in resolution_blocks(key)})
    known = {
        row["alias_key"]: (row["entity_id"], KeyStats(row["n_mentions"], Counter(row["labels"]), row["acronym"], row["short_forms"]))
        for row in known_keys(_lake(data_dir), sorted(keys), blocks, parts=earlier)
    }
    entity_of = resolve_run(keys, known, rules=rules)
    new = set(keys) - set(known)
    get_run_logger().info(
        "resolve: %d keys (%d new) -> %d entities, against %d known keys read",
        len(keys), len(new), len({entity_of[key] for key in keys}), len(known),
    )
    return entity_of, new


def reresolve(data_dir: str | Path, rules: AliasRules, *, run_id: str) -> tuple[int, int, int]:
    """Re-resolve every entity key of the lake, as its runs would have with `rules` (the alias
    file now): each run's keys in turn against the keys of the runs before it
    (`transforms.resolve.replay_runs`), then publish the new ids in `entity_keys`, `mentions`
    and `quotes` as one new snapshot. Call it while holding the lake's lock.
    Returns (keys, entities, keys whose entity changed)."""
    from warehouse.lake import remap
    from warehouse.state import key_history

    lake = _lake(data_dir)
    chunks = (
        {row["alias_key"]: KeyStats(row["n_mentions"], Counter(row["labels"]), row["acronym"], row["short_forms"]) for row in rows}
        for _, rows in key_history(lake)
    )
    entity_of = replay_runs(chunks, rules=rules)
    before: dict[str, str] = {}
    names = {k: (e.name, e.label) for e in rules.entities for k in e.keys if entity_of.get(k) == e.entity_id}

    def keys(table: pa.Table) -> pa.Table:
        before.update(zip(table.column("alias_key").to_pylist(), table.column("entity_id").to_pylist()))
        table = remap(table, "entity_id", entity_of, key="alias_key")
        table = remap(table, "fixed_name", {k: name for k, (name, _) in names.items()}, key="alias_key", keep=False)
        return remap(table, "fixed_label", {k: label for k, (_, label) in names.items()}, key="alias_key", keep=False)

    lake.commit(run_id, {}, rewrite={
        "entity_keys": keys,
        "mentions": lambda table: remap(table, "entity_id", entity_of, key="entity_key"),
        "quotes": lambda table: remap(table, "speaker_entity_id", entity_of, key="speaker_key"),
    })
    from warehouse.duck import refresh_views

    refresh_views(lake)
    return len(entity_of), len(set(entity_of.values())), sum(1 for k, eid in entity_of.items() if before.get(k) != eid)


@task(name="write-chunk", cache_policy=NO_CACHE)
def write_chunk(parts: RunParts, tables: dict[str, list[Row]]) -> None:
    """Write one chunk's rows as Parquet parts of the run (not yet in the lake)."""
    for name, rows in tables.items():
        parts.write(name, rows)


@task(name="load", cache_policy=NO_CACHE)
def publish(data_dir: str, run_id: str, parts: RunParts, tables: dict[str, list[Row]], ingest_date: date, *, part_tables: list[str] | None = None) -> list[str]:
    """Commit the run's parts and `tables` as one new lake snapshot and refresh the DuckDB views.
    No retries: a commit is all or nothing, and the lock is held."""
    from warehouse.duck import refresh_views  # at first use, like the lake (see `_lake`)

    lake = _lake(data_dir)
    counts = {name: len(rows) + parts.num_rows(name) for name, rows in tables.items()}
    lake.commit(run_id, tables, parts=parts, part_tables=part_tables, ingest_date=ingest_date)
    views = refresh_views(lake)
    get_run_logger().info("load: committed %s", ", ".join(f"{n} {name}" for name, n in counts.items()))
    return views


@task(name="report", cache_policy=NO_CACHE)
def write_report(data_dir: str) -> str | None:
    """Rewrite the data-quality report (see `quality.write_report`). A failure here is logged,
    not raised: the data is already loaded."""
    logger = get_run_logger()
    try:
        index = quality.write_report(Path(data_dir))
    except Exception as error:  # noqa: BLE001 - the report is secondary to the loaded data
        logger.warning("data-quality report not written: %s: %s", type(error).__name__, error)
        return None
    logger.info("data-quality report: %s", index)
    return str(index)


# --- the flow ------------------------------------------------------------------------------------


@contextmanager
def _timed(summary: RunSummary, stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        summary.seconds[stage] += time.perf_counter() - start


def _run_row(summary: RunSummary, *, started_at: datetime, finished_at: datetime | None, model: str) -> Row:
    return {
        "run_id": summary.run_id,
        "started_at": started_at,
        "finished_at": finished_at,
        "status": summary.status,
        "n_input": summary.n_input,
        "n_loaded": summary.n_loaded,
        "n_skipped": summary.n_skipped,
        "n_quarantined": summary.n_quarantined,
        "n_duplicates": summary.n_duplicates,
        "n_mentions": summary.n_mentions,
        "entity_density": summary.entity_density,
        **{f"{stage}_s": round(seconds, 3) for stage, seconds in summary.seconds.items()},
        "model": model,
        "pipeline_version": PIPELINE_VERSION,
        "error": summary.error,
        "model_version": model,
    }


class DiskFull(OSError):
    """The disk of the data dir filled up during a run; the lake is as it was before it."""


def disk_full(error: BaseException) -> bool:
    """Whether `error` says the disk is full (an OSError's ENOSPC, or DuckDB's and pyarrow's
    messages for it)."""
    return (isinstance(error, OSError) and error.errno == errno.ENOSPC) or "No space left on device" in str(error)


@flow(name="newsetl", validate_parameters=False)
def etl_flow(
    inputs: list[str],
    data_dir: str = "data",
    model: str | None = None,
    batch_size: int | None = None,
    chunk_size: int | None = None,
    max_file_mb: float | None = None,
    min_body_chars: int | None = None,
    max_quarantined: float | None = None,
    aliases: str | None = None,
    workers: int = 1,
    processes: int | None = None,
) -> RunSummary:
    """Load news articles from `inputs` (files or folders) into the warehouse in `data_dir`.

    `workers` is how many processes the task runner has (sets the number of tasks per stage).
    `processes` (a deployment's runs: `newsetl serve --processes N`): run the stages in that
    many worker processes, as a subflow with a process pool, where this flow has no such runner.

    The run holds the data dir's lock from reading the lake to publishing, so a second run
    started meanwhile waits, then finds this one's documents loaded.
    """
    settings = Settings.load(
        data_dir=data_dir, model=model, batch_size=batch_size, chunk_size=chunk_size, max_file_mb=max_file_mb,
        min_body_chars=min_body_chars, max_quarantined=max_quarantined, aliases=aliases,
    )
    if processes is not None and processes > 1 and not isinstance(_task_runner(), ProcessPoolTaskRunner):
        from flows.runtime.runners import process_task_runner

        pool = etl_flow.with_options(task_runner=process_task_runner(workers=processes, model=settings.model))
        return pool(inputs, data_dir=data_dir, model=model, batch_size=batch_size, chunk_size=chunk_size, max_file_mb=max_file_mb,
                    min_body_chars=min_body_chars, max_quarantined=max_quarantined, aliases=aliases, workers=processes)
    logger = get_run_logger()
    lake = _lake(settings.data_dir)

    def waiting(holder: str) -> None:
        logger.warning("data dir %s is being loaded by %s; waiting for it to finish", settings.data_dir, holder)

    with lake.writing(on_wait=waiting) as leftovers:
        if leftovers:
            logger.warning("removed %d leftovers of an interrupted run: %s", len(leftovers), ", ".join(p.name for p in leftovers))
        try:
            summary = _Run(inputs, settings, workers=max(workers, 1)).run()
        except quality.QualityGateFailed as failed:
            # The run is recorded as failed; the flow run fails with the gate's message, and the
            # caller gets the exception back (not a traceback in the log: it is no crash).
            return Failed(message=str(failed), data=failed)  # type: ignore[return-value]
        except Exception as error:
            if not disk_full(error):
                raise
            full = DiskFull(errno.ENOSPC, f"the disk is full: no space left for {settings.data_dir} ({error}). Nothing of this run "
                            "was loaded: the lake is as it was, with the failure in `runs` if it fitted. Free some space on "
                            f"that disk (df -h {settings.data_dir}) and run again")
            return Failed(message=str(full), data=full)  # type: ignore[return-value]
    return summary


class _Run:
    """One run of the flow: its inputs in chunks through the stages, then one commit.

    Each chunk of input files is extracted, planned, cleaned, checked for copies, annotated,
    resolved to entities and written as Parquet parts (`warehouse.lake.RunParts`) before the
    next one is read, so the flow's process holds one chunk's documents and names whatever the
    run's size. A chunk's entity keys are resolved against the keys they may join of the lake
    and of the run's earlier chunks, as if each chunk were a run of its own (`newsetl resolve`
    replays them in the same order). The whole run is committed as one snapshot.
    """

    def __init__(self, inputs: list[str], settings: Settings, *, workers: int) -> None:
        self.inputs, self.settings, self.workers = inputs, settings, workers
        self.data_dir = str(settings.data_dir)
        self.logger = get_run_logger()
        self.started_at = datetime.now(timezone.utc)
        self.summary = RunSummary(run_id=new_run_id(self.started_at), data_dir=self.data_dir)
        self.model_label = model_version(settings.model)
        self.versions = (PIPELINE_VERSION, self.model_label)
        self.lineage = Lineage(self.summary.run_id, PIPELINE_VERSION, self.model_label)
        self.params = {"max_file_bytes": settings.max_file_bytes, "min_body_chars": settings.min_body_chars,
                       "max_quarantined": settings.max_quarantined}
        from warehouse.lake import RunParts  # at first use, like the lake (see `_lake`)

        self.parts = RunParts(_lake(self.data_dir), self.summary.run_id, day=self.started_at.date())
        self.tally = RunTally()
        self.dq_rows: list[Row] = []
        self.ahead = 2 * workers  # tasks in flight per stage: one running and one waiting per worker

    def run(self) -> RunSummary:
        summary = self.summary
        try:
            paths = discover(self.inputs)
            summary.n_input = len(paths)
            chunks = list(batched(paths, self.settings.chunk_size))
            self.logger.info("run %s: %d input files in %d chunks, data dir %s", summary.run_id, len(paths), len(chunks), self.data_dir)
            with _timed(summary, "extract"):
                self.rules = load_alias_rules(self.settings.data_dir, self.settings.aliases)
                recent = read_recent_densities(self.data_dir)
            for number, chunk in enumerate(chunks):
                self.load_chunk(number, chunk, of=len(chunks))
            self.summarise(n_entities=self.parts.count_distinct("entity_keys", "entity_id"))
            run_checks = run_frame(
                run_id=summary.run_id, n_new=summary.n_input - summary.n_skipped, quarantined=self.tally.quarantined,
                entity_density=summary.entity_density if self.tally.n_annotated >= MIN_DOCS_FOR_DENSITY else None,
                recent_densities=recent,
            )
            self.gate(Stage.LOAD, {"run": run_checks}, [])
            summary.status = RunStatus.COMPLETED.value
            with _timed(summary, "load"):
                tables: dict[str, list[Row]] = {name: [] for name in TABLES}  # every table exists, so every view does
                checked = self.dq_rows if summary.n_skipped < summary.n_input else []  # a re-run checked nothing new: no rows
                tables.update(dq_results=with_lineage(checked, self.lineage), runs=[self.run_row()])
                publish(self.data_dir, summary.run_id, self.parts, _quoted(tables), self.started_at.date())
            with _timed(summary, "quality"):
                write_report(self.data_dir)
        except BaseException as error:
            if summary.status == RunStatus.COMPLETED.value and not disk_full(error):
                raise  # the commit itself failed (or was interrupted): the lake is as before the run
            self.fail(error)
            raise
        self.logger.info("run completed: %s (run %s)", {k: v for k, v in asdict(summary).items() if k.startswith("n_")}, summary.run_id)
        return summary

    def load_chunk(self, number: int, paths: list[str], *, of: int) -> None:
        """Take one chunk of input files through every stage into the run's parts."""
        label = f"chunk {number + 1}/{of}: " if of > 1 else ""
        with _timed(self.summary, "extract"):
            raw = self.extract(paths, label)
            loaded = read_loaded(self.data_dir, lookup_ids(raw))
            plan = plan_run(raw, loaded, versions=self.versions, seen=self.tally.first_paths)
            self.tally.first_paths.update(plan.first_paths)
            self.tally.n_skipped += len(plan.unchanged)
            current = {doc_id for doc_id, d in loaded.items() if (d.pipeline_version, d.model_version) == self.versions}
        new = self.gate(Stage.EXTRACT, {"extracted": extracted_frame(plan.process, already_loaded=current)}, plan.process)
        with _timed(self.summary, "clean"):
            cleaned = self.clean(new, label)
            bands = sorted({key for d in cleaned if d.duplicate_of is None and d.signature for key in band_keys(d.signature)})
            earlier = read_candidates(self.data_dir, bands) if bands else []
            cleaned = mark_near_duplicates(cleaned, earlier, self.tally.originals)
            ingested_at = datetime.now(timezone.utc)
            documents = [document_row(d, lineage=self.lineage, ingested_at=ingested_at) for d in cleaned]
        cleaned = self.gate(Stage.CLEAN, {"documents": documents_frame(documents, {d.doc_id: d.raw.text for d in cleaned})}, cleaned)
        with _timed(self.summary, "annotate"):
            # Copies are not annotated twice; the model reads English, so other languages are
            # loaded, flagged, and not annotated.
            wanted = [d for d in cleaned if d.duplicate_of is None and d.language == "en"]
            annotated = self.annotate(wanted, label)
            failed = {d.doc_id for d in wanted} - {a.doc_id for a in annotated}  # quarantined by the task
            cleaned = [d for d in cleaned if d.doc_id not in failed]
            sentences = [row for a in annotated for row in sentence_rows(a, lineage=self.lineage)]
            mentions = [row for a in annotated for row in mention_rows(a, lineage=self.lineage)]
            quotes = [row for a in annotated for row in quote_rows(a, lineage=self.lineage)]
        bodies = {a.doc_id: a.doc.cleaned.body for a in annotated}
        spans = {(row["doc_id"], row["sentence_id"]): (row["start_char"], row["end_char"]) for row in sentences}
        frames = {
            "mentions": mentions_frame(mentions, bodies, spans),
            "sentences": sentences_frame(sentences, bodies),
            "annotated": annotated_frame([{"doc_id": d.doc_id, "language": d.language, "body": d.cleaned.body} for d in cleaned],
                                         sentences, annotated_ids=bodies),
            "quotes": quotes_frame(quotes, bodies),
        }
        cleaned, annotated, dropped = self.gate_annotated(frames, cleaned, annotated)
        with _timed(self.summary, "load"):
            keys = key_stats((m.entity_key, m.label, m.text) for a in annotated for m in a.mentions)
            entity_of, new_keys = resolve_keys(self.data_dir, keys, self.rules, self.parts.paths("entity_keys")) if keys else ({}, set())
            key_rows = entity_key_rows(keys, entity_of, new=new_keys, rules=self.rules, lineage=self.lineage, chunk=number)
        self.gate(Stage.LOAD, {"entity_keys": key_rows}, [])
        with _timed(self.summary, "load"):
            kept = {d.doc_id for d in cleaned}
            write_chunk(self.parts, _quoted({
                "documents": [row for row in documents if row["doc_id"] in kept],
                "sentences": [row for row in sentences if row["doc_id"] not in dropped],
                "mentions": with_entities((row for row in mentions if row["doc_id"] not in dropped), entity_of,
                                          column="entity_id", key="entity_key"),
                "quotes": with_entities((row for row in quotes if row["doc_id"] not in dropped), entity_of,
                                        column="speaker_entity_id", key="speaker_key"),
                "removed_lines": [row for d in cleaned for row in removed_line_rows(d, lineage=self.lineage)],
                "signatures": [row for d in cleaned if (row := signature_row(d, lineage=self.lineage)) is not None],
                "entity_keys": key_rows,
            }))
            self.tally.load(cleaned, annotated)
        if of > 1:
            self.logger.info("%sdone: %d loaded so far, %d quarantined", label, self.tally.n_loaded, self.tally.n_quarantined)

    def extract(self, paths: list[str], label: str) -> list[RawDoc]:
        progress = StageProgress(self.logger, f"{label}extract", len(paths))
        batches = even_shards(paths, size=self.settings.batch_size, workers=self.workers)
        max_bytes = self.settings.max_file_bytes
        if _extracts_here():
            results = _run_here(lambda batch: extract_batch(Opaque(batch), max_bytes), batches, progress)
        else:
            results = _gather(lambda batch: extract_batch.submit(Opaque(batch), max_bytes), batches, progress, ahead=self.ahead)
        return self.collect(results)

    def clean(self, docs: list[RawDoc], label: str) -> list[CleanDoc]:
        furniture = Opaque(learn_furniture((d.source_path, d.text) for d in docs))  # over the chunk
        progress = StageProgress(self.logger, f"{label}clean", len(docs))
        batches = even_shards(docs, size=self.settings.batch_size, workers=self.workers)
        return self.collect(_gather(lambda batch: clean_batch.submit(Opaque(batch), furniture), batches, progress, ahead=self.ahead))

    def annotate(self, docs: list[CleanDoc], label: str) -> list[AnnotatedDoc]:
        progress = StageProgress(self.logger, f"{label}annotate", len(docs))
        by_id = {d.doc_id: d for d in docs}
        model, spacy_batch = self.settings.model, self.settings.batch_size or SPACY_BATCH
        results = _gather(
            lambda batch: annotate_batch.submit(Opaque([(d.doc_id, d.cleaned.body) for d in batch]), model, spacy_batch),
            shards(docs, size=self.settings.batch_size, workers=self.workers), progress, ahead=self.ahead,
            keep=lambda result: attach_annotations(by_id, *result),
        )
        return self.collect(results)

    def collect(self, results: list[Any]) -> list[Any]:
        """The records of a stage's tasks, in order; their rejections go to the run's quarantine."""
        records: list[Any] = []
        for batch_records, rejections in results:
            records += batch_records
            self.quarantine(rejections)
        return records

    def quarantine(self, rejections: list[Rejection]) -> None:
        if rejections:
            self.tally.reject(rejections)
            at = datetime.now(timezone.utc)
            self.parts.write("quarantine", [quarantine_row(r, lineage=self.lineage, at=at) for r in rejections])

    def gate(self, stage: Stage, frames: dict[str, list[Row]], docs: Sequence[D]) -> list[D]:
        """Run a stage's checks; quarantine the documents they set aside and return the others."""
        with _timed(self.summary, "quality"):
            check = check_stage(stage, _quoted(frames), self.summary.run_id, self.params, self.data_dir)
        if isinstance(check, quality.QualityGateFailed):
            raise check
        self.dq_rows += check.dq_rows
        kept, rejected = set_aside(docs, check.quarantined, stage=stage)
        self.quarantine(rejected)
        return kept

    def gate_annotated(
        self, frames: dict[str, list[Row]], cleaned: list[CleanDoc], annotated: list[AnnotatedDoc]
    ) -> tuple[list[CleanDoc], list[AnnotatedDoc], set[str]]:
        """The annotate gate: a document it sets aside leaves the chunk (its annotations too)."""
        kept = self.gate(Stage.ANNOTATE, frames, annotated)
        dropped = {a.doc_id for a in annotated} - {a.doc_id for a in kept}
        return [d for d in cleaned if d.doc_id not in dropped], kept, dropped

    def summarise(self, *, n_entities: int) -> None:
        summary, tally = self.summary, self.tally
        summary.n_loaded, summary.n_skipped, summary.n_duplicates = tally.n_loaded, tally.n_skipped, tally.n_duplicates
        summary.n_mentions, summary.n_entities, summary.entity_density = tally.n_mentions, n_entities, tally.entity_density
        summary.n_quarantined = tally.n_quarantined
        summary.quarantine_reasons = {reason: n for reason, (n, _) in tally.quarantined.items()}

    def run_row(self) -> Row:
        return _run_row(self.summary, started_at=self.started_at, finished_at=datetime.now(timezone.utc), model=self.model_label)

    def fail(self, error: BaseException) -> None:
        """Record the run as failed: its quarantine, its checks and its `runs` row; nothing else."""
        summary = self.summary
        summary.status = RunStatus.FAILED.value
        summary.error = str(error)
        if isinstance(error, quality.QualityGateFailed):
            self.dq_rows += error.dq_rows
        self.summarise(n_entities=0)
        tables = {"dq_results": with_lineage(self.dq_rows, self.lineage), "runs": [self.run_row()]}
        if disk_full(error):  # room for the record of the failure: none of these parts will load
            for name, path in self.parts.files():
                if name != "quarantine":
                    path.unlink()
        try:
            publish(self.data_dir, summary.run_id, self.parts, _quoted(tables), self.started_at.date(), part_tables=["quarantine"])
        except Exception as failure:
            if not disk_full(error) or not disk_full(failure):
                raise
            self.parts.remove()  # not even the failure fits on the disk: the lake stays as it was
            return
        if not disk_full(error):  # the report would not fit either
            write_report(self.data_dir)
