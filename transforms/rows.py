"""Stage records to table rows (dicts keyed by the column names in `schemas.tables`).

Every row carries its lineage (`Lineage`: run id, pipeline and model versions); the rows of a
document's tables also carry the SHA-256 of the input file it was read from.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from transforms.dedup import band_keys
from transforms.entities import entity_id, entity_key
from transforms.records import AnnotatedDoc, CleanDoc, Lineage, Rejection
from transforms.resolve import AliasRules, KeyStats, resolution_blocks

Row = dict[str, Any]


def document_row(doc: CleanDoc, *, lineage: Lineage, ingested_at: datetime) -> Row:
    """The `documents` row of a cleaned document, with its lineage (input hash, versions)."""
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
        "language": doc.language,
        "ingested_at": ingested_at,
        "input_sha256": doc.raw.input_sha256,
        "duplicate_of": doc.duplicate_of,
        **lineage.columns(),
    }


def removed_line_rows(doc: CleanDoc, *, lineage: Lineage) -> list[Row]:
    """The `removed_lines` rows of a cleaned document, in line order."""
    return [
        {"doc_id": doc.doc_id, "line_no": r.line_no, "text": r.text, "reason": r.reason.value,
         "input_sha256": doc.raw.input_sha256, **lineage.columns()}
        for r in doc.cleaned.removed
    ]


def sentence_rows(ann: AnnotatedDoc, *, lineage: Lineage) -> list[Row]:
    """The `sentences` rows of an annotated document, numbered from 0."""
    return [
        {"doc_id": ann.doc.doc_id, "sentence_id": i, "start_char": s.start_char, "end_char": s.end_char,
         "input_sha256": ann.doc.raw.input_sha256, **lineage.columns()}
        for i, s in enumerate(ann.sentences)
    ]


def mention_rows(ann: AnnotatedDoc, *, lineage: Lineage) -> list[Row]:
    """The `mentions` rows of an annotated document, numbered from 0. `entity_id` is the id of
    the mention's own key (`entity_id(entity_key)`) until the chunk's keys are resolved and the
    resolved one replaces it (`with_entities`)."""
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
            "entity_key": m.entity_key,
            "full_name": len(entity_key(m.text).split()) >= 2,
            "input_sha256": ann.doc.raw.input_sha256,
            **lineage.columns(),
        }
        for i, m in enumerate(ann.mentions)
    ]


def with_lineage(rows: Iterable[Mapping[str, Any]], lineage: Lineage) -> list[Row]:
    """Copies of rows built elsewhere (entities, entity aliases, data-quality results) with the
    lineage columns set to `lineage`'s (an existing `run_id` is replaced by the same run's)."""
    return [{**row, **lineage.columns()} for row in rows]


def quote_rows(ann: AnnotatedDoc, *, lineage: Lineage) -> list[Row]:
    """The `quotes` rows of an annotated document, numbered from 0; the speaker's entity is that
    of the speaker's mention (`speaker_key`), its own key's id until the chunk's keys are resolved,
    as in `mention_rows`."""
    body = ann.doc.cleaned.body
    starts = [s.start_char for s in ann.sentences]
    rows = []
    for i, q in enumerate(ann.quotes):
        speaker = ann.mentions[q.speaker_mention] if q.speaker_mention is not None else None
        rows.append(
            {
                "doc_id": ann.doc.doc_id,
                "quote_id": i,
                "sentence_id": max(bisect_right(starts, q.start_char) - 1, 0),
                "start_char": q.start_char,
                "end_char": q.end_char,
                "text": body[q.start_char : q.end_char],
                "speaker": q.speaker_text,
                "speaker_entity_id": entity_id(speaker.entity_key) if speaker is not None else None,
                "speaker_key": speaker.entity_key if speaker is not None else None,
                "input_sha256": ann.doc.raw.input_sha256,
                **lineage.columns(),
            }
        )
    return rows


def quarantine_row(rejection: Rejection, *, lineage: Lineage, at: datetime) -> Row:
    """The `quarantine` row of a rejected input; `input_sha256` is null when it was not read."""
    return {
        "source_path": rejection.source_path,
        "stage": rejection.stage.value,
        "reason": rejection.reason.value,
        "detail": rejection.detail,
        "doc_id": rejection.doc_id,
        "quarantined_at": at,
        "input_sha256": rejection.input_sha256,
        **lineage.columns(),
    }


def signature_row(doc: CleanDoc, *, lineage: Lineage) -> Row | None:
    """The `signatures` row of an original document (None for a copy or a body without words)."""
    if doc.duplicate_of is not None or doc.signature is None:
        return None
    return {"doc_id": doc.doc_id, "bands": band_keys(doc.signature), "minhash": doc.signature,
            "input_sha256": doc.raw.input_sha256, **lineage.columns()}


def entity_key_rows(
    stats: Mapping[str, KeyStats],
    entity_of: Mapping[str, str],
    *,
    new: Iterable[str],
    rules: AliasRules,
    lineage: Lineage,
    chunk: int,
) -> list[Row]:
    """The `entity_keys` rows of chunk `chunk` of a run: one per key of its mentions, with the
    chunk's counts and the resolved entity; `new` keys (not yet in the lake) also carry their
    blocks; keys the alias file lists carry its name and label when they resolved to its
    entity. Sorted by key; no keys give no rows.

    Raises:
        KeyError: a key the resolution did not cover (a bug: every key is resolved).
    """
    new = set(new)
    fixed = {k: (e.name, e.label) for e in rules.entities for k in e.keys if entity_of.get(k) == e.entity_id}
    return [
        {
            "alias_key": key,
            "entity_id": entity_of[key],
            "n_mentions": s.n_mentions,
            "labels": sorted(s.labels.items()),
            "acronym": s.acronym,
            "short_forms": sorted(s.short_forms),
            "blocks": list(resolution_blocks(key)) if key in new else None,
            "fixed_name": fixed[key][0] if key in fixed else None,
            "fixed_label": fixed[key][1] if key in fixed else None,
            "chunk": chunk,
            **lineage.columns(),
        }
        for key, s in sorted(stats.items())
    ]


def with_entities(rows: Iterable[Row], entity_of: Mapping[str, str], *, column: str, key: str) -> list[Row]:
    """`rows` with `column` set to the resolved entity of their `key` column (`mentions`:
    entity_id by entity_key; `quotes`: speaker_entity_id by speaker_key); rows whose key
    `entity_of` does not name (no speaker, say) keep their value."""
    return [{**row, column: entity_of.get(row[key], row[column])} if row[key] is not None else row for row in rows]
