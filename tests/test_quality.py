"""The great_expectations gates: real suites on small frames."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from flows.quality import QualityGateFailed, validate_stage
from schemas import CONTRACT, Stage
from transforms.checks import annotated_frame, mentions_frame, quotes_frame, run_frame, sentences_frame

BODY = "Putin met Erdogan in Sochi."


def _mention(start: int, end: int, text: str, label: str = "PERSON") -> dict[str, object]:
    return {"doc_id": "d1", "mention_id": 0, "sentence_id": 0, "start_char": start, "end_char": end,
            "text": text, "label": label, "entity_id": "e1", "run_id": "r"}


def _annotate_frames(mentions: list[dict[str, object]]) -> dict[str, list[dict[str, object]]]:
    sentences = [{"doc_id": "d1", "sentence_id": 0, "start_char": 0, "end_char": len(BODY), "run_id": "r"}]
    documents = [{"doc_id": "d1", "body": BODY, "language": "en"}]
    return {
        "mentions": mentions_frame(mentions, {"d1": BODY}, {("d1", 0): (0, len(BODY))}),
        "sentences": sentences_frame(sentences, {"d1": BODY}),
        "annotated": annotated_frame(documents, sentences, annotated_ids={"d1"}),
        "quotes": quotes_frame([], {"d1": BODY}),
    }


def test_good_annotations_pass_and_every_expectation_is_recorded() -> None:
    check = validate_stage(Stage.ANNOTATE, _annotate_frames([_mention(0, 5, "Putin"), _mention(10, 17, "Erdogan")]), run_id="r")
    assert len(check.dq_rows) == len(CONTRACT[Stage.ANNOTATE])
    assert all(row["success"] for row in check.dq_rows)
    assert check.quarantined == {}


def test_offsets_that_do_not_slice_back_quarantine_that_document_with_the_check_and_value() -> None:
    bad = _mention(1, 6, "Putin")
    bad["doc_id"] = "doc-with-shifted-offsets"
    frames = _annotate_frames([_mention(0, 5, "Putin")])
    frames["mentions"] += mentions_frame([bad], {"doc-with-shifted-offsets": BODY}, {})
    check = validate_stage(Stage.ANNOTATE, frames, run_id="r")
    assert set(check.quarantined) == {"doc-with-shifted-offsets"}
    reason, detail = check.quarantined["doc-with-shifted-offsets"]
    assert reason.value == "failed_check"
    assert "slice_matches = False" in detail and "expect_column_values_to_be_in_set" in detail
    failed = [row for row in check.dq_rows if not row["success"]]
    assert {row["column_name"] for row in failed} == {"slice_matches", "in_sentence"}
    assert json.loads(failed[0]["observed"])["unexpected_count"] == 1


def test_a_label_outside_the_allowed_set_quarantines_its_document() -> None:
    check = validate_stage(Stage.ANNOTATE, _annotate_frames([_mention(0, 5, "Putin", label="DATE")]), run_id="r")
    assert check.quarantined["d1"][0].value == "failed_check" and "label = DATE" in check.quarantined["d1"][1]


def test_a_body_longer_than_its_input_quarantines_that_document_only() -> None:
    documents = [
        {"doc_id": d, "title": "T", "body": "x" * 500, "body_ratio": ratio, "body_is_substring": True, "n_chars_body": 500}
        for d, ratio in (("fine", 0.9), ("grown", 1.0006))
    ]
    check = validate_stage(Stage.CLEAN, {"documents": documents}, run_id="r", params={"min_body_chars": 200})
    assert set(check.quarantined) == {"grown"}
    reason, detail = check.quarantined["grown"]
    assert reason.value == "failed_check" and "body_ratio = 1.0006" in detail and "cleaning never adds text" in detail


def test_only_batch_properties_stop_a_run() -> None:
    """Every `stop` expectation is about the batch as a whole (uniqueness, ids every row has,
    the run frame): none is a property one document can fail alone."""
    stops = {(stage.value, spec.frame, spec.kind, spec.column) for stage, specs in CONTRACT.items() for spec in specs if spec.action.value == "stop"}
    assert stops == {
        ("extract", "extracted", "ExpectColumnValuesToNotBeNull", "doc_id"),
        ("extract", "extracted", "ExpectColumnValuesToBeUnique", "doc_id"),
        ("extract", "extracted", "ExpectColumnValuesToNotBeNull", "source_path"),
        ("clean", "documents", "ExpectColumnValuesToBeUnique", "doc_id"),
        ("load", "entity_keys", "ExpectColumnValuesToBeUnique", "alias_key"),
        ("load", "entity_keys", "ExpectColumnValuesToNotBeNull", "entity_id"),
        ("load", "run", "ExpectColumnValuesToBeBetween", "quarantined_fraction"),
        ("load", "run", "ExpectColumnValuesToBeBetween", "entity_density_ratio"),
    }


def test_a_warning_is_recorded_but_does_not_stop_the_run() -> None:
    documents = [
        {"doc_id": f"d{i}", "title": None, "body": "Editor's Picks and a story.", "body_ratio": 0.5,
         "body_is_substring": True, "n_chars_body": 500}
        for i in range(3)
    ]
    check = validate_stage(Stage.CLEAN, {"documents": documents}, run_id="r", params={"min_body_chars": 200})
    failed = {(row["column_name"], row["critical"]) for row in check.dq_rows if not row["success"]}
    assert failed == {("title", False), ("body", False)}
    assert check.quarantined == {}


def test_a_quarantine_expectation_sets_aside_exactly_the_failing_documents() -> None:
    documents = [
        {"doc_id": f"d{i}", "title": "T", "body": "x" * n, "body_ratio": 0.5, "body_is_substring": True, "n_chars_body": n}
        for i, n in enumerate([500, 50, 300, 10])
    ]
    check = validate_stage(Stage.CLEAN, {"documents": documents}, run_id="r", params={"min_body_chars": 200})
    assert set(check.quarantined) == {"d1", "d3"}
    reason, detail = check.quarantined["d1"]
    assert reason.value == "body_too_short" and "n_chars_body = 50" in detail


def test_an_empty_stage_output_passes_column_checks() -> None:
    check = validate_stage(Stage.EXTRACT, {"extracted": []}, run_id="r", params={"max_file_bytes": 1000})
    assert all(row["success"] for row in check.dq_rows)


def test_a_missing_column_fails_the_gate_and_says_which() -> None:
    frame = [{"doc_id": "a", "source_path": "x", "n_chars": 3, "n_bytes": 3, "encoding": "utf-8"}]
    with pytest.raises(QualityGateFailed, match='column "control_char_ratio" in BatchData does not exist'):
        validate_stage(Stage.EXTRACT, {"extracted": frame}, run_id="r", params={"max_file_bytes": 1000})


def test_a_missing_parameter_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="max_file_bytes"):
        validate_stage(Stage.EXTRACT, {"extracted": []}, run_id="r")


def test_the_run_frame_counts_the_quarantine_by_reason_against_the_new_inputs() -> None:
    (row,) = run_frame(run_id="r", n_new=8, quarantined={"empty": (3, "in/a.txt"), "binary": (1, "in/b.bin")},
                       entity_density=2.0, recent_densities=[1.0, 4.0, 3.0])
    assert row["quarantined"] == "3 empty (e.g. in/a.txt); 1 binary (e.g. in/b.bin)"
    assert row["quarantined_fraction"] == 0.5 and row["entity_density_ratio"] == 2.0 / 3.0
    (none,) = run_frame(run_id="r", n_new=0, quarantined={}, entity_density=None, recent_densities=[])
    assert none["quarantined"] == "none" and none["quarantined_fraction"] is None and none["entity_density_ratio"] is None


# dateutil reads the digits before "ad" (a filler word to it) as a UTC offset: 67 h 24 min for
# "-6684ad", which GX cannot handle (the gate failed for a run id in about 1,800)
@pytest.mark.parametrize("run_id", ["20261122T120337Z-6684ad", "20261122T120337Z-0130ad"])
def test_a_run_id_that_parses_as_a_date_is_checked(run_id: str) -> None:
    check = validate_stage(Stage.EXTRACT, {"extracted": []}, run_id=run_id, params={"max_file_bytes": 1000})
    assert check.dq_rows and all(row["success"] for row in check.dq_rows)
