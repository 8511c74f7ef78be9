"""The article-extraction metric of the public benchmark (../shared/README.md), reimplemented.

Bodies are tokenised with the Unicode regex ``\\w+`` and cut into 4-token shingles. For each
page, true positives, false positives and false negatives are the multiset overlaps of predicted
and true shingles, normalised so the three sum to 1 (a long page weighs as much as a short one).
Precision is the mean over pages with at least one predicted or matched shingle (tp + fp > 0),
recall the mean over pages with tp + fn > 0; F1 is the harmonic mean of those two means.
A text of fewer than 4 tokens is one shorter shingle; an empty text has none.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

_TOKEN_RE: Final[re.Pattern[str]] = re.compile(r"\w+", re.UNICODE)
SHINGLE: Final[int] = 4


def tokenize(text: str | None) -> list[str]:
    """The ``\\w+`` tokens of a text, in order; [] for None or ''."""
    return _TOKEN_RE.findall(text or "")


def shingles(text: str | None, n: int = SHINGLE) -> Counter[tuple[str, ...]]:
    """Multiset of n-token shingles; a text of 1..n-1 tokens is a single shorter shingle."""
    tokens = tokenize(text)
    if not tokens:
        return Counter()
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)))


@dataclass(frozen=True, slots=True)
class PageScore:
    """Normalised (tp, fp, fn) of one page; the three sum to 1, or are all 0 for two empty texts."""

    tp: float
    fp: float
    fn: float


def score_page(true: str | None, pred: str | None) -> PageScore:
    """Compare a predicted body with the true one by multiset overlap of shingles."""
    t, p = shingles(true), shingles(pred)
    tp = float(sum((t & p).values()))
    fp = float(sum((p - t).values()))
    fn = float(sum((t - p).values()))
    total = tp + fp + fn
    if total == 0:
        return PageScore(0.0, 0.0, 0.0)
    return PageScore(tp / total, fp / total, fn / total)


def _precision(s: PageScore) -> float:
    if s.fp == s.fn == 0:
        return 1.0
    return 0.0 if s.tp == s.fp == 0 else s.tp / (s.tp + s.fp)


def _recall(s: PageScore) -> float:
    if s.fp == s.fn == 0:
        return 1.0
    return 0.0 if s.tp == s.fn == 0 else s.tp / (s.tp + s.fn)


@dataclass(frozen=True, slots=True)
class Scores:
    precision: float
    recall: float
    f1: float
    n_pages: int


def aggregate(pages: Sequence[PageScore]) -> Scores:
    """Mean precision and recall over the pages that have them, and their harmonic mean."""
    precisions = [_precision(s) for s in pages if s.tp + s.fp > 0]
    recalls = [_recall(s) for s in pages if s.tp + s.fn > 0]
    precision = sum(precisions) / len(precisions) if precisions else 0.0
    recall = sum(recalls) / len(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, len(pages))


def evaluate(pairs: Iterable[tuple[str | None, str | None]]) -> Scores:
    """Scores of (true, predicted) body pairs."""
    return aggregate([score_page(true, pred) for true, pred in pairs])
