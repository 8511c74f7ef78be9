"""The newsetl Prefect flow: extract -> clean -> annotate -> load, with a quality gate after each.

Tasks are thin wrappers over plain functions in `transforms`, `warehouse` and `flows.sources`,
and take batches of documents (never one task per document or line). Retries are only on the
tasks that write.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows import quality
from flows.nlp import load_pipeline
from flows.settings import Settings
from flows.sources import discover, read_documents
from schemas import QuarantineReason, RunStatus, Stage
from transforms.annotate import annotate_documents
from transforms.checks import documents_frame, extracted_frame, load_frames, mentions_frame, sentences_frame
from transforms.clean import clean_document
from transforms.entities import build_entities
from transforms.extract import deduplicate
from transforms.furniture import furniture_for, learn_furniture
from transforms.records import AnnotatedDoc, CleanDoc, RawDoc, Rejection
from transforms.rows import document_row, mention_rows, quarantine_row, removed_line_rows, sentence_rows
from warehouse.duck import refresh_views
from warehouse.lake import ENTITIES_FILE, Lake

T = TypeVar("T")
Row = dict[str, Any]
PIPELINE_VERSION = version("newsetl")


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
    n_mentions: int = 0
    n_entities: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: {s: 0.0 for s in ("extract", "clean", "annotate", "quality", "load")})
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def new_run_id(now: datetime) -> str:
    """A sortable run id: UTC start time and a random suffix."""
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def batched(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


# --- tasks ---------------------------------------------------------------------------------------


@task(name="extract", cache_policy=NO_CACHE)
def extract_batch(paths: list[str], max_bytes: int) -> tuple[list[RawDoc], list[Rejection]]:
    docs, rejections = [], []
    for path in paths:
        for result in read_documents(path, max_bytes=max_bytes):
            (docs if isinstance(result, RawDoc) else rejections).append(result)
    get_run_logger().info("extract: %d files -> %d decoded, %d quarantined", len(paths), len(docs), len(rejections))
    return docs, rejections


@task(name="clean", cache_policy=NO_CACHE)
def clean_batch(docs: list[RawDoc], furniture: dict[str, frozenset[str]]) -> tuple[list[CleanDoc], list[Rejection]]:
    cleaned, rejections = [], []
    for doc in docs:
        result = clean_document(doc, furniture=furniture_for(doc.source_path, furniture))
        (cleaned if isinstance(result, CleanDoc) else rejections).append(result)
    get_run_logger().info("clean: %d documents -> %d cleaned, %d quarantined", len(docs), len(cleaned), len(rejections))
    return cleaned, rejections


@task(name="annotate", cache_policy=NO_CACHE)
def annotate_batch(docs: list[CleanDoc], model: str, batch_size: int) -> tuple[list[AnnotatedDoc], list[Rejection]]:
    nlp = load_pipeline(model)
    try:
        annotated = list(annotate_documents(nlp, docs, batch_size=batch_size))
        rejections: list[Rejection] = []
    except Exception:  # isolate the document that breaks the batch; the others go on
        annotated, rejections = [], []
        for doc in docs:
            try:
                annotated.extend(annotate_documents(nlp, [doc], batch_size=1))
            except Exception as error:  # noqa: BLE001 - any model failure is a quarantine reason
                rejections.append(
                    Rejection(doc.source_path, Stage.ANNOTATE, QuarantineReason.ANNOTATION_ERROR,
                              f"{type(error).__name__}: {error}", doc.doc_id)
                )
    n_mentions = sum(len(a.mentions) for a in annotated)
    get_run_logger().info("annotate: %d documents -> %d mentions, %d quarantined", len(docs), n_mentions, len(rejections))
    return annotated, rejections


@task(name="quality-gate", cache_policy=NO_CACHE)
def check_stage(stage: Stage, frames: dict[str, list[Row]], run_id: str) -> list[Row]:
    rows = quality.validate_stage(stage, frames, run_id=run_id)
    get_run_logger().info("quality gate %s: %d expectations passed or warned", stage.value, len(rows))
    return rows


@task(name="read-lake", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def read_lake_state(data_dir: str) -> tuple[dict[str, str], list[Row]]:
    """doc_id -> source_path of loaded documents, and the loaded mentions entities are built from."""
    lake = Lake(Path(data_dir))
    mentions = lake.read("mentions", columns=["doc_id", "text", "label", "entity_id"]).to_pylist()
    return lake.loaded_documents(), mentions


@task(name="record-run", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def record_run(data_dir: str, row: Row) -> None:
    Lake(Path(data_dir)).write_rows("runs", [row], stem=row["run_id"])


@task(name="load", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def publish(data_dir: str, run_id: str, tables: dict[str, list[Row]]) -> list[str]:
    """Write this run's Parquet files (entities replaced whole) and refresh the DuckDB views."""
    lake = Lake(Path(data_dir))
    for name, rows in tables.items():
        lake.write_rows(name, rows, stem=ENTITIES_FILE.removesuffix(".parquet") if name == "entities" else run_id)
    views = refresh_views(lake)
    get_run_logger().info("load: wrote %s", ", ".join(f"{len(rows)} {name}" for name, rows in tables.items()))
    return views


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
        "n_mentions": summary.n_mentions,
        **{f"{stage}_s": round(seconds, 3) for stage, seconds in summary.seconds.items()},
        "model": model,
        "pipeline_version": PIPELINE_VERSION,
        "error": summary.error,
    }


@flow(name="newsetl", validate_parameters=False)
def etl_flow(
    inputs: list[str],
    data_dir: str = "data",
    model: str | None = None,
    batch_size: int | None = None,
    max_file_mb: float | None = None,
) -> RunSummary:
    """Load news articles from `inputs` (files or folders) into the warehouse in `data_dir`."""
    settings = Settings.load(data_dir=data_dir, model=model, batch_size=batch_size, max_file_mb=max_file_mb)
    data_dir = str(settings.data_dir)
    logger = get_run_logger()
    started_at = datetime.now(timezone.utc)
    summary = RunSummary(run_id=new_run_id(started_at), data_dir=data_dir)
    paths = discover(inputs)
    summary.n_input = len(paths)
    model_label = f"{settings.model}"
    record_run(data_dir, _run_row(summary, started_at=started_at, finished_at=None, model=model_label))
    logger.info("run %s: %d input files, data dir %s", summary.run_id, len(paths), data_dir)

    rejections: list[Rejection] = []
    dq_rows: list[Row] = []
    try:
        with _timed(summary, "extract"):
            loaded, lake_mentions = read_lake_state(data_dir)
            raw: list[RawDoc] = []
            for batch in batched(paths, settings.batch_size):
                docs, rejected = extract_batch(batch, settings.max_file_bytes)
                raw += docs
                rejections += rejected
            new, unchanged, duplicates = deduplicate(raw, loaded)
            rejections += duplicates
            summary.n_skipped = len(unchanged)
        with _timed(summary, "quality"):
            dq_rows += check_stage(Stage.EXTRACT, {"extracted": extracted_frame(new)}, summary.run_id)

        with _timed(summary, "clean"):
            cleaned: list[CleanDoc] = []
            furniture = learn_furniture((d.source_path, d.text) for d in new)  # over the whole run's batch
            for batch in batched(new, settings.batch_size):
                docs_clean, rejected = clean_batch(batch, furniture)
                cleaned += docs_clean
                rejections += rejected
            ingested_at = datetime.now(timezone.utc)
            documents = [document_row(d, run_id=summary.run_id, ingested_at=ingested_at) for d in cleaned]
            removed = [row for d in cleaned for row in removed_line_rows(d, run_id=summary.run_id)]
        with _timed(summary, "quality"):
            raw_text = {d.doc_id: d.raw.text for d in cleaned}
            dq_rows += check_stage(Stage.CLEAN, {"documents": documents_frame(documents, raw_text)}, summary.run_id)

        with _timed(summary, "annotate"):
            annotated: list[AnnotatedDoc] = []
            for batch in batched(cleaned, settings.batch_size):
                docs_annotated, rejected = annotate_batch(batch, settings.model, settings.batch_size)
                annotated += docs_annotated
                rejections += rejected
            failed = {r.doc_id for r in rejections if r.stage is Stage.ANNOTATE}
            documents = [row for row in documents if row["doc_id"] not in failed]
            removed = [row for row in removed if row["doc_id"] not in failed]
            sentences = [row for a in annotated for row in sentence_rows(a, run_id=summary.run_id)]
            mentions = [row for a in annotated for row in mention_rows(a, run_id=summary.run_id)]
        with _timed(summary, "quality"):
            bodies = {row["doc_id"]: row["body"] for row in documents}
            spans = {(row["doc_id"], row["sentence_id"]): (row["start_char"], row["end_char"]) for row in sentences}
            dq_rows += check_stage(
                Stage.ANNOTATE,
                {"mentions": mentions_frame(mentions, bodies, spans), "sentences": sentences_frame(sentences, bodies)},
                summary.run_id,
            )

        with _timed(summary, "load"):
            entities = build_entities([*lake_mentions, *mentions])
        with _timed(summary, "quality"):
            dq_rows += check_stage(Stage.LOAD, load_frames(documents, mentions, entities, loaded_doc_ids=loaded), summary.run_id)

        summary.n_loaded, summary.n_mentions, summary.n_entities = len(documents), len(mentions), len(entities)
        _count_rejections(summary, rejections)
        summary.status = RunStatus.COMPLETED.value
        with _timed(summary, "load"):
            publish(
                data_dir,
                summary.run_id,
                {
                    "documents": documents,
                    "sentences": sentences,
                    "mentions": mentions,
                    "removed_lines": removed,
                    "quarantine": _quarantine_rows(rejections, summary.run_id),
                    "dq_results": dq_rows,
                    "entities": entities,
                },
            )
            record_run(data_dir, _run_row(summary, started_at=started_at, finished_at=datetime.now(timezone.utc), model=model_label))
    except BaseException as error:
        summary.status = RunStatus.FAILED.value
        summary.error = str(error)
        if isinstance(error, quality.QualityGateFailed):
            dq_rows += error.dq_rows
        _count_rejections(summary, rejections)
        publish(
            data_dir,
            summary.run_id,
            {"quarantine": _quarantine_rows(rejections, summary.run_id), "dq_results": dq_rows},
        )
        record_run(data_dir, _run_row(summary, started_at=started_at, finished_at=datetime.now(timezone.utc), model=model_label))
        raise
    logger.info("run %s completed: %s", summary.run_id, {k: v for k, v in asdict(summary).items() if k.startswith("n_")})
    return summary


def _quarantine_rows(rejections: list[Rejection], run_id: str) -> list[Row]:
    at = datetime.now(timezone.utc)
    return [quarantine_row(r, run_id=run_id, at=at) for r in rejections]


def _count_rejections(summary: RunSummary, rejections: list[Rejection]) -> None:
    summary.n_quarantined = len(rejections)
    reasons: dict[str, int] = {}
    for r in rejections:
        reasons[r.reason.value] = reasons.get(r.reason.value, 0) + 1
    summary.quarantine_reasons = reasons
