"""The newsetl_entities component and span extraction, on Docs built by hand (no model)."""

from __future__ import annotations

from functools import lru_cache

import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc, Span

from transforms.annotate import doc_spans, trim_span
from transforms.entities import entity_key


def test_trim_span_drops_articles_honorifics_possessives_and_punctuation() -> None:
    words = ["the", "United", "States", "and", "Mr.", "Erdogan", "’s", "“", "HTS", "”"]
    assert trim_span(words, 0, 3) == (1, 3)
    assert trim_span(words, 4, 7) == (5, 6)
    assert trim_span(words, 7, 10) == (8, 9)
    assert trim_span(words, 7, 8) == (8, 8)


def _nlp_with(component: bool = True) -> spacy.language.Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    if component:
        nlp.add_pipe("newsetl_entities")
    return nlp


def _doc_with_ents(text: str, ents: list[tuple[int, int, str]]) -> Doc:
    nlp = _nlp_with()
    doc = nlp.make_doc(text)
    doc = nlp.get_pipe("sentencizer")(doc)
    doc.set_ents([Span(doc, s, e, label=label) for s, e, label in ents])
    return nlp.get_pipe("newsetl_entities")(doc)


def test_component_trims_spans_and_drops_numeric_labels() -> None:
    doc = _doc_with_ents("Mr. Erdogan met the U.S. envoy on 3 May.", [(0, 2, "PERSON"), (3, 5, "GPE"), (7, 9, "DATE")])
    assert [(e.text, e.label_) for e in doc.ents] == [("Erdogan", "PERSON"), ("U.S.", "GPE")]


def test_doc_spans_gives_sentence_and_mention_offsets_into_the_text() -> None:
    text = "Vladimir Putin spoke. Later Putin left Moscow."
    doc = _doc_with_ents(text, [(0, 2, "PERSON"), (5, 6, "PERSON"), (7, 8, "GPE")])
    sentences, mentions = doc_spans(doc)
    assert [(s.start_char, s.end_char) for s in sentences] == [(0, 21), (22, 46)]
    assert [(m.text, m.sentence_id, m.entity_key) for m in mentions] == [
        ("Vladimir Putin", 0, "vladimir putin"),
        ("Putin", 1, "vladimir putin"),
        ("Moscow", 1, "moscow"),
    ]
    assert all(text[m.start_char : m.end_char] == m.text for m in mentions)


NAMES = ["Erdoğan", "Mr. Putin", "the United States", "U.S.", "Hayat Tahrir Al-Sham", "Idlib", "Ankara"]
FILLER = ["said", "on", "Monday", ",", "that", "talks", "failed", ".", "\n\n", "“", "”", "it's"]


@lru_cache(maxsize=1)
def _ruler_nlp() -> spacy.language.Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "GPE" if "the" in n or "." in n else "PERSON", "pattern": n} for n in NAMES])
    nlp.add_pipe("newsetl_entities")
    return nlp


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(NAMES), st.sampled_from(FILLER)), min_size=1, max_size=40))
def test_mention_offsets_always_slice_back_to_the_mention(parts: list[str]) -> None:
    nlp = _ruler_nlp()
    text = " ".join(parts)
    sentences, mentions = doc_spans(nlp(text))
    for m in mentions:
        assert 0 <= m.start_char < m.end_char <= len(text)
        assert text[m.start_char : m.end_char] == m.text
        assert entity_key(m.text)
    for s in sentences:
        assert 0 <= s.start_char < s.end_char <= len(text)
        assert text[s.start_char : s.end_char].strip() == text[s.start_char : s.end_char]


def test_a_name_after_a_role_noun_is_a_person() -> None:
    from transforms.annotate import person_cue

    words = ["Political", "analyst", "Samer", "Khlioui", "said", "in", "Real", "Madrid"]
    assert person_cue(words, 2, 4)
    assert not person_cue(words, 6, 8) and not person_cue(words, 0, 1)
    doc = _doc_with_ents("Political analyst Samer Khlioui said so.", [(2, 4, "ORG")])
    assert [(e.text, e.label_) for e in doc.ents] == [("Samer Khlioui", "PERSON")]


def test_records_cross_processes_intact() -> None:
    """Worker results are pickled; each record comes back equal, with its nested records."""
    import pickle

    from schemas.reasons import QuarantineReason, RemovalReason, Stage
    from transforms.records import (
        AnnotatedDoc, CleanDoc, Cleaned, Lineage, MentionSpan, PageMeta, QuoteSpan, RawDoc, Rejection, RemovedLine, SentenceSpan,
    )

    raw = RawDoc("in/a.html", "d1", "Text", "utf-8", 4, "0" * 64, PageMeta(title="T", tags=("x", "y")))
    cleaned = Cleaned("Body.", (RemovedLine(2, "Sign up", RemovalReason.NEWSLETTER_PROMPT),), title="T", tags=("x",))
    mention = MentionSpan(0, 4, "Body", "PERSON", 0, "body", is_person=True)
    records = [
        AnnotatedDoc(CleanDoc(raw, cleaned), (SentenceSpan(0, 5),), (mention,), (QuoteSpan(0, 4, "Body", 0),)),
        Rejection("in/b.txt", Stage.ANNOTATE, QuarantineReason.ANNOTATION_ERROR, "ValueError", "d2", None),
        Lineage("r1", "0.1.0", "m==1"),
    ]
    for record in records:
        back = pickle.loads(pickle.dumps(record))
        assert back == record and type(back) is type(record)
