"""Stage records to table rows (dicts keyed by the column names in `schemas.tables`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from transforms.entities import entity_id
from transforms.records import AnnotatedDoc, CleanDoc, Rejection

Row = dict[str, Any]


def document_row(doc: CleanDoc, *, run_id: str, ingested_at: datetime) -> Row:
    """The `documents` row of a cleaned document."""
    c = doc.cleaned
    return {
        "doc_id": doc.doc_id,
        "source_path": doc.source_path,
        "title": c.title,
        "subtitle": c.subtitle,
        "published_at": c.published_at,
        "updated_at": c.updated_at,
        "page_date": c.page_date,
        "author": c.author,
        "dateline": c.dateline,
        "tags": list(c.tags) or None,
        "source_name": c.source_name,
        "source_url": c.source_url,
        "body": c.body,
        "n_chars_raw": len(doc.raw.text),
        "n_chars_body": len(c.body),
        "encoding": doc.raw.encoding,
        "run_id": run_id,
        "ingested_at": ingested_at,
    }


def removed_line_rows(doc: CleanDoc, *, run_id: str) -> list[Row]:
    """The `removed_lines` rows of a cleaned document, in line order."""
    return [
        {"doc_id": doc.doc_id, "line_no": r.line_no, "text": r.text, "reason": r.reason.value, "run_id": run_id}
        for r in doc.cleaned.removed
    ]


def sentence_rows(ann: AnnotatedDoc, *, run_id: str) -> list[Row]:
    """The `sentences` rows of an annotated document, numbered from 0."""
    return [
        {"doc_id": ann.doc.doc_id, "sentence_id": i, "start_char": s.start_char, "end_char": s.end_char, "run_id": run_id}
        for i, s in enumerate(ann.sentences)
    ]


def mention_rows(ann: AnnotatedDoc, *, run_id: str) -> list[Row]:
    """The `mentions` rows of an annotated document, numbered from 0, with their entity ids."""
    return [
        {
            "doc_id": ann.doc.doc_id,
            "mention_id": i,
            "sentence_id": m.sentence_id,
            "start_char": m.start_char,
            "end_char": m.end_char,
            "text": m.text,
            "label": m.label,
            "entity_id": entity_id(m.entity_key),
            "run_id": run_id,
        }
        for i, m in enumerate(ann.mentions)
    ]


def quarantine_row(rejection: Rejection, *, run_id: str, at: datetime) -> Row:
    """The `quarantine` row of a rejected input."""
    return {
        "source_path": rejection.source_path,
        "stage": rejection.stage.value,
        "reason": rejection.reason.value,
        "detail": rejection.detail,
        "doc_id": rejection.doc_id,
        "run_id": run_id,
        "quarantined_at": at,
    }
