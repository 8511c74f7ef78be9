"""The record of each stage: small frozen dataclasses passed from step to step.

A step is a plain function from one record to the next (or to a `Rejection`), so steps chain
and can be tested with a value in and a value out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import TypeVar

from schemas.reasons import QuarantineReason, RemovalReason, Stage

_Record = TypeVar("_Record", bound=type)


def _pickled_by_fields(cls: _Record) -> _Record:
    """Pickle instances of the dataclass `cls` as its constructor and field values.

    Records cross process boundaries by the hundred thousand (worker results, loaded in the
    flow's process, where it is serial work). The pickling support `dataclass(slots=True)`
    generates looks the fields up again for every object; this loads about a third faster."""
    names = tuple(f.name for f in fields(cls))

    def __reduce__(self: object) -> tuple[Callable[..., object], tuple[object, ...]]:
        return cls, tuple([getattr(self, name) for name in names])

    cls.__reduce__ = __reduce__  # type: ignore[assignment, method-assign]
    return cls


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Rejection:
    """A document set aside with a reason: data for the `quarantine` table, not an exception."""

    source_path: str
    stage: Stage
    reason: QuarantineReason
    detail: str
    doc_id: str | None = None
    input_sha256: str | None = None  # of the input file's bytes, when they were read


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Lineage:
    """Who wrote a row: the run and the two versions that decide whether a document is reprocessed
    (a document loaded with other versions is processed again). Every table row carries them."""

    run_id: str
    pipeline_version: str
    model_version: str

    def __post_init__(self) -> None:
        empty = [name for name in ("run_id", "pipeline_version", "model_version") if not getattr(self, name)]
        if empty:  # a row that cannot say what produced it would defeat version-aware re-runs
            raise ValueError(f"lineage needs a non-empty {', '.join(empty)}")

    def columns(self) -> dict[str, str]:
        """The lineage columns of a row: `run_id`, `pipeline_version`, `model_version`."""
        return {"run_id": self.run_id, "pipeline_version": self.pipeline_version, "model_version": self.model_version}


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class PageMeta:
    """What an HTML page says about itself (trafilatura's metadata, htmldate's dates)."""

    title: str | None = None
    description: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    source_name: str | None = None
    url: str | None = None
    tags: tuple[str, ...] = ()


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class RawDoc:
    """A decoded input file (extract stage output).

    For an HTML page `text` is the extracted main text (headline first), and `page` holds the
    page's own metadata; for plain text `page` is None.
    """

    source_path: str
    doc_id: str
    text: str
    encoding: str
    n_bytes: int
    input_sha256: str = ""  # SHA-256 of the input file's bytes, for lineage
    page: PageMeta | None = None
    duplicate_of: str | None = None  # an exact copy: doc_id of the first document with this content


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class RemovedLine:
    """A non-blank input line left out of the body, with its 1-based line number and reason."""

    line_no: int
    text: str
    reason: RemovalReason


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Cleaned:
    """What the cleaner makes of one text: metadata, the body and every removed line."""

    body: str
    removed: tuple[RemovedLine, ...] = ()
    title: str | None = None
    subtitle: str | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    page_date: date | None = None
    author: str | None = None
    dateline: str | None = None
    tags: tuple[str, ...] = ()
    source_name: str | None = None
    source_url: str | None = None


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class CleanDoc:
    """A cleaned document (clean stage output), with what the later steps need to know of it:
    the body's language, its MinHash signature (`transforms.dedup.minhash`; None for a body
    without words) and the document it copies, exactly (from the input) or nearly."""

    raw: RawDoc
    cleaned: Cleaned
    language: str = ""
    signature: bytes | None = None
    duplicate_of: str | None = None

    @property
    def doc_id(self) -> str:
        return self.raw.doc_id

    @property
    def source_path(self) -> str:
        return self.raw.source_path

    @property
    def input_sha256(self) -> str:
        return self.raw.input_sha256


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class SentenceSpan:
    """A sentence as character offsets into the body (end exclusive)."""

    start_char: int
    end_char: int


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class MentionSpan:
    """A named-entity mention: offsets into the body (end exclusive), text, label, the entity key
    after in-document resolution, and whether it names a person (its label, or its resolution)."""

    start_char: int
    end_char: int
    text: str
    label: str
    sentence_id: int
    entity_key: str
    is_person: bool = False


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class QuoteSpan:
    """A quotation: offsets of the quoted text (marks excluded), the speaker as written and the
    mention it resolves to (index into the document's mentions), both None when unattributed."""

    start_char: int
    end_char: int
    speaker_text: str | None
    speaker_mention: int | None


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class AnnotatedDoc:
    """A cleaned document with its sentences and mentions (annotate stage output)."""

    doc: CleanDoc
    sentences: tuple[SentenceSpan, ...] = ()
    mentions: tuple[MentionSpan, ...] = ()
    quotes: tuple[QuoteSpan, ...] = ()

    @property
    def doc_id(self) -> str:
        return self.doc.doc_id

    @property
    def source_path(self) -> str:
        return self.doc.source_path

    @property
    def input_sha256(self) -> str:
        return self.doc.input_sha256


#: What annotating one body gives: its sentences, mentions and quotations.
Annotation = tuple[tuple[SentenceSpan, ...], tuple[MentionSpan, ...], tuple[QuoteSpan, ...]]


def attach_annotations(
    docs: Mapping[str, CleanDoc], done: Iterable[tuple[str, Annotation]], failed: Iterable[tuple[str, str]]
) -> tuple[list[AnnotatedDoc], list[Rejection]]:
    """What `transforms.annotate.annotate_bodies` returned, joined back to the cleaned documents
    (by doc_id): the annotated documents in order, and an `annotation_error` rejection per
    document that failed. Here rather than beside spaCy, so that the flow's process can join
    what its workers annotated without importing spaCy."""
    return (
        [AnnotatedDoc(docs[doc_id], *annotation) for doc_id, annotation in done],
        [Rejection(docs[doc_id].source_path, Stage.ANNOTATE, QuarantineReason.ANNOTATION_ERROR, detail, doc_id, docs[doc_id].raw.input_sha256)
         for doc_id, detail in failed],
    )
