"""The cleaner on the seed articles (hand labels) and on handmade edge cases."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import QuarantineReason, RemovalReason, Stage
from transforms.clean import classify_line, clean_document, clean_text, is_paragraph, parse_date
from transforms.extract import extract_document
from transforms.records import CleanDoc, Rejection

from .conftest import FIXTURES

LABELS = json.loads((FIXTURES / "seed_labels.json").read_text(encoding="utf-8"))
SEED_NAMES = sorted(name for name in LABELS if not name.startswith("_"))


def _nonblank(text: str) -> dict[int, str]:
    return {i: line.strip() for i, line in enumerate(text.split("\n"), start=1) if line.strip()}


@pytest.mark.parametrize("name", SEED_NAMES)
def test_seed_lines_are_split_into_body_and_boilerplate_as_labelled(seeds: dict[str, str], name: str) -> None:
    labels = {int(k): v for k, v in LABELS[name]["boilerplate"].items()}
    cleaned = clean_text(seeds[name])
    removed = {r.line_no: r.reason.value for r in cleaned.removed}
    assert removed == labels
    body_lines = [text for no, text in _nonblank(seeds[name]).items() if no not in labels]
    assert cleaned.body == "\n\n".join(body_lines)


@pytest.mark.parametrize("name", SEED_NAMES)
def test_seed_metadata_matches_what_the_page_says(seeds: dict[str, str], name: str) -> None:
    expected = LABELS[name]
    cleaned = clean_text(seeds[name])
    assert cleaned.title == expected["title"]
    assert cleaned.subtitle == expected["subtitle"]
    assert cleaned.author == expected["author"]
    assert cleaned.dateline == expected["dateline"]
    assert list(cleaned.tags) == expected["tags"]
    for field in ("published_at", "updated_at"):
        value = expected[field]
        assert getattr(cleaned, field) == (datetime.fromisoformat(value) if value else None)
    assert cleaned.page_date == (date.fromisoformat(expected["page_date"]) if expected["page_date"] else None)


def test_caption_printed_twice_is_removed_twice_and_body_kept() -> None:
    text = (
        "Storm hits coast\n\n"
        "Waves break over the harbour wall in Brighton on Monday. Reuters\n"
        "Waves break over the harbour wall in Brighton on Monday. Reuters\n\n"
        "A storm brought winds of up to 90 mph to the south coast on Monday, closing roads and ports.\n"
    )
    cleaned = clean_text(text)
    assert [r.reason for r in cleaned.removed] == [RemovalReason.TITLE, RemovalReason.CAPTION, RemovalReason.CAPTION]
    assert cleaned.body == "A storm brought winds of up to 90 mph to the south coast on Monday, closing roads and ports."


def test_a_paragraph_printed_twice_far_apart_keeps_its_first_copy() -> None:
    para = "The minister said the talks would resume next week after a pause of several months, officials said."
    text = f"Talks to resume\n\n{para}\n\nOther news followed in a second long paragraph of the story here today.\n\n{para}\n"
    cleaned = clean_text(text)
    assert cleaned.body.count(para) == 1
    assert [r.reason for r in cleaned.removed] == [RemovalReason.TITLE, RemovalReason.DUPLICATE_LINE]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("Published: February 7, 2020 05:53 PM", RemovalReason.DATE_LINE),
        ("Copyright ©2021 Dow Jones & Company, Inc. All Rights Reserved.", RemovalReason.COPYRIGHT),
        ("Leave a Reply", RemovalReason.COMMENT_FORM),
        ("Sign up to our daily email", RemovalReason.NEWSLETTER_PROMPT),
        ("Spread the love", RemovalReason.SOCIAL_PROMPT),
        ("Editor's Picks", RemovalReason.SITE_FURNITURE),
        ("Write to Jane Doe at jane.doe@example.com", RemovalReason.BYLINE),
        ("Read more: Why the ceasefire failed", RemovalReason.INLINE_LINK),
        ("jane doe/Agence France-Presse/Getty Images", RemovalReason.PHOTO_CREDIT),
        ("Donate now", RemovalReason.DONATION_APPEAL),
    ],
)
def test_furniture_lines_are_classified_by_category(line: str, reason: RemovalReason) -> None:
    assert classify_line(line) is reason


@pytest.mark.parametrize(
    "line",
    [
        "Honda wins China copyright ruling",
        "'Debate needed' on donations cap",
        "The newspaper said readers could subscribe to the new service from March, at a cost of £5 a month.",
        "Some details of the chip inside Sony's PlayStation 3 have been revealed.",
        "He said: \"Share the burden.\"",
    ],
)
def test_prose_that_mentions_furniture_words_is_not_furniture(line: str) -> None:
    assert classify_line(line) is None


def test_parse_date_reads_common_formats_and_rejects_impossible_dates() -> None:
    assert parse_date("Updated: August 27, 2019 10:28 PM") == datetime(2019, 8, 27, 22, 28)
    assert parse_date("Abu Dhabi, UAEFriday 25 September 2020") == datetime(2020, 9, 25)
    assert parse_date("posted 2021-03-04T09:15") == datetime(2021, 3, 4, 9, 15)
    assert parse_date("Feb. 3, 2020 12:30 AM") == datetime(2020, 2, 3, 0, 30)
    assert parse_date("February 30, 2020") is None
    assert parse_date("no date here") is None


def test_is_paragraph_separates_prose_from_headings() -> None:
    assert is_paragraph("Turkey has been urging Russia for the full implementation of the March deal, officials said.")
    assert not is_paragraph("Russia maneuvering for gains")


def test_empty_text_gives_empty_body_and_no_removals() -> None:
    assert clean_text("").body == ""
    assert clean_text("  \n\n \n").removed == ()


def test_a_file_of_only_boilerplate_is_quarantined_as_empty_body() -> None:
    raw = extract_document("junk.txt", b"Editor's Picks\nSign up to our daily email\nMost Popular\n")
    assert not isinstance(raw, Rejection)
    result = clean_document(raw)
    assert isinstance(result, Rejection)
    assert (result.stage, result.reason) == (Stage.CLEAN, QuarantineReason.EMPTY_BODY)
    assert result.doc_id == raw.doc_id
    assert "boilerplate" in result.detail


def test_clean_document_keeps_the_raw_document(seeds: dict[str, str]) -> None:
    name = SEED_NAMES[0]
    raw = extract_document(name, seeds[name].encode())
    assert not isinstance(raw, Rejection)
    result = clean_document(raw)
    assert isinstance(result, CleanDoc) and result.raw is raw


_LINE = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=120)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_LINE, st.sampled_from(["", "Editor's Picks", "Sign up to our daily email", "Source link"])), max_size=30))
def test_cleaning_only_removes_lines_and_accounts_for_every_line(lines: list[str]) -> None:
    text = "\n".join(lines)
    cleaned = clean_text(text)
    nonblank = _nonblank(text)
    removed = {r.line_no: r.text for r in cleaned.removed}
    kept = [t for no, t in nonblank.items() if no not in removed]
    assert all(nonblank[no] == t for no, t in removed.items())
    assert cleaned.body == "\n\n".join(kept)
    assert len(cleaned.body) <= len(text) + 2 * len(kept)


@pytest.mark.parametrize("name", SEED_NAMES)
def test_cleaning_a_cleaned_article_changes_nothing(seeds: dict[str, str], name: str) -> None:
    first = clean_text(seeds[name])
    again = clean_text(f"{first.title}\n\n{first.body}")
    assert again.body == first.body
    assert again.title == first.title
