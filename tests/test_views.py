"""The analytical views, on a small lake written through the schemas; expected rows by hand.

The lake: d1 (wire/a.txt, published Monday 2026-11-16) loaded by r1 and reprocessed by r2 with a
new model; d2 (wire/b.txt, only a page date, Tuesday 2026-11-17); d3 (blog/c.txt, published
2026-11-23, a near-duplicate of d1, not annotated). Entities e1 Putin, e2 Erdogan, e3 Idlib.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from warehouse.duck import query, refresh_views, view_files
from warehouse.lake import Lake

from .conftest import ROOT

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)
#: The lineage columns of run r1 (model m==1) and r2 (model m==2).
LINEAGE = {"r1": {"run_id": "r1", "pipeline_version": "0.1.0", "model_version": "m==1"},
           "r2": {"run_id": "r2", "pipeline_version": "0.1.0", "model_version": "m==2"}}


def _doc(doc_id: str, path: str, run_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "doc_id": doc_id, "source_path": path, "title": doc_id.upper(), "body": f"Body of {doc_id}.", "n_chars_raw": 20,
        "n_chars_body": 11, "encoding": "utf-8", "language": "en", "ingested_at": T0, "input_sha256": "0" * 64,
        **LINEAGE[run_id], **extra,
    }


NAMES = {"e1": "Putin", "e2": "Erdogan", "e3": "Idlib"}


def _mentions(doc_id: str, run_id: str, pairs: list[tuple[int, str]]) -> list[dict[str, Any]]:
    return [
        {"doc_id": doc_id, "mention_id": i, "sentence_id": s, "start_char": 0, "end_char": 4, "text": NAMES[e],
         "label": "PERSON", "entity_id": e, "entity_key": e, "full_name": False, "input_sha256": "0" * 64, **LINEAGE[run_id]}
        for i, (s, e) in enumerate(pairs)
    ]


def _key(key: str, entity: str, run_id: str = "r1", **extra: Any) -> dict[str, Any]:
    return {"alias_key": key, "entity_id": entity, "n_mentions": 1, "labels": [("PERSON", 1)], "acronym": False,
            "short_forms": [], "blocks": None, "chunk": 0, **LINEAGE[run_id], **extra}


def _run(run_id: str, seconds: int, n_loaded: int, n_duplicates: int) -> dict[str, Any]:
    return {
        "run_id": run_id, "started_at": T0, "finished_at": T0.replace(second=seconds), "status": "completed",
        "n_input": 3, "n_loaded": n_loaded, "n_skipped": 0, "n_quarantined": 0, "n_duplicates": n_duplicates,
        "n_mentions": 0, "extract_s": 0.0, "clean_s": 0.0, "annotate_s": 0.0, "quality_s": 0.0, "load_s": 0.0,
        "model": LINEAGE[run_id]["model_version"], **LINEAGE[run_id],
    }


def _quarantine(path: str, stage: str, reason: str) -> dict[str, Any]:
    return {"source_path": path, "stage": stage, "reason": reason, "detail": "-", "quarantined_at": T0, **LINEAGE["r1"]}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake(tmp_path_factory.mktemp("views"))
    d1_r1 = _mentions("d1", "r1", [(0, "e1"), (0, "e3")])
    d2_r1 = _mentions("d2", "r1", [(0, "e1"), (0, "e2")])
    d1_r2 = _mentions("d1", "r2", [(0, "e1"), (0, "e2"), (0, "e1"), (1, "e1"), (1, "e3")])  # e1 twice in sentence 0
    with lake.lock():
        lake.commit("r1", {
            "documents": [
                _doc("d1", "in/wire/a.txt", "r1", published_at=datetime(2026, 11, 16, 9, 0)),
                _doc("d2", "in/wire/b.txt", "r1", page_date=date(2026, 11, 17)),
                _doc("d3", "in/blog/c.txt", "r1", published_at=datetime(2026, 11, 23, 9, 0), duplicate_of="d1"),
            ],
            "mentions": d1_r1 + d2_r1,
            "sentences": [], "removed_lines": [],
            "quarantine": [_quarantine("x", "extract", "empty"), _quarantine("y", "extract", "empty"),
                           _quarantine("z", "extract", "binary"), _quarantine("w", "clean", "empty_body")],
            "dq_results": [], "runs": [_run("r1", 10, 3, 1)], "quotes": [], "signatures": [],
            "entity_keys": [_key(e, e) for e in ("e1", "e2", "e3")],
        }, ingest_date=date(2026, 11, 21))
        lake.commit("r2", {
            "documents": [_doc("d1", "in/wire/a.txt", "r2", published_at=datetime(2026, 11, 16, 9, 0))],
            "mentions": d1_r2,
            "entity_keys": [_key(e, e, "r2") for e in ("e1", "e2", "e3")],
            "runs": [_run("r2", 5, 1, 0)],
        }, ingest_date=date(2026, 11, 21))
    refresh_views(lake)
    return lake


def _rows(lake: Lake, sql: str) -> list[tuple[Any, ...]]:
    return query(lake.data_dir, sql).rows


def test_documents_keep_the_latest_version_of_each_document(lake: Lake) -> None:
    assert _rows(lake, "select doc_id, run_id, model_version from documents order by doc_id") == [
        ("d1", "r2", "m==2"), ("d2", "r1", "m==1"), ("d3", "r1", "m==1")]


def test_mentions_are_those_of_the_latest_version(lake: Lake) -> None:
    assert _rows(lake, "select doc_id, run_id, count(*) from mentions group by all order by doc_id") == [("d1", "r2", 5), ("d2", "r1", 2)]


def test_sentence_entities_count_the_mentions_the_views_show(lake: Lake) -> None:
    assert _rows(lake, "select doc_id, sentence_id, entity_id, name, n_mentions from sentence_entities order by all") == [
        ("d1", 0, "e1", "Putin", 2), ("d1", 0, "e2", "Erdogan", 1), ("d1", 1, "e1", "Putin", 1),
        ("d1", 1, "e3", "Idlib", 1), ("d2", 0, "e1", "Putin", 1), ("d2", 0, "e2", "Erdogan", 1),
    ]


def test_entities_and_aliases_count_the_mentions_the_views_show(lake: Lake) -> None:
    # d1's r1 mentions are superseded by r2's: e1 three times in d1 and once in d2
    assert _rows(lake, "select entity_id, name, label, n_mentions, n_documents from entities order by entity_id") == [
        ("e1", "Putin", "PERSON", 4, 2), ("e2", "Erdogan", "PERSON", 2, 2), ("e3", "Idlib", "PERSON", 1, 1)]
    assert _rows(lake, "select * from entity_aliases order by entity_id") == [
        ("e1", "Putin", "e1", 4, 2), ("e2", "Erdogan", "e2", 2, 2), ("e3", "Idlib", "e3", 1, 1)]


def _named(tmp_path: Path, forms: list[tuple[str, str, bool]], keys: list[dict[str, Any]] | None = None) -> Lake:
    """A lake with one document whose mentions (text, label, full_name) all resolve to entity x."""
    lake = Lake(tmp_path)
    mentions = [
        {"doc_id": "d1", "mention_id": i, "sentence_id": 0, "start_char": 0, "end_char": 1, "text": text, "label": label,
         "entity_id": "x", "entity_key": "k", "full_name": full, "input_sha256": "0" * 64, **LINEAGE["r1"]}
        for i, (text, label, full) in enumerate(forms)
    ]
    with lake.lock():
        lake.commit("r1", {"documents": [_doc("d1", "in/a.txt", "r1")], "mentions": mentions, "entity_keys": keys or [_key("k", "x")]})
    refresh_views(lake)
    return lake


@pytest.mark.parametrize(
    ("forms", "name"),
    [
        ([("Erdogan", "PERSON", False), ("Erdogan", "PERSON", False), ("Recep Tayyip Erdogan", "PERSON", True)], "Recep Tayyip Erdogan"),
        ([("Tim Henman", "PERSON", True)] * 2 + [("Briton Tim Henman", "PERSON", True), ("Henman", "PERSON", False)], "Tim Henman"),
        ([("Idlib", "GPE", False)] * 3, "Idlib"),
        ([("al-Assad", "PERSON", True)] * 3 + [("Assad", "PERSON", False)], "al-Assad"),  # one word as written: no full name
        ([("Recep\u00a0Erdogan", "PERSON", True), ("Erdogan", "PERSON", False), ("Erdogan", "PERSON", False)], "Recep\u00a0Erdogan"),
    ],
)
def test_an_entity_is_named_by_its_most_frequent_full_name_else_its_most_frequent_form(
    tmp_path: Path, forms: list[tuple[str, str, bool]], name: str
) -> None:
    assert _rows(_named(tmp_path, forms), "select name from entities") == [(name,)]


@pytest.mark.parametrize(
    ("forms", "label"),
    [
        ([("Samer Khlioui", "PERSON", True), ("Khlioui", "GPE", False), ("Khlioui", "GPE", False)], "PERSON"),
        ([("Idlib", "GPE", False), ("Idlib", "ORG", False), ("Idlib", "GPE", False)], "GPE"),
        ([("Hayat Tahrir", "ORG", True), ("Hayat Tahrir", "GPE", True), ("HTS", "GPE", False)], "GPE"),  # a tie: alphabetical
    ],
)
def test_full_name_mentions_vote_the_label_and_short_ones_only_without_them(tmp_path: Path, forms: list[tuple[str, str, bool]], label: str) -> None:
    assert _rows(_named(tmp_path, forms), "select label from entities") == [(label,)]


def test_the_alias_files_name_and_label_win(tmp_path: Path) -> None:
    keys = [_key("k", "x", fixed_name="Türkiye", fixed_label="GPE")]
    lake = _named(tmp_path, [("Turkey", "ORG", False)] * 2, keys)
    assert _rows(lake, "select name, label, n_mentions from entities") == [("Türkiye", "GPE", 2)]


def test_documents_per_source_and_day(lake: Lake) -> None:
    assert _rows(lake, "select * from documents_per_source_day order by source, day") == [
        ("blog", date(2026, 11, 23), 1, 0, 1, 11),
        ("wire", date(2026, 11, 16), 1, 1, 0, 11),
        ("wire", date(2026, 11, 17), 1, 1, 0, 11),
    ]


def test_top_entities_per_week(lake: Lake) -> None:
    assert _rows(lake, "select week, rank, name, n_mentions, n_documents from top_entities_weekly order by week, rank") == [
        (date(2026, 11, 16), 1, "Putin", 4, 2),
        (date(2026, 11, 16), 2, "Erdogan", 2, 2),
        (date(2026, 11, 16), 3, "Idlib", 1, 1),
    ]


def test_entity_cooccurrence_per_day(lake: Lake) -> None:
    assert _rows(lake, "select * from entity_cooccurrence_daily order by day, entity_a, entity_b") == [
        (date(2026, 11, 16), "e1", "e2", 1, 1),
        (date(2026, 11, 16), "e1", "e3", 1, 1),
        (date(2026, 11, 17), "e1", "e2", 1, 1),
    ]


def test_entity_pairs_per_document(lake: Lake) -> None:
    # d1 (r2) names e1 three times, e2 and e3 once; d2 names e1 and e2 and has no published date
    assert _rows(lake, "select * from entity_pairs_by_document order by doc_id, entity_a, entity_b") == [
        ("d1", date(2026, 11, 16), "e1", "Putin", "PERSON", "e2", "Erdogan", "PERSON", 3, 1),
        ("d1", date(2026, 11, 16), "e1", "Putin", "PERSON", "e3", "Idlib", "PERSON", 3, 1),
        ("d1", date(2026, 11, 16), "e2", "Erdogan", "PERSON", "e3", "Idlib", "PERSON", 1, 1),
        ("d2", None, "e1", "Putin", "PERSON", "e2", "Erdogan", "PERSON", 1, 1),
    ]


def test_entity_pairs_per_sentence(lake: Lake) -> None:
    assert _rows(lake, "select * from entity_pairs_by_sentence order by doc_id, sentence_id, entity_a, entity_b") == [
        ("d1", 0, date(2026, 11, 16), "e1", "Putin", "PERSON", "e2", "Erdogan", "PERSON"),
        ("d1", 1, date(2026, 11, 16), "e1", "Putin", "PERSON", "e3", "Idlib", "PERSON"),
        ("d2", 0, None, "e1", "Putin", "PERSON", "e2", "Erdogan", "PERSON"),
    ]


def test_quarantine_by_reason(lake: Lake) -> None:
    assert _rows(lake, "select stage, reason, n_files, n_paths, n_runs from quarantine_by_reason order by stage, reason") == [
        ("clean", "empty_body", 1, 1, 1), ("extract", "binary", 1, 1, 1), ("extract", "empty", 2, 2, 1)]


def test_run_history(lake: Lake) -> None:
    assert _rows(lake, "select run_id, status, seconds, n_loaded, n_duplicates, documents_per_second from run_history order by run_id") == [
        ("r1", "completed", 10.0, 3, 1, 0.3), ("r2", "completed", 5.0, 1, 0, 0.2)]


def test_every_view_has_a_unique_key_and_no_null_keys(lake: Lake) -> None:
    keys = {
        "documents": "doc_id", "document_dates": "doc_id", "documents_per_source_day": "source, day",
        "top_entities_weekly": "week, entity_id", "entity_cooccurrence_daily": "day, entity_a, entity_b",
        "quarantine_by_reason": "stage, reason", "run_history": "run_id",
        "entity_pairs_by_document": "doc_id, entity_a, entity_b",
        "entity_pairs_by_sentence": "doc_id, sentence_id, entity_a, entity_b",
        "sentence_entities": "doc_id, sentence_id, entity_id",
        "entities": "entity_id", "entity_aliases": "entity_id, alias, alias_key",
    }
    for view, key in keys.items():
        assert _rows(lake, f"select count(*) = count(distinct ({key})) from {view}") == [(True,)], view
        first = key.split(",")[0]
        assert _rows(lake, f"select count(*) from {view} where {first} is null") == [(0,)], view


def test_every_view_file_is_documented_in_the_readme(lake: Lake) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in view_files():
        assert f"`{name}`" in readme, name


def test_views_over_a_lake_without_mentions_are_left_out(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    with lake.lock():
        lake.commit("r1", {"runs": [_run("r1", 10, 0, 0)], "quarantine": []})
    assert set(refresh_views(lake)) == {"runs", "quarantine", "quarantine_by_reason", "run_history"}
