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


def extracted_frame(docs: Iterable[RawDoc], *, already_loaded: Collection[str] = ()) -> list[Row]:
    """One row per decoded input to process: ids, input hash, sizes, encoding, the share of
    control characters, and `already_loaded` (its doc_id is among `already_loaded`, the lake's
    documents loaded with the run's versions)."""
    return [
        {
            "doc_id": d.doc_id,
            "source_path": d.source_path,
            "input_sha256": d.input_sha256,
            "n_bytes": d.n_bytes,
            "n_chars": len(d.text),
            "encoding": d.encoding,
            "control_char_ratio": control_char_ratio(d.text),
            "already_loaded": d.doc_id in already_loaded,
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
    quarantined: Mapping[str, tuple[int, str]],
    entity_density: float | None,
    recent_densities: Sequence[float],
) -> list[Row]:
    """The one-row frame of run-level checks.

    `quarantined` is reason -> (count, an example path) of the run's rejections; the frame's
    `quarantined` column summarises them; `quarantined_fraction` is quarantined over new inputs
    (None when there were none); `entity_density_ratio` is this run's mentions per 1,000
    annotated characters over the median of recent runs' (None without a density or without
    recent runs).
    """
    ratio = None
    recent = sorted(d for d in recent_densities if d)
    if entity_density is not None and recent:
        median = recent[len(recent) // 2] if len(recent) % 2 else (recent[len(recent) // 2 - 1] + recent[len(recent) // 2]) / 2
        ratio = entity_density / median
    summary = "; ".join(f"{n} {reason} (e.g. {path})" for reason, (n, path) in sorted(quarantined.items(), key=lambda kv: -kv[1][0]))
    total = sum(n for n, _ in quarantined.values())
    return [
        {
            "run_id": run_id,
            "quarantined": summary or "none",
            "quarantined_fraction": total / n_new if n_new else None,
            "entity_density_ratio": ratio,
        }
    ]


def quotes_frame(rows: Iterable[Mapping[str, Any]], bodies: Mapping[str, str]) -> list[Row]:
    """`quotes` rows with `slice_matches` (inside the body and `body[start:end] == text`)."""
    out = []
    for row in rows:
        body = bodies.get(row["doc_id"], "")
        start, end = row["start_char"], row["end_char"]
        out.append({**row, "slice_matches": 0 <= start < end <= len(body) and body[start:end] == row["text"]})
    return out
