"""Frames the data-quality gates check: table rows plus derived boolean check columns.

Each function takes rows and returns new rows (the inputs are not changed) with the extra
columns the contract in `schemas.contracts` names. Empty input gives empty output.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from transforms.extract import control_char_ratio
from transforms.records import RawDoc, Rejection

Row = dict[str, Any]


def extracted_frame(docs: Iterable[RawDoc]) -> list[Row]:
    """One row per decoded input: ids, input hash, sizes, encoding and the share of control characters."""
    return [
        {
            "doc_id": d.doc_id,
            "source_path": d.source_path,
            "input_sha256": d.input_sha256,
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


def paragraphs_of(raw_text: str) -> str:
    """What cleaning may make of a text at most: every non-blank line, stripped, one paragraph
    each (separated by a blank line). The cleaner only leaves lines out of it, so a body is never
    longer: a text with one newline between paragraphs gets one character more per break, which
    is not text the cleaner invented."""
    return "\n\n".join(line.strip() for line in raw_text.split("\n") if line.strip())


def documents_frame(rows: Iterable[Mapping[str, Any]], raw_text: Mapping[str, str]) -> list[Row]:
    """`documents` rows with `body_ratio` (body over `paragraphs_of` the raw text; 0.0 for an
    empty text) and `body_is_substring`."""
    out = []
    for row in rows:
        raw = raw_text[row["doc_id"]]
        body = row["body"] or ""
        most = len(paragraphs_of(raw))
        out.append({**row, "body_ratio": len(body) / most if most else 0.0, "body_is_substring": body_is_substring(body, raw)})
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


def sentence_coverage(body: str, spans: Iterable[tuple[int, int]]) -> float:
    """Share of the body's non-whitespace characters that lie inside a sentence (1.0 for a
    body with no such characters)."""
    total = _non_space(body)
    if not total:
        return 1.0
    inside, reached = 0, 0
    for start, end in sorted(spans):  # overlapping spans count once
        start, end = max(start, reached, 0), min(end, len(body))
        if start < end:
            inside += _non_space(body[start:end])
            reached = end
    return inside / total


def _non_space(text: str) -> int:
    """Characters of `text` that are not whitespace (`str.isspace`), counted at C speed."""
    return sum(map(len, text.split()))


def annotated_frame(documents: Iterable[Mapping[str, Any]], sentences: Iterable[Mapping[str, Any]], *, annotated_ids: Collection[str]) -> list[Row]:
    """One row per document: `sentence_coverage` for annotated documents, None for the others
    (documents in languages the model does not read are loaded without annotation)."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for row in sentences:
        spans.setdefault(row["doc_id"], []).append((row["start_char"], row["end_char"]))
    return [
        {
            "doc_id": row["doc_id"],
            "language": row.get("language"),
            "sentence_coverage": sentence_coverage(row["body"], spans.get(row["doc_id"], [])) if row["doc_id"] in annotated_ids else None,
        }
        for row in documents
    ]


def run_frame(
    *,
    run_id: str,
    n_new: int,
    rejections: Sequence[Rejection],
    entity_density: float | None,
    recent_densities: Sequence[float],
) -> list[Row]:
    """The one-row frame of run-level checks.

    `quarantined` summarises the rejections by reason with an example path each;
    `quarantined_fraction` is quarantined over new inputs (None when there were none);
    `entity_density_ratio` is this run's mentions per 1,000 annotated characters over the
    median of recent runs' (None without a density or without recent runs).
    """
    ratio = None
    recent = sorted(d for d in recent_densities if d)
    if entity_density is not None and recent:
        median = recent[len(recent) // 2] if len(recent) % 2 else (recent[len(recent) // 2 - 1] + recent[len(recent) // 2]) / 2
        ratio = entity_density / median
    by_reason: dict[str, list[str]] = {}
    for r in rejections:
        by_reason.setdefault(r.reason.value, []).append(r.source_path)
    summary = "; ".join(f"{len(p)} {reason} (e.g. {p[0]})" for reason, p in sorted(by_reason.items(), key=lambda kv: -len(kv[1])))
    return [
        {
            "run_id": run_id,
            "quarantined": summary or "none",
            "quarantined_fraction": len(rejections) / n_new if n_new else None,
            "entity_density_ratio": ratio,
        }
    ]


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
    all_mentions: Iterable[Mapping[str, Any]],
    sentence_entities: Iterable[Mapping[str, Any]],
    run: Sequence[Mapping[str, Any]],
) -> dict[str, list[Row]]:
    """The frames of the load gate: documents with `already_loaded`, mentions with
    `document_exists` and `entity_exists`, entities with `counts_match_mentions` (recounted
    from `all_mentions`, the loaded and the new ones) and `counts_match_sentences` (the
    entity's mentions summed over `sentence_entities` rows, with its name and label there),
    and the run frame."""
    doc_ids = {row["doc_id"] for row in documents} | set(loaded_doc_ids)
    entity_ids = {row["entity_id"] for row in entities}
    n_mentions: dict[str, int] = {}
    docs_of: dict[str, set[str]] = {}
    for row in all_mentions:
        n_mentions[row["entity_id"]] = n_mentions.get(row["entity_id"], 0) + 1
        docs_of.setdefault(row["entity_id"], set()).add(row["doc_id"])
    in_sentences: dict[str, int] = {}
    described: dict[str, set[tuple[str, str]]] = {}
    for row in sentence_entities:
        in_sentences[row["entity_id"]] = in_sentences.get(row["entity_id"], 0) + row["n_mentions"]
        described.setdefault(row["entity_id"], set()).add((row["name"], row["label"]))
    return {
        "documents": [{**row, "already_loaded": row["doc_id"] in loaded_doc_ids} for row in documents],
        "mentions": [
            {**row, "document_exists": row["doc_id"] in doc_ids, "entity_exists": row["entity_id"] in entity_ids}
            for row in mentions
        ],
        "entities": [
            {
                **row,
                "counts_match_mentions": n_mentions.get(row["entity_id"], 0) == row["n_mentions"]
                and len(docs_of.get(row["entity_id"], ())) == row["n_documents"],
                "counts_match_sentences": in_sentences.get(row["entity_id"], 0) == row["n_mentions"]
                and described.get(row["entity_id"]) == {(row["name"], row["label"])},
            }
            for row in entities
        ],
        "run": [dict(row) for row in run],
    }
