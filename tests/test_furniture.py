"""Learned boilerplate: lines recurring across a source's documents, with the quoting guard."""

from __future__ import annotations

from schemas import RemovalReason
from transforms.clean import clean_text
from transforms.furniture import furniture_for, learn_furniture, source_of

QUOTE = "“We will not accept a ceasefire that leaves the city under siege,” the minister told reporters on Monday."


def _article(i: int, *, quote: bool = False) -> str:
    return (
        f"Story number {i} about the talks\n\n"
        "Home | World | Sport\n\n"
        f"The talks in round {i} ended late on Tuesday night after the two delegations failed to agree on a text, officials said.\n\n"
        + (f"{QUOTE}\n\n" if quote else "")
        + f"Both sides are expected to return to the table next week, when a new draft number {i} will be put forward for approval.\n\n"
        "Get our morning briefing in your inbox every day\n"
    )


def test_source_is_the_site_of_a_url_or_the_folder_of_a_file() -> None:
    assert source_of("https://www.Example.com/news/a.html") == "https://www.example.com"
    assert source_of("in/site-a/1.txt") == "in/site-a"
    assert source_of("1.txt") == "."


def test_lines_recurring_across_a_source_are_learned_and_removed() -> None:
    docs = [(f"in/site/{i}.txt", _article(i)) for i in range(4)]
    learned = learn_furniture(docs)
    assert learned == {"in/site": frozenset({"home | world | sport", "get our morning briefing in your inbox every day"})}
    cleaned = clean_text(docs[0][1], furniture=furniture_for("in/site/0.txt", learned))
    reasons = {r.text: r.reason for r in cleaned.removed}
    assert reasons["Home | World | Sport"] is RemovalReason.SOURCE_FURNITURE
    assert reasons["Get our morning briefing in your inbox every day"] is RemovalReason.SOURCE_FURNITURE
    assert "talks in round 0" in cleaned.body


def test_a_sentence_quoted_by_a_few_articles_of_a_source_is_kept() -> None:
    docs = [(f"in/site/{i}.txt", _article(i, quote=i < 3)) for i in range(8)]
    learned = learn_furniture(docs)
    assert QUOTE.casefold() not in learned["in/site"]
    assert QUOTE in clean_text(docs[0][1], furniture=furniture_for("in/site/0.txt", learned)).body


def test_too_few_documents_or_other_sources_learn_nothing() -> None:
    assert learn_furniture([]) == {}
    assert learn_furniture([(f"in/site/{i}.txt", _article(i)) for i in range(2)]) == {}
    learned = learn_furniture([(f"in/{i}/a.txt", _article(i)) for i in range(4)])
    assert learned == {}
    assert furniture_for("elsewhere/a.txt", {"in/site": frozenset({"x"})}) == frozenset()
