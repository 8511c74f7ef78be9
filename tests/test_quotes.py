"""Quotations and their speakers on sentences from the seed articles, mentions placed by hand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms.quotes import find_quotes, is_quotation, quotation_spans
from transforms.records import MentionSpan


def _mentions(body: str, *names: str, persons: bool = True) -> list[MentionSpan]:
    """Mentions of each name at its first occurrence after the previous one."""
    out, pos = [], 0
    for name in names:
        start = body.index(name, pos)
        pos = start + len(name)
        out.append(MentionSpan(start, pos, name, "PERSON", 0, name.casefold(), is_person=persons))
    return out


def _speakers(body: str, mentions: list[MentionSpan]) -> list[tuple[str, str | None, str | None]]:
    return [
        (body[q.start_char : q.end_char][:20], q.speaker_text, mentions[q.speaker_mention].text if q.speaker_mention is not None else None)
        for q in find_quotes(body, mentions)
    ]


@pytest.mark.parametrize(
    ("body", "names", "expected"),
    [
        (  # speech verb, then the name
            "“The steps we together take regarding Syria are of utmost importance,” said Mr. Erdogan as he sat.",
            ["Erdogan"],
            [("The steps we togethe", "Mr. Erdogan", "Erdogan")],
        ),
        (  # the name, then the verb; straight quotes
            '"A delegation from Russia will arrive in Turkey. We will hold talks," Mr Cavusoglu said.',
            ["Cavusoglu"],
            [("A delegation from Ru", "Mr Cavusoglu", "Cavusoglu")],
        ),
        (
            "“Companies of the two countries are interested in this,” Peskov added.",
            ["Peskov"],
            [("Companies of the two", "Peskov", "Peskov")],
        ),
        (  # attribution before the quotation, the title words are not the speaker
            "On 7 September, the Russian Foreign Minister Sergei Lavrov said following his talks with the head of the "
            "Syrian regime, Bashar al-Assad, “We believe that relative calm has been established in Syria.”",
            ["Sergei Lavrov", "Bashar al-Assad"],
            [("We believe that rela", "Russian Foreign Minister Sergei Lavrov", "Sergei Lavrov")],
        ),
        (  # "by saying": the subject of the sentence
            "Akar defied the Russian criticisms by saying, “There are no terrorists among those who died.”",
            ["Akar"],
            [("There are no terrori", "Akar", "Akar")],
        ),
        (  # a pronoun is the person named just before
            "Dimitri Peskov, Kremlin’s spokesman, stressed that the presidents will talk.\n\n"
            "“Because, indeed, there are many common things,” he said on Sept. 27.",
            ["Dimitri Peskov"],
            [("Because, indeed, the", "he", "Dimitri Peskov")],
        ),
        (  # a title is the person named just before
            "Cavusoglu said more.\n\nThe Turkish foreign minister added, “the ceasefire in Syria should continue.”",
            ["Cavusoglu"],
            [("the ceasefire in Syr", "The Turkish foreign minister", "Cavusoglu")],
        ),
        (  # an unnamed source is no entity; a quotation that continues takes the same speaker
            '"There is co-ordination at all times," the source told journalists in Ankara. "The patrol was not halted."',
            [],
            [("There is co-ordinati", "the source", None), ("The patrol was not h", "the source", None)],
        ),
        (  # a pronoun with nobody named nearby stays unresolved
            "The source pointed out things.\n\nHe continued saying, “the discussions focused on the mechanisms.”",
            [],
            [("the discussions focu", "He", None)],
        ),
        (  # no attribution at all
            "The UN said things.\n\n“We have no problems there. Our forces are ready to retaliate.”",
            [],
            [("We have no problems ", None, None)],
        ),
        (  # a pronoun two paragraphs away from the last person named is not guessed
            "Mr Putin spoke.\n\nThe weather was cold.\n\nIt rained.\n\n“We will keep going all the way,” he said.",
            ["Putin"],
            [("We will keep going a", "he", None)],
        ),
    ],
)
def test_speakers_of_seed_sentences(body: str, names: list[str], expected: list[tuple[str, str | None, str | None]]) -> None:
    assert _speakers(body, _mentions(body, *names)) == expected


def test_scare_quotes_and_names_in_quotes_are_not_quotations() -> None:
    body = 'clearing "terrorists" in Idlib, the “Syrian Civil Defense” center, not “very productive” talks, the “Face the Nation” show'
    assert quotation_spans(body) == []
    assert is_quotation("absolutely out of the question")
    assert not is_quotation("Syrian Response Coordination Group (SRCG)")


def test_no_quotation_marks_no_quotes() -> None:
    assert find_quotes("", []) == ()
    assert find_quotes("Mr Putin said nothing of note.", []) == ()


@given(st.lists(st.sampled_from(["Mr Putin said, ", "“We will stay here for now,” ", "he added. ", '"It is over now and done," ', "\n\n", "Peace. "]), max_size=12))
def test_quote_offsets_stay_inside_the_body_and_exclude_the_marks(parts: list[str]) -> None:
    body = "".join(parts)
    for q in find_quotes(body, []):
        assert 0 < q.start_char < q.end_char < len(body)
        assert body[q.start_char - 1] in "“\"" and body[q.end_char] in "”\""


def test_straight_quotes_pair_by_position_when_a_quotation_runs_over_a_paragraph() -> None:
    body = (
        'He added: "Their actions have been great for all of us.\n\n'
        '"I have been honoured to speak at their rallies," he said. Leader Alex Salmond called it a "big boost" for them all.'
    )
    assert [body[s:e] for s, e in quotation_spans(body)] == ["I have been honoured to speak at their rallies,"]
