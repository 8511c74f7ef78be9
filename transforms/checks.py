"""Frames the data-quality gates check: table rows plus derived boolean check columns.

Each function takes rows and returns new rows (the inputs are not changed) with the extra
columns the contract in `schemas.contracts` names. Empty input gives empty output.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from transforms.extract import control_char_ratio
from transforms.records import RawDoc

Row = dict[str, Any]


def extracted_frame(docs: Iterable[RawDoc]) -> list[Row]:
    """One row per decoded input: ids, sizes, encoding and the share of control characters."""
    return [
        {
            "doc_id": d.doc_id,
            "source_path": d.source_path,
            "n_bytes": d.n_bytes,
            "n_chars": len(d.text),
            "encoding": d.encoding,
            "control_char_ratio": control_char_ratio(d.text),
        }
        for d in docs
    ]


def body_is_substring(body: str, raw_text: str) -> bool:
    """True when every paragraph of `body` is found in `raw_text` (cleaning only removes)."""
    return all(paragraph in raw_text for paragraph in body.split("\n\n") if paragraph)


def documents_frame(rows: Iterable[Mapping[str, Any]], raw_text: Mapping[str, str]) -> list[Row]:
    """`documents` rows with `body_ratio` (body over raw length) and `body_is_substring`."""
    out = []
    for row in rows:
        raw = raw_text[row["doc_id"]]
        body = row["body"] or ""
        out.append({**row, "body_ratio": len(body) / len(raw) if raw else 0.0, "body_is_substring": body_is_substring(body, raw)})
    return out


def mentions_frame(rows: Iterable[Mapping[str, Any]], bodies: Mapping[str, str], sentences: Mapping[tuple[str, int], tuple[int, int]]) -> list[Row]:
    """`mentions` rows with `in_bounds`, `slice_matches` and `in_sentence`."""
    out = []
    for row in rows:
        body = bodies.get(row["doc_id"], "")
        start, end = row["start_char"], row["end_char"]
        sent = sentences.get((row["doc_id"], row["sentence_id"]))
        out.append(
            {
                **row,
                "in_bounds": 0 <= start < end <= len(body),
                "slice_matches": body[start:end] == row["text"],
                "in_sentence": sent is not None and sent[0] <= start < sent[1],
            }
        )
    return out


def sentences_frame(rows: Sequence[Mapping[str, Any]], bodies: Mapping[str, str]) -> list[Row]:
    """`sentences` rows with `in_bounds` and `ordered` (starts after the previous one ends)."""
    out = []
    previous_end: dict[str, int] = {}
    for row in rows:
        doc_id, start, end = row["doc_id"], row["start_char"], row["end_char"]
        body = bodies.get(doc_id, "")
        ordered = start >= previous_end.get(doc_id, 0)
        previous_end[doc_id] = end
        out.append({**row, "in_bounds": 0 <= start < end <= len(body), "ordered": ordered})
    return out


def quotes_frame(rows: Iterable[Mapping[str, Any]], bodies: Mapping[str, str], entity_ids: Collection[str]) -> list[Row]:
    """`quotes` rows with `slice_matches` (inside the body and `body[start:end] == text`) and
    `speaker_exists` (no speaker entity, or one of `entity_ids`)."""
    out = []
    for row in rows:
        body = bodies.get(row["doc_id"], "")
        start, end = row["start_char"], row["end_char"]
        speaker = row["speaker_entity_id"]
        out.append({**row, "slice_matches": 0 <= start < end <= len(body) and body[start:end] == row["text"],
                    "speaker_exists": speaker is None or speaker in entity_ids})
    return out


def load_frames(
    documents: Sequence[Mapping[str, Any]],
    mentions: Sequence[Mapping[str, Any]],
    entities: Sequence[Mapping[str, Any]],
    *,
    loaded_doc_ids: Collection[str],
) -> dict[str, list[Row]]:
    """The frames of the load gate: documents with `already_loaded`, mentions with
    `document_exists` and `entity_exists`, and the entities as they are."""
    doc_ids = {row["doc_id"] for row in documents} | set(loaded_doc_ids)
    entity_ids = {row["entity_id"] for row in entities}
    return {
        "documents": [{**row, "already_loaded": row["doc_id"] in loaded_doc_ids} for row in documents],
        "mentions": [
            {**row, "document_exists": row["doc_id"] in doc_ids, "entity_exists": row["entity_id"] in entity_ids}
            for row in mentions
        ],
        "entities": [dict(row) for row in entities],
    }
