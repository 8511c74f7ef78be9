"""Language of a text, by py3langid (its model ships inside the package: nothing is fetched)."""

from __future__ import annotations

from typing import Final

import py3langid

#: Characters looked at: enough for a stable answer, bounded for long documents.
SAMPLE_CHARS: Final[int] = 5000


def detect_language(text: str) -> str:
    """ISO 639-1 code of the language `text` is written in ("en", "fr", ...); "und" when the
    text has no letters to judge by."""
    sample = text[:SAMPLE_CHARS]
    if not any(ch.isalpha() for ch in sample):
        return "und"
    language, _score = py3langid.classify(sample)
    return str(language)
