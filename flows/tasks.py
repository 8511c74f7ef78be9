"""The stage tasks that run on the task runner's workers (threads, worker processes or Dask
workers): extract, clean and annotate a batch of documents. Under a local process pool or a
Dask cluster on this machine, the flow calls the extract task in its own process instead
(`flows.pipeline._extracts_here`).

They live in a module of their own, apart from the flow (`flows.pipeline`). A worker imports
the flow's module all the same: each task arrives with its flow run's context, which names the
flow (`flows.runtime.warmup.warm_worker` imports it before the first task).
"""

from __future__ import annotations

import uuid
from typing import Generic, TypeVar

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.nlp import load_pipeline, pipeline_lock
from flows.sources import read_documents
from transforms.clean import clean_document
from transforms.furniture import furniture_for
from transforms.records import Annotation, CleanDoc, RawDoc, Rejection

T = TypeVar("T")


class Opaque(Generic[T]):
    """A task argument handed over as one value: a batch of documents, a table of furniture.

    Submitting a task makes Prefect walk every element of its arguments (twice under
    prefect-dask, looking for futures) and Dask hash them all for the task's key, in the flow's
    process, while the workers wait (`benchmarks/RESULTS.md`). Neither looks inside
    an Opaque; Dask takes its token, drawn at random once per value, so no two batches share a
    task key.
    Unlike `_quoted`, it reaches the task as it was sent under every task runner."""

    __slots__ = ("value", "_token")

    def __init__(self, value: T) -> None:
        self.value = value
        self._token = uuid.uuid4().hex

    def __dask_tokenize__(self) -> str:
        return self._token


@task(name="extract", cache_policy=NO_CACHE)
def extract_batch(paths: Opaque[list[str]], max_bytes: int) -> tuple[list[RawDoc], list[Rejection]]:
    docs: list[RawDoc] = []
    rejections: list[Rejection] = []
    for path in paths.value:
        for result in read_documents(path, max_bytes=max_bytes):
            if isinstance(result, RawDoc):
                docs.append(result)
            else:
                rejections.append(result)
    get_run_logger().info("extract: %d files -> %d decoded, %d quarantined", len(paths.value), len(docs), len(rejections))
    return docs, rejections


@task(name="clean", cache_policy=NO_CACHE)
def clean_batch(docs: Opaque[list[RawDoc]], furniture: Opaque[dict[str, frozenset[str]]]) -> tuple[list[CleanDoc], list[Rejection]]:
    """Clean a batch: each cleaned document also carries its body's language and MinHash
    signature (made here, on the workers, rather than one by one in the flow's process)."""
    cleaned: list[CleanDoc] = []
    rejections: list[Rejection] = []
    for doc in docs.value:
        result = clean_document(doc, furniture=furniture_for(doc.source_path, furniture.value))
        if isinstance(result, CleanDoc):
            cleaned.append(result)
        else:
            rejections.append(result)
    get_run_logger().info("clean: %d documents -> %d cleaned, %d quarantined", len(docs.value), len(cleaned), len(rejections))
    return cleaned, rejections


@task(name="annotate", cache_policy=NO_CACHE)
def annotate_batch(bodies: Opaque[list[tuple[str, str]]], model: str, batch_size: int) -> tuple[list[tuple[str, Annotation]], list[tuple[str, str]]]:
    """Annotate (doc_id, body) pairs. Only the bodies travel to the worker, and only the
    annotations come back (not the whole documents, with their inputs and removed lines).
    Returns (doc_id, annotation) of each document and (doc_id, error) of each that broke the model."""
    from transforms.annotate import annotate_bodies  # spaCy: only where annotating happens (see flows.nlp)

    nlp = load_pipeline(model)
    with pipeline_lock():  # one batch at a time per process (see flows.nlp.PIPELINE_LOCK)
        done, failed = annotate_bodies(nlp, bodies.value, batch_size=batch_size)
    n_mentions = sum(len(annotation[1]) for _, annotation in done)
    get_run_logger().info("annotate: %d documents -> %d mentions, %d quarantined", len(bodies.value), n_mentions, len(failed))
    return done, failed
