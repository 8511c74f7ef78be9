"""The newsetl Prefect flow: extract -> clean -> annotate -> load, with a quality gate after each.

Tasks are thin wrappers over plain functions in `transforms`, `warehouse` and `flows.sources`,
and take batches of documents (never one task per document or line). Retries are only on the
tasks that write.
"""

from __future__ import annotations

import ipaddress
import math
import sys
import time
import uuid
from collections import deque
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
from schemas import RunStatus, Stage
from transforms.checks import (
    annotated_frame,
    documents_frame,
    extracted_frame,
    load_frames,
    mentions_frame,
    quotes_frame,
    run_frame,
    sentences_frame,
)
from transforms.dedup import LoadedDoc, find_near_duplicates, plan_run
from transforms.entities import build_entities, build_entity_aliases, build_sentence_entities, entity_key
from transforms.furniture import learn_furniture
from transforms.records import AnnotatedDoc, CleanDoc, Lineage, RawDoc, Rejection, attach_annotations
from transforms.resolve import AliasRules, alias_names, key_stats, resolve_entities
from transforms.rows import document_row, mention_rows, quarantine_row, quote_rows, removed_line_rows, sentence_rows, with_entity_ids, with_lineage

if TYPE_CHECKING:
    from datasketch import LeanMinHash

    from warehouse.lake import Lake

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


def dask_task_runner(address: str) -> Any:
    """prefect-dask's DaskTaskRunner on the Dask cluster at `address`: an existing one
    (`--dask-address`), or the local one the CLI started (`flows.warmup.LocalDask`)."""
    from prefect_dask.task_runners import DaskTaskRunner

    return DaskTaskRunner(address=address)


def process_task_runner(*, workers: int, model: str) -> Any:
    """Prefect's ProcessPoolTaskRunner with `workers` processes, forked from the warm fork server
    (`flows.warmup.use_warm_fork_server`) where there is one: each starts with the spaCy pipeline
    `model` and the cleaning models loaded once for all. Each also runs `warm_worker` as it starts
    (all done already when forked; the whole start-up when spawned). The flow's process extracts
    itself under this runner (`_extracts_here`): the first workers start with the
    clean stage."""
    from flows.warmup import use_warm_fork_server, warm_worker

    runner = _ForkServerPool if use_warm_fork_server(model) else ProcessPoolTaskRunner
    return runner(max_workers=workers, initializer=warm_worker, initargs=(model,))


class _ForkServerPool(ProcessPoolTaskRunner):
    """ProcessPoolTaskRunner whose processes come from multiprocessing's fork server. Prefect
    3.8 takes its context in `__enter__` as `multiprocessing.get_context("spawn")`, with no
    option; for that call only, its module's `multiprocessing` is one whose `get_context` gives
    the fork server's (the workers still start clean: the fork server is a fresh process, not
    this one). `duplicate()` keeps the class."""

    def __enter__(self) -> Any:
        import multiprocessing

        import prefect.task_runners as module

        module.multiprocessing = _ForkServerContexts(multiprocessing)  # type: ignore[attr-defined,assignment]
        try:
            return super().__enter__()
        finally:
            module.multiprocessing = multiprocessing  # type: ignore[attr-defined]


class _ForkServerContexts:
    """The `multiprocessing` module, but every context it hands out is the fork server's."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def get_context(self, method: str | None = None) -> Any:
        return self._module.get_context("forkserver")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def release_workers() -> None:
    """Stop the worker processes of the flow's process pool, once the last stage that runs on
    them is done: each holds a spaCy pipeline (about 400 MiB) that the checks and the load, which
    run in the flow's process, do not need. Other task runners are left as they are (threads hold
    nothing of their own; a Dask cluster may be shared). Prefect's runner shuts the pool down
    again as the flow ends, which is then a no-op."""
    runner = _task_runner()
    executor = getattr(runner, "_executor", None)  # Prefect 3.8 keeps its ProcessPoolExecutor here
    if isinstance(runner, ProcessPoolTaskRunner) and executor is not None:
        executor.shutdown(wait=True)


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
    decoding the BBC corpus (2,225 files) takes about 0.4 s in the flow's process, while the pool
    took 1.2 to 2.2 s for the same batches and a local Dask cluster of two workers 2.0 s (each
    task's Prefect start-up, and the documents pickled back to the flow, which sends them out
    again to the clean stage either way). The workers of a cluster reached over the network
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
        check = quality.validate_stage(stage, frames, run_id=run_id, params=params, docs_root=Path(data_dir))
    except quality.QualityGateFailed as gate_failed:
        return gate_failed
    n_failed = sum(1 for row in check.dq_rows if not row["success"])
    get_run_logger().info(
        "quality gate %s: %d expectations, %d warnings or quarantines, %d documents quarantined",
        stage.value, len(check.dq_rows), n_failed, len(check.quarantined),
    )
    return check


@task(name="read-lake", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def read_loaded(data_dir: str) -> dict[str, LoadedDoc]:
    """doc_id -> what the lake holds about each loaded document (its latest row)."""
    rows = _lake(data_dir).current_documents(columns=["doc_id", "source_path", "pipeline_version", "model_version", "duplicate_of"])
    return {row["doc_id"]: LoadedDoc(**row) for row in rows}


@task(name="read-lake-bodies", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def read_original_bodies(data_dir: str) -> list[tuple[str, str]]:
    """(doc_id, body) of the loaded documents that are not copies, in load order."""
    rows = _lake(data_dir).current_documents(columns=["doc_id", "body", "duplicate_of", "run_id"])
    return [(r["doc_id"], r["body"]) for r in sorted(rows, key=lambda r: (r["run_id"], r["doc_id"])) if r["duplicate_of"] is None]


@task(name="read-lake-runs", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def read_recent_densities(data_dir: str) -> list[float]:
    """Entity densities of the last completed runs that annotated something, oldest first."""
    runs = _lake(data_dir).read("runs").to_pylist()
    recent = [r["entity_density"] for r in sorted(runs, key=lambda r: r["run_id"]) if r["status"] == "completed" and r.get("entity_density")]
    return recent[-RECENT_RUNS:]


@task(name="read-lake-mentions", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def read_current_mentions(data_dir: str) -> list[Row]:
    """The mentions entities are built from: each loaded document's latest run."""
    mentions = _lake(data_dir).current_rows("mentions", columns=["doc_id", "sentence_id", "text", "label", "entity_key"])
    for row in mentions:  # loaded before mentions had entity_key: the key of the text itself
        row["entity_key"] = row["entity_key"] or entity_key(row["text"])
    return mentions


@task(name="read-lake-aliases", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def read_previous_entities(data_dir: str) -> dict[str, str]:
    """The key -> entity id map earlier runs settled (`entity_aliases`)."""
    aliases = _lake(data_dir).read("entity_aliases", columns=["alias_key", "entity_id"])
    return dict(zip(aliases.column("alias_key").to_pylist(), aliases.column("entity_id").to_pylist()))


@task(name="resolve-entities", cache_policy=NO_CACHE)
def resolve_batch(mentions: list[Row], previous: dict[str, str], rules: AliasRules) -> dict[str, str]:
    """Key -> entity id for every key of `mentions` (all loaded and new ones), in bulk."""
    stats = key_stats((row["entity_key"], row["label"], row["text"]) for row in mentions)
    entity_of = resolve_entities(stats, previous=previous, rules=rules)
    get_run_logger().info("resolve: %d mentions, %d keys -> %d entities", len(mentions), len(stats), len(set(entity_of.values())))
    return entity_of


@task(name="load", cache_policy=NO_CACHE)
def publish(data_dir: str, run_id: str, tables: dict[str, list[Row]], ingest_date: date) -> list[str]:
    """Commit this run's tables as one new lake snapshot (entities replaced whole) and refresh
    the DuckDB views. No retries: a commit is all or nothing, and the lock is held."""
    from warehouse.duck import refresh_views  # at first use, like the lake (see `_lake`)

    lake = _lake(data_dir)
    lake.commit(run_id, tables, ingest_date=ingest_date)
    views = refresh_views(lake)
    get_run_logger().info("load: wrote %s", ", ".join(f"{len(rows)} {name}" for name, rows in tables.items()))
    return views


@task(name="data-docs", cache_policy=NO_CACHE)
def build_data_docs(data_dir: str, run_id: str) -> str | None:
    """Render this run's data-quality report (see `quality.write_report`). A failure here is
    logged, not raised: the data is already loaded."""
    logger = get_run_logger()
    try:
        index = quality.write_report(Path(data_dir), run_id)
    except Exception as error:  # noqa: BLE001 - the report is secondary to the loaded data
        logger.warning("data docs not built: %s: %s", type(error).__name__, error)
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


@flow(name="newsetl", validate_parameters=False)
def etl_flow(
    inputs: list[str],
    data_dir: str = "data",
    model: str | None = None,
    batch_size: int | None = None,
    max_file_mb: float | None = None,
    min_body_chars: int | None = None,
    max_quarantined: float | None = None,
    aliases: str | None = None,
    workers: int = 1,
) -> RunSummary:
    """Load news articles from `inputs` (files or folders) into the warehouse in `data_dir`.

    `workers` is how many processes the task runner has (sets the number of tasks per stage).

    The run holds the data dir's lock from reading the lake to publishing, so a second run
    started meanwhile waits, then finds this one's documents loaded.
    """
    settings = Settings.load(
        data_dir=data_dir, model=model, batch_size=batch_size, max_file_mb=max_file_mb,
        min_body_chars=min_body_chars, max_quarantined=max_quarantined, aliases=aliases,
    )
    logger = get_run_logger()
    lake = _lake(settings.data_dir)

    def waiting(holder: str) -> None:
        logger.warning("data dir %s is being loaded by %s; waiting for it to finish", settings.data_dir, holder)

    with lake.writing(on_wait=waiting) as leftovers:
        if leftovers:
            logger.warning("removed %d leftovers of an interrupted run: %s", len(leftovers), ", ".join(p.name for p in leftovers))
        try:
            summary = _run(inputs, settings, workers=max(workers, 1))
        except quality.QualityGateFailed as failed:
            # The run is recorded as failed; the flow run fails with the gate's message, and the
            # caller gets the exception back (not a traceback in the log: it is no crash).
            return Failed(message=str(failed), data=failed)  # type: ignore[return-value]
    return summary


def _run(inputs: list[str], settings: Settings, *, workers: int) -> RunSummary:
    data_dir = str(settings.data_dir)
    params = {
        "max_file_bytes": settings.max_file_bytes,
        "min_body_chars": settings.min_body_chars,
        "max_quarantined": settings.max_quarantined,
    }
    logger = get_run_logger()
    started_at = datetime.now(timezone.utc)
    summary = RunSummary(run_id=new_run_id(started_at), data_dir=data_dir)
    paths = discover(inputs)
    summary.n_input = len(paths)
    model_label = model_version(settings.model)
    versions = (PIPELINE_VERSION, model_label)
    lineage = Lineage(summary.run_id, PIPELINE_VERSION, model_label)
    logger.info("run %s: %d input files, data dir %s", summary.run_id, len(paths), data_dir)

    rejections: list[Rejection] = []
    dq_rows: list[Row] = []
    ahead = 2 * workers  # tasks in flight per stage: one running and one waiting per worker

    def gate(stage: Stage, frames: dict[str, list[Row]]) -> set[str]:
        """Run a stage's checks; quarantine what they set aside and return those doc ids."""
        with _timed(summary, "quality"):
            check = check_stage(stage, _quoted(frames), summary.run_id, params, data_dir)
        if isinstance(check, quality.QualityGateFailed):
            raise check
        dq_rows.extend(check.dq_rows)
        if check.quarantined:  # the input of each document set aside, from the last frame row naming it
            inputs: dict[str, tuple[str, str | None]] = {}
            for rows in frames.values():
                for row in rows:
                    if "doc_id" in row:
                        inputs[row["doc_id"]] = (row.get("source_path", ""), row.get("input_sha256"))
            for doc_id, (reason, detail) in check.quarantined.items():
                path, sha = inputs.get(doc_id, ("", None))
                rejections.append(Rejection(path, stage, reason, detail, doc_id, sha))
        return set(check.quarantined)

    try:
        with _timed(summary, "extract"):
            loaded = read_loaded(data_dir)
            recent_densities = read_recent_densities(data_dir)
            alias_rules = load_alias_rules(settings.data_dir, settings.aliases)
            raw: list[RawDoc] = []
            # Batches are submitted to the flow's task runner (threads, worker processes, or Dask
            # workers) and gathered in order, so the output does not depend on the runner.
            progress = StageProgress(logger, "extract", len(paths))
            extract_batches = even_shards(paths, size=settings.batch_size, workers=workers)
            if _extracts_here():
                extracted = _run_here(lambda batch: extract_batch(Opaque(batch), settings.max_file_bytes), extract_batches, progress)
            else:
                extracted = _gather(
                    lambda batch: extract_batch.submit(Opaque(batch), settings.max_file_bytes), extract_batches, progress, ahead=ahead,
                )
            for docs, rejected in extracted:
                raw += docs
                rejections += rejected
            del extracted
            plan = plan_run(raw, loaded, versions=versions)
            new = plan.process
            summary.n_skipped = len(plan.unchanged)
            current = {doc_id for doc_id, d in loaded.items() if (d.pipeline_version, d.model_version) == versions}
        dropped = gate(Stage.EXTRACT, {"extracted": extracted_frame(new)})
        new = [d for d in new if d.doc_id not in dropped]

        with _timed(summary, "clean"):
            cleaned: list[CleanDoc] = []
            languages: dict[str, str] = {}
            furniture = Opaque(learn_furniture((d.source_path, d.text) for d in new))  # over the whole run's batch
            progress = StageProgress(logger, "clean", len(new))
            cleaning = _gather(
                lambda batch: clean_batch.submit(Opaque(batch), furniture),
                even_shards(new, size=settings.batch_size, workers=workers), progress, ahead=ahead,
            )
            signatures: dict[str, LeanMinHash] = {}
            for docs_clean, rejected_clean, batch_languages, batch_signatures in cleaning:
                cleaned += docs_clean
                rejections += rejected_clean
                languages.update(batch_languages)
                signatures.update(batch_signatures)
            del cleaning
            copies = dict(plan.exact_copies)
            originals = [(d.doc_id, d.cleaned.body) for d in cleaned if d.doc_id not in copies]
            if originals:  # a re-run with nothing new reads no bodies
                copies.update(find_near_duplicates(originals, read_original_bodies(data_dir), signatures=signatures))
            del signatures
            ingested_at = datetime.now(timezone.utc)
            documents = [
                document_row(d, language=languages[d.doc_id], lineage=lineage, ingested_at=ingested_at, duplicate_of=copies.get(d.doc_id))
                for d in cleaned
            ]
        del raw, new, plan  # each cleaned document holds its input (the tasks' own copy under worker processes)
        raw_text = {d.doc_id: d.raw.text for d in cleaned}
        dropped = gate(Stage.CLEAN, {"documents": documents_frame(documents, raw_text)})
        del raw_text
        cleaned = [d for d in cleaned if d.doc_id not in dropped]
        documents = [row for row in documents if row["doc_id"] not in dropped]

        with _timed(summary, "annotate"):
            # Copies are not annotated twice; the model reads English, so other languages are
            # loaded, flagged, and not annotated.
            english = [d for d in cleaned if d.doc_id not in copies and languages[d.doc_id] == "en"]
            annotated: list[AnnotatedDoc] = []
            progress = StageProgress(logger, "annotate", len(english))
            by_id = {d.doc_id: d for d in english}
            annotating = _gather(
                lambda batch: annotate_batch.submit(Opaque([(d.doc_id, d.cleaned.body) for d in batch]), settings.model, settings.batch_size or SPACY_BATCH),
                shards(english, size=settings.batch_size, workers=workers), progress, ahead=ahead,
                keep=lambda result: attach_annotations(by_id, *result),
            )
            release_workers()  # the stages left run in this process
            for docs_annotated, rejected_annotate in annotating:
                annotated += docs_annotated
                rejections += rejected_annotate
            del annotating, by_id
            failed = {r.doc_id for r in rejections if r.stage is Stage.ANNOTATE}
            documents = [row for row in documents if row["doc_id"] not in failed]
            sentences = [row for a in annotated for row in sentence_rows(a, lineage=lineage)]
            mentions = [row for a in annotated for row in mention_rows(a, lineage=lineage)]
        bodies = {row["doc_id"]: row["body"] for row in documents}
        spans = {(row["doc_id"], row["sentence_id"]): (row["start_char"], row["end_char"]) for row in sentences}
        annotated_ids = {a.doc.doc_id for a in annotated}
        dropped = gate(
            Stage.ANNOTATE,
            {
                "mentions": mentions_frame(mentions, bodies, spans),
                "sentences": sentences_frame(sentences, bodies),
                "annotated": annotated_frame(documents, sentences, annotated_ids=annotated_ids),
            },
        )
        if dropped:
            documents = [row for row in documents if row["doc_id"] not in dropped]
            sentences = [row for row in sentences if row["doc_id"] not in dropped]
            mentions = [row for row in mentions if row["doc_id"] not in dropped]
            annotated = [a for a in annotated if a.doc.doc_id not in dropped]
            annotated_ids -= dropped
            bodies = {doc_id: body for doc_id, body in bodies.items() if doc_id not in dropped}
        removed = [row for d in cleaned if d.doc_id in bodies for row in removed_line_rows(d, lineage=lineage)]

        tables: dict[str, list[Row]] = {"documents": documents, "sentences": sentences, "mentions": mentions, "removed_lines": removed}
        annotated_chars = sum(len(bodies[doc_id]) for doc_id in annotated_ids)
        summary.entity_density = 1000 * len(mentions) / annotated_chars if annotated_chars else None
        run_checks = run_frame(
            run_id=summary.run_id,
            n_new=summary.n_input - summary.n_skipped,
            rejections=rejections,
            entity_density=summary.entity_density if len(annotated_ids) >= MIN_DOCS_FOR_DENSITY else None,
            recent_densities=recent_densities,
        )
        quotes: list[Row] = []
        if documents:  # entities change only when documents do; a re-run with nothing new keeps them
            with _timed(summary, "load"):
                reprocessed = {row["doc_id"] for row in documents}
                lake_mentions = [m for m in read_current_mentions(data_dir) if m["doc_id"] not in reprocessed]
                all_mentions = [*lake_mentions, *mentions]
                entity_of = resolve_batch(_quoted(all_mentions), _quoted(read_previous_entities(data_dir)), alias_rules)
                mentions = with_entity_ids(mentions, entity_of)
                all_mentions = [*with_entity_ids(lake_mentions, entity_of), *mentions]  # the new rows once, not copied again
                del lake_mentions
                names, labels = alias_names(alias_rules)
                entities = with_lineage(build_entities(all_mentions, names=names, labels=labels), lineage)
                quotes = [row for a in annotated for row in quote_rows(a, lineage=lineage, entity_of=entity_of)]
                tables.update(
                    mentions=mentions, entities=entities, entity_aliases=with_lineage(build_entity_aliases(all_mentions), lineage), quotes=quotes,
                    sentence_entities=with_lineage(build_sentence_entities(all_mentions, entities), lineage),
                )
            summary.n_entities = len(entities)
        else:
            all_mentions, entities = [], []  # sentence_entities, like entities, stays as loaded
            summary.n_entities = _lake(settings.data_dir).read("entities", columns=["entity_id"]).num_rows
        frames = load_frames(
            documents, mentions, entities, loaded_doc_ids=current, all_mentions=all_mentions,
            sentence_entities=tables.get("sentence_entities", ()), run=run_checks,
        )
        frames["quotes"] = quotes_frame(quotes, bodies, {row["entity_id"] for row in entities})
        gate(Stage.LOAD, frames)
        del frames, all_mentions, spans  # checked; the tables are built from the rows alone

        summary.n_loaded, summary.n_mentions = len(documents), len(mentions)
        summary.n_duplicates = sum(1 for row in documents if row["duplicate_of"] is not None)
        _count_rejections(summary, rejections)
        summary.status = RunStatus.COMPLETED.value
        with _timed(summary, "load"):
            tables["quarantine"] = _quarantine_rows(rejections, lineage)
            tables["dq_results"] = with_lineage(dq_rows, lineage)
            tables["runs"] = [_run_row(summary, started_at=started_at, finished_at=datetime.now(timezone.utc), model=model_label)]
            publish(data_dir, summary.run_id, _quoted(tables), started_at.date())
        with _timed(summary, "quality"):
            build_data_docs(data_dir, summary.run_id)
    except BaseException as error:
        if summary.status == RunStatus.COMPLETED.value:
            raise  # the commit itself failed (or was interrupted): the lake is as before the run
        summary.status = RunStatus.FAILED.value
        summary.error = str(error)
        if isinstance(error, quality.QualityGateFailed):
            dq_rows += error.dq_rows
        _count_rejections(summary, rejections)
        publish(
            data_dir,
            summary.run_id,
            _quoted({
                "quarantine": _quarantine_rows(rejections, lineage),
                "dq_results": with_lineage(dq_rows, lineage),
                "runs": [_run_row(summary, started_at=started_at, finished_at=datetime.now(timezone.utc), model=model_label)],
            }),
            started_at.date(),
        )
        build_data_docs(data_dir, summary.run_id)
        raise
    logger.info("run %s completed: %s", summary.run_id, {k: v for k, v in asdict(summary).items() if k.startswith("n_")})
    return summary


def _quarantine_rows(rejections: list[Rejection], lineage: Lineage) -> list[Row]:
    at = datetime.now(timezone.utc)
    return [quarantine_row(r, lineage=lineage, at=at) for r in rejections]


def _count_rejections(summary: RunSummary, rejections: list[Rejection]) -> None:
    summary.n_quarantined = len(rejections)
    reasons: dict[str, int] = {}
    for r in rejections:
        reasons[r.reason.value] = reasons.get(r.reason.value, 0) + 1
    summary.quarantine_reasons = reasons
