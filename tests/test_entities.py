"""Matching keys, within-document resolution, label voting and the entities table rows."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms.entities import build_entities, build_sentence_entities, display_name, entity_id, entity_key, resolve_in_document, vote_label


@pytest.mark.parametrize(
    ("surface", "key"),
    [
        ("Erdoğan", "erdogan"),
        ("Mr. Erdogan’s", "erdogan"),
        ("Mr Erdogan", "erdogan"),
        ("President Recep Tayyip Erdogan", "recep tayyip erdogan"),
        ("the U.S.", "us"),
        ("US", "us"),
        ("Bashar al-Assad", "bashar al assad"),
        ("Bashar Al Assad", "bashar al assad"),
        ("“Syrian Civil Defense”", "syrian civil defense"),
        ("Messrs. Putin", "putin"),
        ("...", ""),
    ],
)
def test_entity_key_normalises_surface_forms(surface: str, key: str) -> None:
    assert entity_key(surface) == key


def test_different_people_keep_different_keys() -> None:
    assert entity_key("Bashar al-Assad") != entity_key("Hafez al-Assad")
    assert entity_key("Vladimir Putin") != entity_key("Vladimir Smirnov")


@given(st.text(max_size=40))
def test_entity_key_is_idempotent(text: str) -> None:
    assert entity_key(entity_key(text)) == entity_key(text)


def test_entity_id_is_stable_and_distinguishes_keys() -> None:
    assert entity_id("vladimir putin") == entity_id("vladimir putin")
    assert entity_id("vladimir putin") != entity_id("putin")
    assert len(entity_id("x")) == 16


def test_short_names_resolve_to_the_one_full_name_of_the_document() -> None:
    mentions = [("vladimir putin", "PERSON"), ("putin", "PERSON"), ("russia", "GPE"), ("putin", "PERSON")]
    assert resolve_in_document(mentions) == ["vladimir putin", "vladimir putin", "russia", "vladimir putin"]


def test_an_ambiguous_short_name_is_left_alone() -> None:
    mentions = [("bashar al assad", "PERSON"), ("hafez al assad", "PERSON"), ("assad", "PERSON")]
    assert resolve_in_document(mentions)[-1] == "assad"


def test_vote_label_takes_the_majority_and_breaks_ties_alphabetically() -> None:
    assert vote_label(["PERSON", "GPE", "PERSON"]) == "PERSON"
    assert vote_label(["PERSON", "GPE"]) == "GPE"
    with pytest.raises(ValueError):
        vote_label([])


def test_display_name_prefers_the_fullest_form() -> None:
    assert display_name(["Erdogan", "Erdogan", "Recep Tayyip Erdogan"]) == "Recep Tayyip Erdogan"
    assert display_name(["Tim Henman", "Tim Henman", "Briton Tim Henman", "Henman"]) == "Tim Henman"
    assert display_name(["Idlib", "Idlib", "Idlib"]) == "Idlib"


def test_build_entities_counts_mentions_and_documents() -> None:
    eid = entity_id("vladimir putin")
    rows = [
        {"doc_id": "d1", "text": "Vladimir Putin", "label": "PERSON", "entity_id": eid},
        {"doc_id": "d1", "text": "Putin", "label": "PERSON", "entity_id": eid},
        {"doc_id": "d2", "text": "Putin", "label": "ORG", "entity_id": eid},
    ]
    assert build_entities(rows) == [
        {"entity_id": eid, "name": "Vladimir Putin", "label": "PERSON", "n_mentions": 3, "n_documents": 2}
    ]
    assert build_entities([]) == []


def test_sentence_entities_count_each_entity_once_per_sentence_with_its_name_and_label() -> None:
    entities = [{"entity_id": "e1", "name": "Vladimir Putin", "label": "PERSON"}, {"entity_id": "e2", "name": "Syria", "label": "GPE"}]
    mentions = [
        {"doc_id": "d2", "sentence_id": 0, "entity_id": "e2"},
        {"doc_id": "d1", "sentence_id": 3, "entity_id": "e1"},
        {"doc_id": "d1", "sentence_id": 3, "entity_id": "e2"},
        {"doc_id": "d1", "sentence_id": 3, "entity_id": "e1"},
        {"doc_id": "d1", "sentence_id": 0, "entity_id": "e1"},
    ]
    assert build_sentence_entities(mentions, entities) == [
        {"doc_id": "d1", "sentence_id": 0, "entity_id": "e1", "name": "Vladimir Putin", "label": "PERSON", "n_mentions": 1},
        {"doc_id": "d1", "sentence_id": 3, "entity_id": "e1", "name": "Vladimir Putin", "label": "PERSON", "n_mentions": 2},
        {"doc_id": "d1", "sentence_id": 3, "entity_id": "e2", "name": "Syria", "label": "GPE", "n_mentions": 1},
        {"doc_id": "d2", "sentence_id": 0, "entity_id": "e2", "name": "Syria", "label": "GPE", "n_mentions": 1},
    ]
    assert build_sentence_entities([], entities) == []
    with pytest.raises(KeyError):
        build_sentence_entities([{"doc_id": "d1", "sentence_id": 0, "entity_id": "e9"}], entities)
