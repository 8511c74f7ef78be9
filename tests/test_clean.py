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


# --- categories met on pages (handmade snippets) ------------------------------------------------

PARA = "The council voted on Tuesday to close the bridge for repairs after engineers found cracks in two of its supports."
PARA2 = "Drivers will be sent on a diversion through the town centre, which the council said would add about ten minutes."


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("Image copyright Getty Images", RemovalReason.PHOTO_CREDIT),
        ("Natalie Naccache | Bloomberg | Getty Images", RemovalReason.PHOTO_CREDIT),
        ("Roughly 13,000 US troops remain in the country [File: Reuters]", RemovalReason.CAPTION),
        ("By Amy Kuperinsky | NJ Advance Media for NJ.com", RemovalReason.BYLINE),
        ("Most read in world news", RemovalReason.SITE_FURNITURE),
        ("You may also like...", RemovalReason.RELATED_ARTICLES),
        ("Thanks for signing up!", RemovalReason.NEWSLETTER_PROMPT),
        ("SEE MORE: Protesters besieged in university", RemovalReason.INLINE_LINK),
        ("China furious at Macron over protest jibe [INSIGHT]", RemovalReason.INLINE_LINK),
        ("* Pinterest", RemovalReason.SOCIAL_PROMPT),
        ("34 responses to “We needed to win this game”", RemovalReason.COMMENT_FORM),
        ("thelastfan says:", RemovalReason.COMMENT_FORM),
        ("Advertisement", RemovalReason.SITE_FURNITURE),
    ],
)
def test_page_furniture_is_classified_by_category(line: str, reason: RemovalReason) -> None:
    assert classify_line(line) is reason


def test_whole_page_text_keeps_the_article_and_drops_menus_and_link_lists() -> None:
    page = "\n".join(
        ["Home", "World", "Business", "Sport", "Weather", "Bridge to close for repairs", "By Jo Smith",
         PARA, "", PARA2, "", "Trending", "* Mayor opens new library in the old post office building today",
         "* Fire at the bakery on the high street", "* Ten things to do this weekend", "Contact us", "Jobs"]
    )
    cleaned = clean_text(page)
    assert cleaned.body == f"{PARA}\n\n{PARA2}"


def test_a_comments_section_ends_the_article() -> None:
    text = f"Bridge to close\n\n{PARA}\n\n{PARA2}\n\n2 comments\n\njdoe says:\n\nThis is a long comment that reads like a paragraph of prose, written by a reader of the site.\n"
    cleaned = clean_text(text)
    assert cleaned.body == f"{PARA}\n\n{PARA2}"
    assert {r.reason for r in cleaned.removed[1:]} == {RemovalReason.COMMENT_FORM}


def test_table_cells_and_list_items_that_repeat_are_kept() -> None:
    text = f"Meal plan\n\n{PARA}\n\nDay 1\nEat every 2–3 hours\nDay 2\nEat every 2–3 hours\n\n{PARA2}\n"
    assert clean_text(text).body.count("Eat every 2–3 hours") == 2


def test_unspaced_scripts_count_as_words() -> None:
    line = "何が困るかといえば、パスワード管理ソフトの起動ショートカットキーと同じなのです。"
    assert is_paragraph(line)


def test_html_page_metadata_fills_what_the_text_does_not_say() -> None:
    from transforms.records import PageMeta

    page = PageMeta(title="Bridge to close", description="Repairs start in May", author="Jo Smith",
                    published_at=datetime(2020, 2, 7, 17, 53), source_name="The Town Herald", url="https://example.com/a", tags=("Roads",))
    cleaned = clean_text(f"Bridge to close\n\n{PARA}\n{PARA2}", page=page)
    assert cleaned.body == f"{PARA}\n\n{PARA2}"
    assert (cleaned.title, cleaned.subtitle, cleaned.author, cleaned.source_name, cleaned.source_url, cleaned.tags) == (
        "Bridge to close", "Repairs start in May", "Jo Smith", "The Town Herald", "https://example.com/a", ("Roads",))
    assert cleaned.published_at == datetime(2020, 2, 7, 17, 53)


_ARTICLE_LINE = st.one_of(
    st.sampled_from([PARA, PARA2, "Home", "Most Popular", "* Fire at the bakery", "Image copyright Getty Images",
                     "Sign up to our daily email", "2 comments", "jdoe says:", "By Jo Smith", "Published: February 7, 2020 05:53 PM",
                     "Bridge to close", "Erdogan, Diplomacy, Politics,", "What happens next?"]),
    _LINE,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_ARTICLE_LINE, max_size=30), st.booleans())
def test_cleaning_never_adds_text_and_is_idempotent(lines: list[str], html: bool) -> None:
    from transforms.records import PageMeta

    page = PageMeta(title="Bridge to close") if html else None
    text = "\n".join(lines)
    first = clean_text(text, page=page)
    input_lines = {line.strip() for line in lines}
    assert all(par in input_lines for par in first.body.split("\n\n") if par)
    # the cleaner's output read back as an article: its headline, then its body
    again = clean_text(f"{first.title}\n\n{first.body}" if first.title else first.body, page=page)
    assert again.body == first.body


def test_a_source_line_names_the_publication() -> None:
    cleaned = clean_text(f"Bridge to close\n\n{PARA}\n\n{PARA2}\n\nSource: Reuters\n")
    assert cleaned.source_name == "Reuters"
    assert cleaned.body == f"{PARA}\n\n{PARA2}"
    assert classify_line("Source link") is RemovalReason.SITE_FURNITURE


def test_an_author_box_after_the_story_is_a_byline() -> None:
    bio = "Jo Smith has covered transport and local government for the Herald since 2012, and lives in the town."
    cleaned = clean_text(f"Bridge to close\n\n{PARA}\n\n{PARA2}\n\nAbout Jo Smith\n\n{bio}\n")
    assert cleaned.body == f"{PARA}\n\n{PARA2}"
    assert [r.reason for r in cleaned.removed[-2:]] == [RemovalReason.BYLINE, RemovalReason.BYLINE]


def test_a_posted_by_line_gives_the_author_and_the_publication_time() -> None:
    cleaned = clean_text(f"Bridge to close\n\nPosted by Michael David Smith on November 19, 2019, 6:21 AM EST\n\n{PARA}\n\n{PARA2}\n")
    assert (cleaned.author, cleaned.published_at) == ("Michael David Smith", datetime(2019, 11, 19, 6, 21))
    assert cleaned.body == f"{PARA}\n\n{PARA2}"


def test_a_headline_in_capitals_between_paragraphs_is_an_inline_link_but_a_subheading_is_not() -> None:
    promo = "SEAN SPICER ELIMINATED FROM 'DANCING WITH THE STARS'"
    text = f"Bridge to close\n\n{PARA}\n{promo}\nGIRLS BASKETBALL\n{PARA2}\n"
    cleaned = clean_text(text)
    assert cleaned.body == f"{PARA}\n\nGIRLS BASKETBALL\n\n{PARA2}"
    assert [r.reason for r in cleaned.removed if r.text == promo] == [RemovalReason.INLINE_LINK]
    assert classify_line("Follow Newsbeat on Instagram, Facebook, Twitter and YouTube.") is RemovalReason.SOCIAL_PROMPT


# --- wire copy: agency stories where short lines, lists and tables are the story ---------------

WIRE = FIXTURES / "wire"
WIRE_LABELS = {k: v for k, v in json.loads((WIRE / "labels.json").read_text(encoding="utf-8")).items() if not k.startswith("_")}


@pytest.mark.parametrize("layout", ["one newline", "blank lines"])
@pytest.mark.parametrize("name", sorted(WIRE_LABELS))
def test_wire_copy_keeps_every_body_line_and_finds_headline_byline_and_dateline(name: str, layout: str) -> None:
    label = WIRE_LABELS[name]
    text = (WIRE / name).read_text(encoding="utf-8")
    cleaned = clean_text(text if layout == "one newline" else text.replace("\n", "\n\n"))
    body = [line.strip() for line in text.splitlines() if line.strip() and line.strip() not in label["not_body"]]
    assert cleaned.body.split("\n\n") == body, [(r.text, r.reason.value) for r in cleaned.removed]
    assert (cleaned.title, cleaned.author, cleaned.dateline) == (label["title"], label["author"], label["dateline"])


@pytest.mark.parametrize(
    "line",
    [
        "Italy recalled Giacomo Ferraresi",  # a first sentence cut short, not a byline
        "Results of the World Cup",
        "1. Ingrid Halvorsen ( Norway ) 21 minutes 14.6 seconds",  # a ranked result, not a standfirst
        "Forwards: Giacomo Ferraresi, Luca Bellandi, Matteo Orsini",  # a labelled list, not tags
    ],
)
def test_a_short_line_above_a_story_stays_without_evidence_of_furniture(line: str) -> None:
    story = "Rome has a new coach for the national team after a long search by the federation this year.\n"
    cleaned = clean_text(f"RUGBY - ITALY NAME SQUAD.\n{line}\n{story}")
    assert line in cleaned.body.split("\n\n"), cleaned.removed


def test_a_menu_above_a_page_is_still_cut_but_a_fixture_list_below_a_story_stays() -> None:
    menu = "\n".join(["Home", "World", "Business", "Sport", "Culture"])
    story = "\n".join(["The draw for the third round was made on Sunday, with the holders away to a second-tier side."] * 1)
    fixtures = "\n".join(["Arsenal v Stoke", "Man Utd v Exeter", "Derby v Wigan", "Hull v Colchester", "Chelsea v Scunthorpe"])
    cleaned = clean_text(f"{menu}\nCup draw pairs holders with second-tier side\n{story}\n{fixtures}\n")
    assert cleaned.body.split("\n\n") == [story, *fixtures.split("\n")]
    assert set(menu.split("\n")) <= {r.text for r in cleaned.removed}


def test_a_page_whose_article_is_a_table_of_figures_keeps_the_table() -> None:
    menu = "\n".join(["Home", "News", "Results", "Standings", "Calendar", "Drivers", "Contact"])
    intro = "Final standings of the 2026 series after 36 races:"
    table = "\n".join(f"{i}  Driver Number{i}  {5000 - 37 * i}  {i % 4}  {i % 3}  {20 - i % 7}" for i in range(1, 26))
    footer = "\n".join(["Share this on WhatsApp", "Copyright © 2026 Racing News. All rights reserved.", "Privacy policy", "About us"])
    related = "\n".join([
        "Comments that insult other readers or are off topic will not be approved by our moderators, who read every one of them before it appears.",
        "Read the latest column by our editor on the championship and what it means for next season's title fight among the leading teams.",
    ])
    cleaned = clean_text(f"{menu}\n{intro}\n{table}\n{footer}\n{related}\n")
    body = cleaned.body.split("\n\n")
    assert all(row.strip() in body for row in table.split("\n")), [(r.text, r.reason.value) for r in cleaned.removed][:12]
    assert not set(menu.split("\n")) & set(body)


def test_legal_text_under_a_pages_copyright_line_is_not_taken_for_the_article() -> None:
    menu = "\n".join(["Home", "Recipes", "Fitness", "Nutrition", "Shop", "Community"])
    article = "\n".join([
        "Our new meal plan keeps breakfast simple, with eggs, greens and a slice of wholegrain toast before the morning workout.",
        "Lunch is a bowl of lentils with roasted peppers, which keeps well in the fridge for three days if you prepare it on Sunday.",
    ])
    legal = "\n".join([
        "© 2026 Example Health, LLC. All rights reserved. Example Health is the owner of the trademarks and service marks on this site.",
        "The information provided on this website, including the blogs and community pages, is for general purposes only and is not a substitute "
        "for professional advice; results vary depending on starting point, goals and effort, and you should consult your physician first.",
        "These statements have not been evaluated by any regulator, and the products named here are not intended to diagnose, treat, cure or "
        "prevent any disease; any names of other companies and their products are trademarks of their respective owners worldwide.",
        "Apple, the Apple logo and the App Store are trademarks of their owner, registered in many countries, and Google Play is a trademark of "
        "its owner too, and neither owner sponsors, endorses or is otherwise involved with this website or its programmes in any way.",
    ])
    cleaned = clean_text(f"{menu}\nA week of simple meals\n{article}\nShare on Facebook\n{legal}\n")
    assert cleaned.body.split("\n\n") == article.split("\n"), [(r.text[:40], r.reason.value) for r in cleaned.removed]
