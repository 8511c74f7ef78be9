"""Direct quotations in a body and who said them, from the text around the quotation marks.

Pure functions over the body and its mentions. A quotation is text between “ and ” (or a pair
of straight double quotes in one paragraph) with at least MIN_WORDS words that is not a name in
quotes (“Syrian Civil Defense”). Its speaker is read from the attribution around it:

- after it: “...,” said Mr Cavusoglu / “...,” Peskov added / "...," Mr Putin told ...
- before it, in the same sentence: Cavusoglu said, “...” / Akar defied them by saying, “...”
- a pronoun (“...,” he said) is the last person mentioned in the same or the previous paragraph;
  so is a title (“...,” the defence minister said);
- an unnamed speaker (“...,” the source said) or no attribution gives no speaker.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, Protocol

from transforms.records import QuoteSpan

#: Fewer words than this in quotation marks is a scare quote or a title, not a quotation.
MIN_WORDS: Final[int] = 4
#: The attribution before a quotation ends at most this many characters before it.
BEFORE_GAP: Final[int] = 90
SPEECH_VERBS: Final[frozenset[str]] = frozenset(
    """said says say added adds told tells stressed stresses noted notes explained explains insisted insists
    warned warns continued continues declared declares wrote writes argued argues claimed claims replied replies
    asked asks saying adding stated states announced announces commented comments reiterated reiterates
    emphasised emphasized emphasises emphasizes responded responds recalled recalls""".split()
)
#: Nouns that name the holder of an office ("the defence minister said" is the last person named).
TITLE_NOUNS: Final[frozenset[str]] = frozenset(
    "minister president leader chancellor premier king queen secretary spokesman spokeswoman ambassador envoy".split()
)
_PRONOUNS: Final[frozenset[str]] = frozenset({"he", "she"})
_HONORIFIC: Final[str] = r"(?:(?:Mr|Mrs|Ms|Dr|Prof|Sir|Messrs)\.?\s+)?"
_NAME: Final[str] = r"[A-Z][\w’'\-]*(?:\s+(?:al-|el-|bin\s+|de\s+)?[A-Z][\w’'\-]*)*"
_VERB: Final[str] = r"(?:" + "|".join(sorted(SPEECH_VERBS)) + r")\b"
_SUBJECT: Final[str] = rf"(?P<subj>{_HONORIFIC}{_NAME}|[Hh]e|[Ss]he|[Tt]he(?:\s+[\w’'\-]+){{1,4}}?)"
_AFTER_VERB_FIRST: Final[re.Pattern[str]] = re.compile(rf"^\s*[,.]?\s*{_VERB}\s+(?P<subj>{_HONORIFIC}{_NAME}|the(?:\s+[\w’'\-]+){{1,4}})")
_AFTER_SUBJECT_FIRST: Final[re.Pattern[str]] = re.compile(rf"^\s*[,.]?\s*{_SUBJECT}\s+{_VERB}")
_BEFORE: Final[re.Pattern[str]] = re.compile(rf"{_SUBJECT},?\s+(?:also\s+)?{_VERB}")
_BY_VERB: Final[re.Pattern[str]] = re.compile(rf"\b(?:by|while|when|before|after)\s+{_VERB}")
_SENTENCE_END: Final[re.Pattern[str]] = re.compile(r"[.!?][\"”’)]*\s+(?=[A-Z“\"])")
_CURLY: Final[re.Pattern[str]] = re.compile(r"“([^“”\n]+)”")
#: A straight opening quote follows a space or a line start and precedes a non-space; a closing
#: one follows a non-space. Pairing by position alone goes wrong as soon as a quotation runs
#: over a paragraph end ("...Scotland." Scottish ... "big boost").
_STRAIGHT: Final[re.Pattern[str]] = re.compile(r"(?:^|(?<=[\s(\[]))\"(?=\S)([^\"\n]*?\S)\"(?=[\s.,;:!?)\]]|$)", re.M)


class MentionRef(Protocol):
    """What quote attribution needs of a mention (a `MentionSpan` is one): its span and whether
    it names a person."""

    @property
    def start_char(self) -> int: ...

    @property
    def end_char(self) -> int: ...

    @property
    def is_person(self) -> bool: ...


def is_quotation(text: str) -> bool:
    """Enough words to be a quotation, and not a capitalised name in quotation marks."""
    words = re.findall(r"[\w’'\-]+", text)
    if len(words) < MIN_WORDS:
        return False
    small = {"of", "the", "for", "and", "on", "in", "at", "to", "a"}
    return not all(w[0].isupper() or w in small for w in words)


def quotation_spans(body: str) -> list[tuple[int, int]]:
    """(start, end) of every quotation's text in `body`, in order; marks are excluded."""
    spans = [(m.start(1), m.end(1)) for pattern in (_CURLY, _STRAIGHT) for m in pattern.finditer(body)]
    return sorted(s for s in spans if is_quotation(body[s[0] : s[1]]))


def _paragraph_start(body: str, pos: int, *, back: int = 0) -> int:
    start = body.rfind("\n\n", 0, pos)
    for _ in range(back):
        if start <= 0:
            return 0
        start = body.rfind("\n\n", 0, start)
    return 0 if start < 0 else start + 2


def _mention_at(mentions: Sequence[MentionRef], start: int, end: int, *, last: bool = False) -> int | None:
    """The first (or last) mention inside [start, end), else None."""
    inside = [i for i, m in enumerate(mentions) if start <= m.start_char and m.end_char <= end]
    return (inside[-1] if last else inside[0]) if inside else None


def _last_person_before(mentions: Sequence[MentionRef], pos: int, floor: int) -> int | None:
    best = None
    for i, m in enumerate(mentions):
        if floor <= m.start_char and m.end_char <= pos and m.is_person:
            best = i
    return best


def _speaker(body: str, mentions: Sequence[MentionRef], start: int, end: int, subj: str) -> tuple[str, int | None]:
    """The speaker of a subject phrase at body[start:end]: a named mention, or for a pronoun or
    an office-holder the last person named in this or the previous paragraph."""
    first = subj.split()[0].casefold()
    if first in _PRONOUNS or (first == "the" and subj.split()[-1].casefold() in TITLE_NOUNS):
        return subj, _last_person_before(mentions, start, _paragraph_start(body, start, back=1))
    if first == "the":
        return subj, None
    return subj, _mention_at(mentions, start, end, last=True)


def attribute_quote(body: str, span: tuple[int, int], mentions: Sequence[MentionRef], *, next_start: int | None = None) -> QuoteSpan:
    """Find the speaker of the quotation at `span` (see the module docstring)."""
    q_start, q_end = span
    para_end = body.find("\n\n", q_end)
    para_end = len(body) if para_end < 0 else para_end
    limit = min(para_end, next_start if next_start is not None else para_end, q_end + 1 + 160)
    after_from = q_end + 1
    after = body[after_from:limit]
    for pattern in (_AFTER_VERB_FIRST, _AFTER_SUBJECT_FIRST):
        m = pattern.match(after)
        if m:
            text, mention = _speaker(body, mentions, after_from + m.start("subj"), after_from + m.end("subj"), m.group("subj"))
            return QuoteSpan(q_start, q_end, text, mention)
    para_start = _paragraph_start(body, q_start)
    before_from = max(para_start, q_start - 1 - 300)
    before = body[before_from : q_start - 1]
    ends = list(_SENTENCE_END.finditer(before))
    if ends:
        before_from += ends[-1].end()
        before = before[ends[-1].end() :]
    named = [m for m in _BEFORE.finditer(before) if len(before) - m.end() <= BEFORE_GAP]
    by = [m for m in _BY_VERB.finditer(before) if len(before) - m.end() <= BEFORE_GAP]
    if by and (not named or by[-1].end() >= named[-1].end()):
        # "Akar defied the criticism by saying, “...”": the speaker is the sentence's subject
        subject = _mention_at(mentions, before_from, before_from + by[-1].start())
        if subject is not None and mentions[subject].is_person:
            s = mentions[subject]
            return QuoteSpan(q_start, q_end, body[s.start_char : s.end_char], subject)
    elif named:
        m = named[-1]
        text, mention = _speaker(body, mentions, before_from + m.start("subj"), before_from + m.end("subj"), m.group("subj"))
        return QuoteSpan(q_start, q_end, text, mention)
    return QuoteSpan(q_start, q_end, None, None)


def find_quotes(body: str, mentions: Sequence[MentionRef]) -> tuple[QuoteSpan, ...]:
    """Every quotation in `body` with its speaker. An empty body gives no quotes.

    A quotation with no attribution of its own that follows an attributed one in the same
    paragraph continues it ("“...,” said Mr. Erdogan. “Peace there ...”") and takes its speaker.
    """
    spans = quotation_spans(body)
    quotes: list[QuoteSpan] = []
    for i, span in enumerate(spans):
        quote = attribute_quote(body, span, mentions, next_start=spans[i + 1][0] - 1 if i + 1 < len(spans) else None)
        if quote.speaker_text is None and quotes and quotes[-1].speaker_text is not None and "\n\n" not in body[quotes[-1].end_char : span[0]]:
            quote = QuoteSpan(span[0], span[1], quotes[-1].speaker_text, quotes[-1].speaker_mention)
        quotes.append(quote)
    return tuple(quotes)
