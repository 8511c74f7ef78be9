"""Sentences and named-entity mentions from spaCy, as character offsets into the cleaned body.

The spaCy pipeline itself is loaded by the flow (`flows.nlp`); this module adds one registered
component, `newsetl_entities`, that trims and filters entity spans with pure functions, and
turns processed documents into records.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from typing import Final

from spacy.language import Language
from spacy.tokens import Doc, Span

from schemas.reasons import ENTITY_LABELS
from transforms.entities import HONORIFICS, compare_tokens, entity_key, is_acronym, resolve_in_document
from transforms.quotes import find_quotes
from transforms.records import AnnotatedDoc, Annotation, CleanDoc, MentionSpan, SentenceSpan

_LEADING_DROP: Final[frozenset[str]] = frozenset({"the", "a", "an"}) | HONORIFICS | {h + "." for h in HONORIFICS}
_TRAILING_DROP: Final[frozenset[str]] = frozenset({"'s", "’s", "'", "’"})
_EDGE_PUNCT: Final[str] = "\"'“”‘’«»()[].,;:!?-–—"
#: Nouns that, written just before a capitalised name, say it is a person ("analyst Samer Khlioui").
ROLE_NOUNS: Final[frozenset[str]] = frozenset(
    """analyst spokesman spokeswoman spokesperson minister president commander expert official leader director
    chief secretary ambassador envoy journalist correspondent researcher professor coach manager chairman
    chairwoman founder senator governor mayor lawyer economist colonel captain striker midfielder defender
    goalkeeper singer actor actress author writer counterpart deputy adviser advisor judge prosecutor""".split()
)


def trim_span(words: Sequence[str], start: int, end: int) -> tuple[int, int]:
    """Trim an entity span given as token indices [start, end) over `words`.

    Drops leading articles and honorifics ("the", "Mr.", "President"), trailing possessives
    and punctuation-only tokens at both edges. Returns the trimmed (start, end); start == end
    when nothing is left.
    """
    while start < end and (words[start].casefold() in _LEADING_DROP or not words[start].strip(_EDGE_PUNCT)):
        start += 1
    while end > start and (words[end - 1].casefold() in _TRAILING_DROP or not words[end - 1].strip(_EDGE_PUNCT)):
        end -= 1
    return start, end


def person_cue(words: Sequence[str], start: int, end: int) -> bool:
    """Whether the span words[start:end] is a name (1 to 3 capitalised words) written right
    after a role noun ("Political analyst Samer Khlioui"), which makes it a person."""
    if start == 0 or not 1 <= end - start <= 3 or words[start - 1].casefold() not in ROLE_NOUNS:
        return False
    return all(w[:1].isupper() and w.replace("-", "").isalpha() for w in words[start:end])


def keep_entity(label: str, text: str) -> bool:
    """Whether a trimmed span is kept as a mention: a named-entity label and a matching key."""
    return label in ENTITY_LABELS and bool(entity_key(text))


@Language.component("newsetl_entities")
def newsetl_entities(doc: Doc) -> Doc:
    """Trim entity spans (`trim_span`), label a name after a role noun PERSON (`person_cue`)
    and keep only named entities (`keep_entity`)."""
    words = [token.text for token in doc]
    kept: list[Span] = []
    for ent in doc.ents:
        start, end = trim_span(words, ent.start, ent.end)
        if start < end:
            label = "PERSON" if ent.label_ != "PERSON" and person_cue(words, start, end) else ent.label_
            span = Span(doc, start, end, label=label)
            if keep_entity(span.label_, span.text):
                kept.append(span)
    doc.set_ents(kept, default="outside")
    return doc


def doc_spans(doc: Doc) -> tuple[tuple[SentenceSpan, ...], tuple[MentionSpan, ...]]:
    """Sentences and mentions of a processed Doc, offsets into `doc.text`.

    Sentence spans exclude surrounding whitespace and skip whitespace-only sentences; each
    mention records the sentence that contains its first character. A short name is resolved
    to the full name it abbreviates in the same document (`resolve_in_document`).
    """
    sentences: list[SentenceSpan] = []
    for sent in doc.sents:
        text = sent.text
        stripped = text.strip()
        if not stripped:
            continue
        start = sent.start_char + (len(text) - len(text.lstrip()))
        sentences.append(SentenceSpan(start, start + len(stripped)))
    starts = [s.start_char for s in sentences]
    ents = [ent for ent in doc.ents if keep_entity(ent.label_, ent.text)]
    raw = [(entity_key(ent.text), ent.label_) for ent in ents]
    keys = resolve_in_document(raw, acronyms=[is_acronym(ent.text) for ent in ents])
    persons = {k for k, label in raw if label == "PERSON" and len(compare_tokens(k)) >= 2}
    mentions = tuple(
        MentionSpan(
            start_char=ent.start_char,
            end_char=ent.end_char,
            text=ent.text,
            label=ent.label_,
            sentence_id=max(bisect_right(starts, ent.start_char) - 1, 0),
            entity_key=key,
            is_person=ent.label_ == "PERSON" or key in persons,
        )
        for ent, key in zip(ents, keys)
    )
    return tuple(sentences), mentions


def annotate_texts(nlp: Language, texts: Iterable[str], *, batch_size: int = 64) -> Iterator[Annotation]:
    """Run `nlp` over `texts` (cleaned bodies) in batches and yield each one's annotation, in order.

    Each batch runs inside `nlp.memory_zone()` so the vocabulary does not grow over long runs.
    Quotations and their speakers come from `find_quotes`. An empty text gives no sentences,
    mentions or quotes.
    """
    texts = list(texts)
    for offset in range(0, len(texts), batch_size):
        batch = texts[offset : offset + batch_size]
        with nlp.memory_zone():
            for spacy_doc, text in nlp.pipe(((text, text) for text in batch), as_tuples=True, batch_size=batch_size):
                sentences, mentions = doc_spans(spacy_doc)
                yield sentences, mentions, find_quotes(text, mentions)


def annotate_bodies(
    nlp: Language, bodies: Sequence[tuple[str, str]], *, batch_size: int = 64
) -> tuple[list[tuple[str, Annotation]], list[tuple[str, str]]]:
    """`annotate_texts` over (doc_id, body) pairs, isolating the documents the model fails on.

    Output: (doc_id, annotation) of each document in order, and (doc_id, "ErrorType: message")
    of each document that raised; when a batch raises, its documents are annotated one by one so
    that the others still go through. Empty input gives two empty lists.
    """
    try:
        return list(zip([doc_id for doc_id, _ in bodies], annotate_texts(nlp, [body for _, body in bodies], batch_size=batch_size))), []
    except Exception:  # noqa: BLE001 - isolate the document that breaks the batch
        done: list[tuple[str, Annotation]] = []
        failed: list[tuple[str, str]] = []
        for doc_id, body in bodies:
            try:
                done.extend((doc_id, annotation) for annotation in annotate_texts(nlp, [body], batch_size=1))
            except Exception as error:  # noqa: BLE001 - any model failure is a quarantine reason
                failed.append((doc_id, f"{type(error).__name__}: {error}"))
        return done, failed


def annotate_documents(nlp: Language, docs: Iterable[CleanDoc], *, batch_size: int = 64) -> Iterator[AnnotatedDoc]:
    """`annotate_texts` over the bodies of `docs`, as annotated documents in order."""
    docs = list(docs)
    for doc, (sentences, mentions, quotes) in zip(docs, annotate_texts(nlp, (d.cleaned.body for d in docs), batch_size=batch_size)):
        yield AnnotatedDoc(doc=doc, sentences=sentences, mentions=mentions, quotes=quotes)
