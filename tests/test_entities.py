"""Matching keys, within-document resolution, label voting and the entities table rows."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms.entities import entity_id, entity_key, resolve_in_document


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
