"""Canonical entities from mention surface forms: matching keys, stable ids, in-document
resolution. (An entity's name, label and counts are computed by the `entities` view.)

Pure functions over strings; spaCy is not needed here.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Final

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
