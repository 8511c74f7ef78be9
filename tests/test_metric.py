"""The article-extraction metric, on hand-computed examples."""

from __future__ import annotations

import pytest

from benchmarks.metric import PageScore, aggregate, evaluate, score_page, shingles, tokenize


def test_tokens_are_unicode_words() -> None:
    assert tokenize("Erdoğan's 3.5 million—Idlib!") == ["Erdoğan", "s", "3", "5", "million", "Idlib"]
    assert tokenize(None) == []


def test_shingles_are_4_token_windows_and_short_texts_one_shingle() -> None:
    assert shingles("a b c d e") == {("a", "b", "c", "d"): 1, ("b", "c", "d", "e"): 1}
    assert shingles("a b") == {("a", "b"): 1}
    assert shingles("") == {}


def test_page_score_counts_multiset_overlaps_normalised() -> None:
    # true: a b c d e f -> 3 shingles abcd bcde cdef; pred: a b c d x -> abcd bcdx
    score = score_page("a b c d e f", "a b c d x")
    # tp 1 (abcd), fp 1 (bcdx), fn 2 (bcde, cdef): total 4
    assert score == PageScore(0.25, 0.25, 0.5)
    # a repeated shingle counts as often as it occurs: true has "a a a a" twice (5 tokens), pred once
    assert score_page("a a a a a", "a a a a") == PageScore(1 / 2, 0.0, 1 / 2)


def test_aggregate_leaves_out_pages_with_no_prediction_or_no_truth() -> None:
    pages = [
        score_page("a b c d e f", "a b c d x"),  # precision 1/2, recall 1/3
        score_page("a b c d", "a b c d"),  # precision 1, recall 1
        score_page("a b c d", ""),  # no predicted shingles: recall 0, no precision
        score_page("", "a b c d"),  # no true shingles: precision 0, no recall
    ]
    scores = aggregate(pages)
    precision = (1 / 2 + 1 + 0) / 3
    recall = (1 / 3 + 1 + 0) / 3
    assert scores.precision == pytest.approx(precision)
    assert scores.recall == pytest.approx(recall)
    assert scores.f1 == pytest.approx(2 * precision * recall / (precision + recall))
    assert evaluate([("a b c d", "a b c d")]).f1 == 1.0
