"""Clustering scores for entity resolution against hand-written gold: pairwise and B-cubed.

Both take one gold and one predicted cluster label per item, in the same order, and count in
one pass over a contingency table (no loop over pairs).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scores:
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def _check(gold: Sequence[Hashable], predicted: Sequence[Hashable]) -> None:
    if len(gold) != len(predicted):
        raise ValueError(f"gold has {len(gold)} items and predicted {len(predicted)}: they must label the same items")


def pairwise_scores(gold: Sequence[Hashable], predicted: Sequence[Hashable]) -> Scores:
    """Precision and recall over pairs of items put in one cluster. With no pairs on a side,
    that side scores 1.0 (nothing claimed, nothing missed).

    Raises:
        ValueError: the sequences have different lengths.
    """
    _check(gold, predicted)
    both = sum(_pairs(n) for n in Counter(zip(gold, predicted)).values())
    in_predicted = sum(_pairs(n) for n in Counter(predicted).values())
    in_gold = sum(_pairs(n) for n in Counter(gold).values())
    return Scores(both / in_predicted if in_predicted else 1.0, both / in_gold if in_gold else 1.0)


def bcubed_scores(gold: Sequence[Hashable], predicted: Sequence[Hashable]) -> Scores:
    """B-cubed precision and recall, averaged over items; 1.0 each for no items.

    Raises:
        ValueError: the sequences have different lengths.
    """
    _check(gold, predicted)
    if not gold:
        return Scores(1.0, 1.0)
    cells = Counter(zip(gold, predicted))
    g, p = Counter(gold), Counter(predicted)
    precision = sum(n * n / p[pr] for (_, pr), n in cells.items()) / len(gold)
    recall = sum(n * n / g[go] for (go, _), n in cells.items()) / len(gold)
    return Scores(precision, recall)
