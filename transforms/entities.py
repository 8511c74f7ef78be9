"""Canonical entities from mention surface forms: matching keys, stable ids, label voting.

Pure functions over strings and rows; spaCy is not needed here.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

#: Titles and honorifics that do not belong to a name ("Mr Erdogan" is "Erdogan").
HONORIFICS: Final[frozenset[str]] = frozenset(
    {
        "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "messrs", "mme", "mlle",
        "president", "prime minister", "minister", "foreign minister", "defense minister",
        "defence minister", "king", "queen", "prince", "princess", "sheikh", "general", "gen",
        "senator", "sen", "rep", "governor", "gov", "chancellor", "pope",
    }
)
_HONORIFIC_RE: Final[re.Pattern[str]] = re.compile(
    r"^(?:(?:" + "|".join(sorted((re.escape(h) for h in HONORIFICS), key=len, reverse=True)) + r")\.?\s+)+"
)
_ACRONYM_DOTS_RE: Final[re.Pattern[str]] = re.compile(r"\b((?:[a-z]\.){2,})")
_POSSESSIVE_RE: Final[re.Pattern[str]] = re.compile(r"(?:'s|s')$")
ENTITY_ID_HEX: Final[int] = 16


def fold_accents(text: str) -> str:
    """Remove diacritics ("Erdoğan" -> "Erdogan"); other characters are kept."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def entity_key(text: str) -> str:
    """Matching key of a surface form: accents folded, case folded, honorifics, a leading
    "the", possessives, quotes and acronym dots removed, hyphens as spaces.

    "Mr. Erdoğan's" -> "erdogan"; "the U.S." -> "us"; "Bashar al-Assad" -> "bashar al assad".
    Returns "" for text with no letters or digits.
    """
    key = fold_accents(text).casefold().replace("’", "'").replace("‘", "'")
    key = key.strip(" \t\n\"'“”«».,;:!?()[]")
    key = _ACRONYM_DOTS_RE.sub(lambda m: m.group(1).replace(".", ""), key)
    key = _POSSESSIVE_RE.sub("", key)
    key = re.sub(r"^the\s+", "", key)
    key = _HONORIFIC_RE.sub("", key)
    key = re.sub(r"[-‐‑–—_/]+", " ", key)
    key = re.sub(r"[^\w\s&]", "", key)
    return " ".join(key.split())


def entity_id(key: str) -> str:
    """Stable id of a canonical entity key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:ENTITY_ID_HEX]


def resolve_in_document(mentions: Sequence[tuple[str, str]]) -> list[str]:
    """Resolve short person names to the full name they abbreviate in the same document.

    Input: (key, label) per mention, in document order. Output: the resolved key per mention.
    A one-word PERSON key becomes the multi-word PERSON key of the same document that ends
    with it ("putin" -> "vladimir putin") when exactly one such full name exists; otherwise it
    stays as it is (two different "Assad"s are not guessed between).
    """
    full_by_last: dict[str, set[str]] = defaultdict(set)
    for key, label in mentions:
        words = key.split()
        if label == "PERSON" and len(words) >= 2:
            full_by_last[words[-1]].add(key)
    resolved = []
    for key, label in mentions:
        candidates = full_by_last.get(key, set()) if len(key.split()) == 1 else set()
        resolved.append(next(iter(candidates)) if len(candidates) == 1 else key)
    return resolved


def vote_label(labels: Iterable[str]) -> str:
    """The most frequent label; ties go to the alphabetically first, so the vote is stable."""
    counts = Counter(labels)
    if not counts:
        raise ValueError("vote_label needs at least one label")
    return min(counts.items(), key=lambda item: (-item[1], item[0]))[0]


def display_name(surface_forms: Iterable[str]) -> str:
    """The display name among an entity's surface forms: the longest in words, then the most
    frequent, then the alphabetically first. Honorifics and possessives are not stripped here:
    mentions are already trimmed by the annotate stage."""
    counts = Counter(surface_forms)
    return min(counts.items(), key=lambda item: (-len(item[0].split()), -item[1], item[0]))[0]


def build_entities(mentions: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Aggregate mention rows (doc_id, text, label, entity_id) into `entities` rows.

    One row per entity_id, with the display name, the voted label, the number of mentions and
    of distinct documents. No mentions give no rows. Rows are sorted by entity_id.
    """
    texts: dict[str, list[str]] = defaultdict(list)
    labels: dict[str, list[str]] = defaultdict(list)
    docs: dict[str, set[str]] = defaultdict(set)
    for row in mentions:
        eid = row["entity_id"]
        texts[eid].append(row["text"])
        labels[eid].append(row["label"])
        docs[eid].add(row["doc_id"])
    return [
        {
            "entity_id": eid,
            "name": display_name(texts[eid]),
            "label": vote_label(labels[eid]),
            "n_mentions": len(texts[eid]),
            "n_documents": len(docs[eid]),
        }
        for eid in sorted(texts)
    ]
