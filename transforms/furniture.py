"""Learned boilerplate: lines that recur across many documents of the same source.

A site prints the same furniture on every page (a menu, a sign-up line, an "about us" blurb);
no pattern list knows all of them, but a pass over a batch sees them recur. A source is the
site of a page with a URL, else the folder a file was found in.

The guard: a line is furniture only when it recurs in at least `min_docs` documents of a source
and in at least `min_share` of them, and a line that reads as prose must recur in at least half
of them (and in 5 documents at least), so a sentence quoted by two or three articles stays.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Final
from urllib.parse import urlsplit

from transforms.clean import is_paragraph, line_key

MIN_DOCS: Final[int] = 3
MIN_SHARE: Final[float] = 0.2
PROSE_MIN_DOCS: Final[int] = 5
PROSE_MIN_SHARE: Final[float] = 0.5


def source_of(source_path: str) -> str:
    """The source of a document: `scheme://host` of a URL, else the folder of a file path."""
    if "://" in source_path:
        parts = urlsplit(source_path)
        return f"{parts.scheme}://{parts.netloc.lower()}"
    head, sep, _ = source_path.replace("\\", "/").rpartition("/")
    return head if sep else "."


def learn_furniture(
    docs: Iterable[tuple[str, str]],
    *,
    min_docs: int = MIN_DOCS,
    min_share: float = MIN_SHARE,
) -> dict[str, frozenset[str]]:
    """Per source, the keys (`line_key`) of lines that recur across its documents.

    Input: (source_path, text) pairs. Output: source -> keys; sources with fewer than
    `min_docs` documents, or with no recurring line, are left out. Empty input gives {}.
    """
    by_source: dict[str, list[str]] = defaultdict(list)
    for path, text in docs:
        by_source[source_of(path)].append(text)
    learned: dict[str, frozenset[str]] = {}
    for source, texts in by_source.items():
        if len(texts) < min_docs:
            continue
        counts: Counter[str] = Counter()
        sample: dict[str, str] = {}
        for text in texts:
            keys: dict[str, str] = {}
            for line in text.split("\n"):
                if line.strip():
                    keys.setdefault(line_key(line), line.strip())
            counts.update(keys.keys())
            for key, line in keys.items():
                sample.setdefault(key, line)
        n = len(texts)
        keys_found = frozenset(
            key
            for key, count in counts.items()
            if count >= max(min_docs, min_share * n)
            and (not is_paragraph(sample[key]) or count >= max(PROSE_MIN_DOCS, PROSE_MIN_SHARE * n))
        )
        if keys_found:
            learned[source] = keys_found
    return learned


def furniture_for(source_path: str, learned: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """The learned furniture keys of a document's source (empty when none was learned)."""
    return learned.get(source_of(source_path), frozenset())
