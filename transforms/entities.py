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

from rapidfuzz.distance import Levenshtein

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


#: Name particles ignored when names are compared ("Bashar al-Assad" is "Bashar Assad").
PARTICLES: Final[frozenset[str]] = frozenset({"al", "el", "bin", "ibn"})
#: Words an acronym skips ("Government of National Accord" is "GNA", "Hayat Tahrir Al Sham" "HTS").
ACRONYM_SKIP: Final[frozenset[str]] = PARTICLES | frozenset({"of", "the", "for", "and", "on", "in", "at", "de", "du", "des", "la", "le"})
#: A misspelt surname resolves within a document only when it is at least this long.
TYPO_MIN_LENGTH: Final[int] = 8


def compare_tokens(key: str) -> tuple[str, ...]:
    """The words of a key that name comparisons use: particles dropped unless nothing is left."""
    words = key.split()
    kept = tuple(w for w in words if w not in PARTICLES)
    return kept or tuple(words)


def initials(key: str) -> str:
    """Initials of a multi-word key, skipping particles and small words; "" for one word."""
    words = [w for w in key.split() if w not in ACRONYM_SKIP]
    return "".join(w[0] for w in words) if len(words) >= 2 else ""


def is_acronym(text: str) -> bool:
    """Whether a surface form is written as an acronym: 2 to 6 capitals, dots allowed ("U.N.", "HTS")."""
    letters = text.replace(".", "")
    return 2 <= len(letters) <= 6 and letters.isalpha() and letters.isupper()


def _pick(candidates: Sequence[str], counts: Counter[str]) -> str | None:
    """The one person (or organisation) `candidates` name, or None when they name several.

    Candidates with the same comparison words are one name spelt two ways; the most frequent
    spelling, then the first in the document, stands for it.
    """
    if len({compare_tokens(c) for c in candidates}) != 1:
        return None
    return min(candidates, key=lambda c: (-counts[c], candidates.index(c)))


def resolve_in_document(mentions: Sequence[tuple[str, str]], *, acronyms: Sequence[bool] | None = None) -> list[str]:
    """Resolve short names to the full name they abbreviate in the same document.

    Input: (key, label) per mention, in document order; `acronyms` says which mentions are
    written as acronyms (`is_acronym`). Output: the resolved key per mention.

    - A key whose words end a longer PERSON key of the document ("putin" -> "vladimir putin",
      "tayyip erdogan" -> "recep tayyip erdogan") becomes that key, whatever its own label,
      when the document has exactly one such person.
    - A one-word key of at least TYPO_MIN_LENGTH letters one edit away from the surname of
      exactly one full PERSON name resolves to it ("khlebnikov" -> "alexei khlebkikov").
    - An acronym becomes the one non-PERSON key of the document whose initials it spells
      ("hts" -> "hayat tahrir al sham").
    Otherwise a key stays as it is: two different "Assad"s are not guessed between.
    """
    flags = list(acronyms) if acronyms is not None else [False] * len(mentions)
    counts: Counter[str] = Counter(key for key, _ in mentions)
    persons = list(dict.fromkeys(k for k, label in mentions if label == "PERSON" and len(compare_tokens(k)) >= 2))
    by_initials: dict[str, list[str]] = defaultdict(list)
    for key, label in dict.fromkeys(mentions):
        if label != "PERSON" and initials(key) and key not in by_initials[initials(key)]:
            by_initials[initials(key)].append(key)
    resolved = []
    for (key, _label), acronym in zip(mentions, flags):
        words = compare_tokens(key)
        target: str | None = None
        if acronym and len(words) == 1:
            target = _pick(by_initials.get(key, []), counts)
        if target is None:
            longer = [p for p in persons if len(compare_tokens(p)) > len(words) and compare_tokens(p)[-len(words):] == words]
            target = _pick(longer, counts)
            if not longer and len(words) == 1 and len(key) >= TYPO_MIN_LENGTH:
                near = [p for p in persons if Levenshtein.distance(compare_tokens(p)[-1], key, score_cutoff=1) == 1]
                target = _pick(near, counts)
        resolved.append(target or key)
    return resolved


def vote_label(labels: Iterable[str]) -> str:
    """The most frequent label; ties go to the alphabetically first, so the vote is stable."""
    counts = Counter(labels)
    if not counts:
        raise ValueError("vote_label needs at least one label")
    return min(counts.items(), key=lambda item: (-item[1], item[0]))[0]


def display_name(surface_forms: Iterable[str]) -> str:
    """The display name among an entity's surface forms: the most frequent full name (two
    words or more), then the longest, then the alphabetically first; when there is no full
    name, the most frequent form. So "Tim Henman" beats a once-seen "Briton Tim Henman", and
    "Recep Tayyip Erdogan" beats a more frequent "Erdogan". Mentions are already trimmed of
    honorifics and possessives by the annotate stage."""
    counts = Counter(surface_forms)
    return min(counts.items(), key=lambda item: (len(item[0].split()) < 2, -item[1], -len(item[0].split()), item[0]))[0]


def vote_entity_label(mentions: Iterable[tuple[str, str]]) -> str:
    """The label of an entity from its (text, label) mentions: the full-name mentions (two
    words or more once titles are stripped) vote, and only when there are none do the short
    ones, so a surname the model once took for a place takes its full name's label.

    Raises:
        ValueError: no mentions.
    """
    mentions = list(mentions)
    full = [label for text, label in mentions if len(entity_key(text).split()) >= 2]
    return vote_label(full or [label for _, label in mentions])


def build_entities(
    mentions: Iterable[Mapping[str, Any]],
    *,
    names: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Aggregate mention rows (doc_id, text, label, entity_id) into `entities` rows.

    One row per entity_id, with the display name (`names` first, e.g. from the alias file,
    else `display_name`), the label (`labels` first, else `vote_entity_label`), the number of
    mentions and of distinct documents. No mentions give no rows. Rows are sorted by entity_id.
    """
    names = names or {}
    labels = labels or {}
    texts: dict[str, list[str]] = defaultdict(list)
    full: dict[str, list[str]] = defaultdict(list)
    short: dict[str, list[str]] = defaultdict(list)
    docs: dict[str, set[str]] = defaultdict(set)
    is_full: dict[str, bool] = {}
    for row in mentions:
        eid, text = row["entity_id"], row["text"]
        texts[eid].append(text)
        if text not in is_full:
            is_full[text] = len(entity_key(text).split()) >= 2
        (full if is_full[text] else short)[eid].append(row["label"])
        docs[eid].add(row["doc_id"])
    return [
        {
            "entity_id": eid,
            "name": names.get(eid) or display_name(texts[eid]),
            # as vote_entity_label: full-name mentions vote, short ones only when there are none
            "label": labels.get(eid) or vote_label(full[eid] or short[eid]),
            "n_mentions": len(texts[eid]),
            "n_documents": len(docs[eid]),
        }
        for eid in sorted(texts)
    ]


def build_sentence_entities(mentions: Iterable[Mapping[str, Any]], entities: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Aggregate mention rows (doc_id, sentence_id, entity_id) into `sentence_entities` rows.

    One row per sentence and entity it mentions, with the entity's name and label from
    `entities` rows (entity_id, name, label) and the number of its mentions in the sentence.
    Rows are sorted by doc_id, sentence_id, entity_id; no mentions give no rows.

    Raises:
        KeyError: a mention's entity is not among `entities`.
    """
    described = {row["entity_id"]: (row["name"], row["label"]) for row in entities}
    counts: Counter[tuple[str, int, str]] = Counter((row["doc_id"], row["sentence_id"], row["entity_id"]) for row in mentions)
    return [
        {"doc_id": doc_id, "sentence_id": sentence_id, "entity_id": eid,
         "name": described[eid][0], "label": described[eid][1], "n_mentions": n}
        for (doc_id, sentence_id, eid), n in sorted(counts.items())
    ]


def build_entity_aliases(mentions: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Aggregate mention rows (doc_id, text, entity_key, entity_id) into `entity_aliases` rows:
    one per (entity_id, surface form, key) with mention and document counts, sorted. No
    mentions give no rows."""
    counts: Counter[tuple[str, str, str]] = Counter()
    docs: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for row in mentions:
        group = (row["entity_id"], row["text"], row["entity_key"])
        counts[group] += 1
        docs[group].add(row["doc_id"])
    return [
        {"entity_id": eid, "alias": alias, "alias_key": key, "n_mentions": n, "n_documents": len(docs[(eid, alias, key)])}
        for (eid, alias, key), n in sorted(counts.items())
    ]
