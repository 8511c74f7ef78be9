"""Boilerplate removal and metadata extraction for scraped article text.

The cleaner works on lines. Every non-blank line is either kept in the body or removed with a
`RemovalReason`; nothing is rewritten, so the body is always made of lines of the input.

It classifies by category, not by site:

1. Line patterns that are furniture wherever they appear, on short lines only (a long line is
   prose): date stamps, captions and photo credits, sign-up, share and comment prompts,
   copyright and tracking lines, donation appeals, bylines, "Pictures: ..." links.
2. Layout: the headline is the first line that is not furniture; its other copies are repeated
   titles; a line printed twice in a row is a caption; an unpunctuated line right under the
   headline is the standfirst; a short unpunctuated line set apart by two blank lines on each side
   between paragraphs is an inline link to another article.
3. The article ends at its last paragraph of prose. After it, lines up to the first furniture
   line are kept only if they read as sentences; from that line on, everything is furniture
   (a related-articles list, a donation block, tags).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Final

from schemas.reasons import QuarantineReason, Stage
from schemas.reasons import RemovalReason as R
from transforms.records import Cleaned, CleanDoc, PageMeta, RawDoc, Rejection, RemovedLine

# --- dates -------------------------------------------------------------------------------------

_MONTHS: Final[dict[str, int]] = {
    name: i
    for i, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"), ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_RE: Final[str] = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_TIME_RE: Final[str] = r"(?:,?\s*(?:at\s+)?(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::\d{2})?\s*(?P<ampm>[ap]\.?m\.?)?)?"
_DATE_PATTERNS: Final[tuple[re.Pattern[str], ...]] = (
    # February 7, 2020 05:53 PM
    re.compile(_MONTH_RE + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})" + _TIME_RE, re.I),
    # 25 September 2020, Friday 25 September 2020 10:00
    re.compile(r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH_RE + r",?\s+(?P<year>\d{4})" + _TIME_RE, re.I),
    # 2020-02-07, 2020-02-07T17:53
    re.compile(r"(?P<year>\d{4})-(?P<mnum>\d{2})-(?P<day>\d{2})(?:[T ](?P<hour>\d{2}):(?P<minute>\d{2}))?"),
)


def parse_date(text: str) -> datetime | None:
    """Find the first full date (day, month and year) in `text`, with its time when given.

    Returns a naive datetime as printed (no time zone is guessed), or None when there is no
    date or the date is impossible (February 30).
    """
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            parts = match.groupdict()
            month = int(parts["mnum"]) if parts.get("mnum") else _MONTHS[parts["month"].lower()]
            hour = int(parts["hour"]) if parts.get("hour") else 0
            minute = int(parts["minute"]) if parts.get("minute") else 0
            ampm = (parts.get("ampm") or "").replace(".", "").lower()
            if ampm == "pm" and hour < 12:
                hour += 12
            elif ampm == "am" and hour == 12:
                hour = 0
            try:
                return datetime(int(parts["year"]), month, int(parts["day"]), hour, minute)
            except ValueError:
                continue
    return None


# --- line patterns -----------------------------------------------------------------------------

_TERMINAL: Final[str] = ".!?\"”’'):;…。！？」』"
#: Scripts written without spaces between words: about two characters make a word.
_UNSPACED_RE: Final[re.Pattern[str]] = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_STAMP_RE: Final[re.Pattern[str]] = re.compile(
    r"^(?P<kind>published|updated|last updated|first published|posted|modified)(?:\s+on)?\s*:?\s*", re.I
)
_AGENCIES: Final[str] = (
    r"AP|AFP|Reuters|EPA|EPA-EFE|Getty Images?|Agence France-Presse|Associated Press|Bloomberg|Xinhua|"
    r"Shutterstock|Anadolu Agency|AAP|PA|Sipa|SANA"
)
_CAPTION_END_RE: Final[re.Pattern[str]] = re.compile(
    rf"(?:[.)]\s+(?:{_AGENCIES})\.?$|\((?:[^()]*\b(?:{_AGENCIES}|Agency|Photo|Images?)\b[^()]*)\)\s*$|"
    rf"\b(?:Image|Photo|Photograph|Picture|Credit)s?\s*:\s*\S.*$|"
    rf"\[[^\[\]]*\b(?:{_AGENCIES}|File|Photo|Image)\b[^\[\]]*\]\s*$)"
)
_CAPTION_START_RE: Final[re.Pattern[str]] = re.compile(r"^(?:image|photo|picture|video|media) caption\b", re.I)
_CREDIT_RE: Final[re.Pattern[str]] = re.compile(
    rf"(?:^(?:photo|image|picture|credit)s?\s*:|^(?:image|photo|picture)\s+(?:copyright|caption|credit|source)\b|"
    rf"\S/(?:{_AGENCIES})\b|/(?:[^/]+/)*(?:{_AGENCIES})$|\|\s*(?:{_AGENCIES})\s*(?:\||$))", re.I
)
_INLINE_LINK_RE: Final[re.Pattern[str]] = re.compile(
    r"^(?:read|read also|also read|read more|see more|see also|related|watch|pictures|photos|video|gallery|listen|"
    r"more|opinion|analysis|explainer|also|click here|trending)\s*:\s*\S|^click here to (?:get|download|read|see|watch|listen|view)\b|\bby clicking here$|"
    r"\[(?:video|insight|reaction|pictures|photos|gallery|poll|live)\]\W*$",
    re.I,
)
_RELATED_HEADER_RE: Final[re.Pattern[str]] = re.compile(
    r"^(?:related(?: articles| stories| news| content| posts| coverage| links)?|read more|more on this(?: story)?|"
    r"see also|further reading|also read|more stories|(?:you|we think you) (?:may|might|will) (?:also )?(?:like|enjoy)|"
    r"recommended(?: for you| reading| stories)?|read these next|more in [\w ]{1,30}|don'?t miss|explore further)\s*[:.…!]*$",
    re.I,
)
_LIST_ITEM_RE: Final[re.Pattern[str]] = re.compile(r"^(?:\d{1,2}[.)]|[*•·▪–-])\s+\S")
#: A rendered list item: link lists (most read, related, menus) are lists, prose rarely is.
_BULLET_RE: Final[re.Pattern[str]] = re.compile(r"^(?:[*+•·▪o-]|\d{1,2}[.)])\s+\S")
_SHARE_BUTTON_RE: Final[re.Pattern[str]] = re.compile(
    r"^(?:[*+•-]\s*)?(?:facebook|twitter|pinterest|reddit|linkedin|whatsapp|telegram|e-?mail|print|tweet|share|"
    r"google\+|flipboard|tumblr|stumbleupon|blogger|mix|messenger|pocket|copy link|sms|vk|xing|\d+\s+shares?|"
    r"sharing is caring!?|share (?:this|on)\b.*)$",
    re.I,
)
_FURNITURE_RE: Final[re.Pattern[str]] = re.compile(
    r"^(?:editor'?s'? picks?|editors'? choice|(?:most (?:popular|read|viewed|shared|commented)|trending|latest|more)(?: now| in [\w ]{1,30}| on [\w ]{1,30}| from [\w ]{1,30})?|"
    r"top stories|latest(?: news)?|breaking news|advertisement|advert|ad|sponsored(?: content)?|skip to (?:main )?content|source link|"
    r"back to top|related topics|what to read next|don'?t miss|print|menu|home|close|report|view comments|disclaimer|"
    r"show comments|load more|next|previous|prev|next prev|see full gallery|view gallery|loading|search|log ?in|sign in|"
    r"have a tip\?.*|continue reading(?: below)?|.{0,40}requires javascript\.?|\d+\s*/\s*\d+)\s*:?$",
    re.I,
)
_NEWSLETTER_RE: Final[re.Pattern[str]] = re.compile(
    r"(?:\bsign up\b|\bsubscribe\b|\bnewsletters?\b|\bdaily (?:e-?mail|briefing)\b|\bplease select one\b|"
    r"\benter your e-?mail\b|\bget (?:our|the) .{0,30}(?:e-?mail|newsletter)\b|thanks? (?:you )?for (?:signing up|subscribing)|"
    r"\bkeep an eye on your inbox\b|error processing your subscription|\bdelivered to your inbox\b)",
    re.I,
)
_SOCIAL_RE: Final[re.Pattern[str]] = re.compile(
    r"(?:^follow\b.{0,60}\b(?:on|at)\s+(?:twitter|facebook|instagram|youtube|tiktok|linkedin)\b|spread the love|\bshare (?:this|on|via|the story|article)\b|^share$|\bfollow us\b|\blike us on\b|"
    r"bloggers like this|\btweet this\b|click to share|\bshare on (?:facebook|twitter|x|whatsapp|linkedin)\b)",
    re.I,
)
#: The head of a comments section: what follows it is readers' text, not the article.
_COMMENTS_HEAD_RE: Final[re.Pattern[str]] = re.compile(
    r"^(?:\d+\s+(?:responses?|comments?|replies|thoughts) (?:to|on)\b.*|\d+\s+comments?|comments?|"
    r"(?:leave|post|add|write) a (?:reply|comment)|join the (?:discussion|conversation)|reader comments|"
    r"(?:show|view|load) (?:all )?comments)\W*$",
    re.I,
)
#: "About Jane Doe", "Über Moritz Bachmann", "About the author": the author box after an article.
_AUTHOR_BOX_RE: Final[re.Pattern[str]] = re.compile(
    r"^(?i:about|über|sobre|à propos de|acerca de|a proposito di|over|o autorze)\s+"
    r"(?:(?i:the author|the writer|l'auteur|o autor|el autor|der autor)|[A-ZÀ-Þ][\w'’.-]+(?:\s+[A-ZÀ-Þ][\w'’.-]+){1,3})$"
)
#: "jdoe says:" heading each reader comment.
_COMMENTER_RE: Final[re.Pattern[str]] = re.compile(r"^(?:\d{1,4}[.)]\s+)?\S[^.!?,]{0,40}\s(?:says|said|wrote|writes):$", re.I)
_COMMENT_RE: Final[re.Pattern[str]] = re.compile(
    r"(?:^leave a (?:reply|comment)|your e-?mail address will not be published|required fields are marked|"
    r"^post a comment|^add a comment|^\d+ comments?$|^comments?$|^cancel reply$|save my name, email)",
    re.I,
)
_COPYRIGHT_RE: Final[re.Pattern[str]] = re.compile(
    r"(?:^copyright\b|copyright\s*(?:©|\(c\)|\d{4})|©\s*(?:\d{4}|[A-Z])|\(c\)\s*\d{4}|all rights reserved|"
    r"^[0-9a-f]{24,}$)",
    re.I,
)
_DONATION_RE: Final[re.Pattern[str]] = re.compile(
    r"(?:\bdonate (?:now|today|to us|here)\b|^donate$|make a donation|^support\s+[\w\s]{1,40}[.!]+$|"
    r"\bsupport (?:us|our work|our journalism|independent journalism)\b|\$\d+\s*(?:a|per) month|"
    r"makes a difference\W*$|we need your support|become a (?:member|patron|supporter)|"
    r"click here to support|\bchip in\b)",
    re.I,
)
_WRITE_TO_RE: Final[re.Pattern[str]] = re.compile(r"^write to (?P<name>.+?) at \S+@\S+", re.I)
_BYLINE_RE: Final[re.Pattern[str]] = re.compile(
    r"^[Bb][Yy]\s+(?P<name>[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3})(?:\s*[,|]\s*.*|\s+(?:and|in|for)\b.*)?$"
)
_CONTACT_RE: Final[re.Pattern[str]] = re.compile(
    r"(?:^(?:e-?mail|contact|follow)\b.*@|^(?:additional )?(?:reporting|editing|writing) by\b)", re.I
)
#: "Source: Reuters", "Via: The Guardian": the publication a story is credited to.
_SOURCE_RE: Final[re.Pattern[str]] = re.compile(r"^(?i:source|via|courtesy of)\s*:?\s+(?P<name>[A-Z][\w.&'’ -]{1,50}?)\.?$")
_DATELINE_RE: Final[re.Pattern[str]] = re.compile(
    r"^(?P<place>[A-Z][A-Z.'’ -]{1,40}?[A-Z.])(?:,\s*[A-Z][\w. ]{1,30})?\s*(?:\([A-Za-z ]+\)\s*)?(?:—|–|--|-)\s*\S"
)
#: A person's name on a line of its own: two to four capitalised words, with the particles of
#: names ("Jan van der Berg", "Ana de la Cruz").
_NAME_RE: Final[re.Pattern[str]] = re.compile(
    r"^(?!(?:The|A|An)\s)[A-Z][\w.'’-]+(?:\s+(?:(?:van|von|der|den|de|del|della|la|le|da|di|du|dos|bin|al|el|ibn|ten|ter)\s+)*[A-Z][\w.'’-]+){1,3}$"
)
#: A list item or a labelled line ("1. Ana Ruiz 21:14.6", "Result: Nadal 6-7 6-2 Roddick"): content, not a standfirst.
_LABELLED_RE: Final[re.Pattern[str]] = re.compile(r"^(?:\d{1,2}[.)]\s|[*•·▪–-]\s|[\w ]{1,20}:\s)")
#: A dateline of its own line: "TOKYO 2026-12-06", "OSTERSUND, Sweden 2026-12-04".
_DATELINE_ALONE_RE: Final[re.Pattern[str]] = re.compile(
    r"^(?P<place>[A-Z][A-Z.'’ -]{1,40}?[A-Z.])(?:,\s*[A-Z][\w. ]{1,30}?)?\s+(?P<date>\d.*)$"
)
_TAGS_PREFIX_RE: Final[re.Pattern[str]] = re.compile(r"^(?:tags?|topics?|filed under)\s*:\s*(?P<tags>.+)$", re.I)


def _words(line: str) -> int:
    unspaced = len(_UNSPACED_RE.findall(line))
    return len(line.split()) + unspaced // 2


def _ends_sentence(line: str) -> bool:
    return line.rstrip()[-1:] in _TERMINAL


def is_paragraph(line: str) -> bool:
    """True for a line of prose: at least 12 words ending like a sentence, or 40 words at least."""
    n = _words(line)
    return (n >= 12 and _ends_sentence(line)) or n >= 40


def _split_tags(line: str) -> tuple[str, ...] | None:
    """The tags of a tag line ("Erdogan, Diplomacy, Politics,"), or None if it is not one."""
    match = _TAGS_PREFIX_RE.match(line)
    text = match.group("tags") if match else line
    items = [item.strip() for item in re.split(r"[,;|]", text)]
    tags = [item for item in items if item]
    if not match and (len(tags) < 2 or not (line.rstrip().endswith(",") or len(tags) >= 3)):
        return None
    if not match and ":" in text:
        return None  # "Forwards: Ana Ruiz, Li Wei, ...": a labelled list, not tags
    if all(_words(tag) <= 3 and tag[:1].isupper() and not _ends_sentence(tag) for tag in tags):
        return tuple(tags)
    return None


def classify_line(line: str) -> R | None:
    """The furniture category of one stripped line, or None when the line may be article text.

    Only short lines are ever furniture here (prose is long); layout decides the rest.
    """
    n = _words(line)
    if n > 60:
        return None
    if _STAMP_RE.match(line) and parse_date(line):
        return R.DATE_LINE
    if n <= 10 and parse_date(line) and not _ends_sentence(line.rstrip(".")):
        return R.DATE_LINE
    if _COPYRIGHT_RE.search(line) and n <= 40:
        return R.COPYRIGHT
    if _COMMENT_RE.search(line) or (n <= 25 and _COMMENTS_HEAD_RE.match(line)) or (n <= 10 and _COMMENTER_RE.match(line)):
        return R.COMMENT_FORM
    if n <= 25 and _INLINE_LINK_RE.search(line):
        return R.INLINE_LINK
    if (_CAPTION_END_RE.search(line) and n >= 4) or _CAPTION_START_RE.match(line):
        return R.CAPTION
    if n <= 12 and _CREDIT_RE.search(line) and not _ends_sentence(line):
        return R.PHOTO_CREDIT
    if _WRITE_TO_RE.match(line) or (n <= 12 and (_BYLINE_RE.match(line) or _CONTACT_RE.search(line) or _SOURCE_RE.match(line))):
        return R.BYLINE
    if n <= 8 and _RELATED_HEADER_RE.match(line):
        return R.RELATED_ARTICLES
    if n <= 8 and _FURNITURE_RE.match(line.lstrip("*•- ")):
        return R.SITE_FURNITURE
    if n <= 14 and _DONATION_RE.search(line):
        return R.DONATION_APPEAL
    if n <= 12 and _NEWSLETTER_RE.search(line):
        return R.NEWSLETTER_PROMPT
    if n <= 6 and _SHARE_BUTTON_RE.match(line):
        return R.SOCIAL_PROMPT
    if n <= 15 and _SOCIAL_RE.search(line):
        return R.SOCIAL_PROMPT
    return None


# --- the cleaner -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Line:
    no: int
    text: str
    gap_before: int
    gap_after: int
    reason: R | None = None


def _lines(text: str) -> list[_Line]:
    raw = text.split("\n")
    out: list[_Line] = []
    blanks = 0
    for i, line in enumerate(raw, start=1):
        stripped = line.strip()
        if not stripped:
            blanks += 1
            continue
        if out:
            out[-1].gap_after = blanks
        out.append(_Line(no=i, text=stripped, gap_before=blanks if out else 99, gap_after=99))
        blanks = 0
    return out


def line_key(line: str) -> str:
    """A line compared without case and spacing: how repeats are recognised."""
    return " ".join(line.casefold().split())


_key = line_key


#: Passes of the cleaner over its own output at most; in practice it is stable after one or two.
MAX_PASSES: Final[int] = 5


def clean_text(text: str, *, page: PageMeta | None = None, furniture: frozenset[str] = frozenset()) -> Cleaned:
    """Split an article's text into metadata, body and removed lines.

    Input: the decoded text of one scraped article. Output: a `Cleaned` whose body is the kept
    lines, stripped, separated by a blank line, and whose `removed` lists every other non-blank
    line with its reason. Empty or whitespace-only input gives an empty body and no removals.

    `page`: the metadata of an HTML page whose extracted text this is (the extractor has
    already cut the page down to the article, so the layout rules for whole pages are off, and
    metadata the text does not state is taken from the page). `furniture`: line keys learned as
    the furniture of the document's source (`transforms.furniture.learn_furniture`).
    """
    cleaned = _clean_once(text, page=page, furniture=furniture)
    # The body must be clean by the cleaner's own rules (cleaning is idempotent): removing a
    # line can make two copies of a caption adjacent, or end a list early, so the kept text
    # is cleaned again, as headline then body, until nothing more goes.
    nonblank = [(no, line.strip()) for no, line in enumerate(text.split("\n"), start=1) if line.strip()]
    for _ in range(MAX_PASSES):
        removed_nos = {r.line_no for r in cleaned.removed}
        kept = [(no, line) for no, line in nonblank if no not in removed_nos]
        again = _clean_once(
            f"{cleaned.title}\n\n{cleaned.body}" if cleaned.title else cleaned.body, page=page, furniture=furniture
        )
        if again.body == cleaned.body:
            break
        first_body_line = 3 if cleaned.title else 1
        extra = []
        for r in again.removed:
            index = (r.line_no - first_body_line) // 2
            if r.line_no >= first_body_line and 0 <= index < len(kept):
                no, line = kept[index]
                extra.append(RemovedLine(no, line, r.reason))
        removed = tuple(sorted((*cleaned.removed, *extra), key=lambda r: r.line_no))
        dropped = {r.line_no for r in extra}
        cleaned = replace(
            cleaned,
            body="\n\n".join(line for no, line in kept if no not in dropped),
            removed=removed,
        )
    return cleaned


def _clean_once(text: str, *, page: PageMeta | None, furniture: frozenset[str]) -> Cleaned:
    lines = _lines(text)
    for line in lines:
        line.reason = classify_line(line.text)
        if line.reason is None and furniture and _key(line.text) in furniture:
            line.reason = R.SOURCE_FURNITURE

    # A comments section ends the article: readers' text is not the story.
    prose_seen = False
    in_comments = False
    for line in lines:
        if in_comments:
            line.reason = line.reason or R.COMMENT_FORM
        elif prose_seen and line.reason is R.COMMENT_FORM and _COMMENTS_HEAD_RE.match(line.text):
            in_comments = True
        prose_seen = prose_seen or (line.reason is None and is_paragraph(line.text))

    # An author box after the story: its heading and the biography under it.
    for i, line in enumerate(lines):
        if line.reason is None and _AUTHOR_BOX_RE.match(line.text) and any(is_paragraph(ln.text) for ln in lines[:i]):
            line.reason = R.BYLINE
            if i + 1 < len(lines) and lines[i + 1].reason is None and is_paragraph(lines[i + 1].text):
                lines[i + 1].reason = R.BYLINE

    # The headline: the first line that is not furniture, unless it is already prose.
    title_line = next((ln for ln in lines if ln.reason is None), None)
    if title_line is not None and _words(title_line.text) <= 30 and not is_paragraph(title_line.text):
        title_line.reason = R.TITLE
        title_key = _key(title_line.text)
        for line in lines:
            if line is not title_line and _key(line.text) == title_key:
                line.reason = R.REPEATED_TITLE
    else:
        title_line = None
    if page is not None and page.title:
        # the page names its headline: any copy of it in the text is the headline again
        page_title = _key(page.title)
        for line in lines:
            if line is not title_line and line.reason is None and _key(line.text) == page_title:
                line.reason = R.REPEATED_TITLE

    # A line printed twice in a row is a caption (both copies); a later copy elsewhere is a repeat.
    counts = Counter(_key(ln.text) for ln in lines)
    seen: set[str] = set()
    # "in a row" skips lines already known as furniture, so removing them changes nothing
    text_lines = [ln for ln in lines if ln.reason is None or ln.reason is R.CAPTION]
    position = {id(ln): k for k, ln in enumerate(text_lines)}
    for line in lines:
        key = _key(line.text)
        if counts[key] > 1 and line.reason is None or line.reason is R.CAPTION:
            k = position[id(line)]
            neighbours = [text_lines[j] for j in (k - 1, k + 1) if 0 <= j < len(text_lines)]
            if any(_key(other.text) == key for other in neighbours):
                line.reason = R.CAPTION
            elif key in seen and line.reason is None and is_paragraph(line.text):
                # a whole paragraph printed again (pull quote, scraped twice); short lines such as
                # table cells and list items legitimately repeat
                line.reason = R.DUPLICATE_LINE
        seen.add(key)

    # The article is the densest run of prose; in whole-page text what lies outside it is the
    # page around it (navigation above, footers and link lists below).
    start, end = _article_span(lines) if page is None else (0, len(lines) - 1)
    # ... but only where the text shows it is a page: what is cut must hold some furniture (an
    # article that ends with a list of results keeps its list).
    if not _has_furniture(lines[:start], menus=True):
        start = 0
    if not _has_furniture(lines[end + 1 :]):
        end = len(lines) - 1
    paragraphs = [i for i, ln in enumerate(lines) if ln.reason is None and is_paragraph(ln.text) and start <= i <= end]
    first_par = paragraphs[0] if paragraphs else len(lines)
    last_par = paragraphs[-1] if paragraphs else len(lines) - 1

    # Above the first paragraph: the standfirst under the headline, then bylines and source lines.
    subtitle: str | None = None
    # (An HTML page's description is its standfirst as often as it is its first paragraph, so
    # it goes to `subtitle` in _with_page_meta and no line is removed for it.)
    if page is None:
        after_title = title_line is not None
        for line in lines[:first_par]:
            if line is title_line or line.reason is not None:
                continue
            if after_title and not _ends_sentence(line.text) and _words(line.text) >= 6 and not _LABELLED_RE.match(line.text):
                line.reason = R.SUBTITLE  # the first text line under the headline
                subtitle = line.text
            elif _NAME_RE.match(line.text):
                line.reason = R.BYLINE  # a name alone above the story
            after_title = False

    # Between paragraphs: an unpunctuated line set apart by two blank lines links elsewhere.
    for line in lines[first_par:last_par]:
        if (
            line.reason is None
            and _words(line.text) <= 25
            and (
                (not _ends_sentence(line.text) and line.gap_before >= 2 and line.gap_after >= 2)
                or _is_shouted_link(line.text)
            )
        ):
            line.reason = R.INLINE_LINK

    # After the last paragraph: sentences are kept up to the first furniture line, then nothing.
    tags: tuple[str, ...] = ()
    trailing = lines[last_par + 1 :]
    has_furniture = any(ln.reason is not None or _split_tags(ln.text) for ln in trailing)
    block: R | None = None
    for line in trailing:
        line_tags = _split_tags(line.text) if line.reason is None else None
        if line_tags:
            line.reason = R.TAG_LINE
            tags = tags + line_tags
        if line.reason is R.RELATED_ARTICLES:
            block = R.RELATED_ARTICLES
        elif line.reason is not None:
            block = block or R.TRAILING_FURNITURE
        if line.reason is None and has_furniture:
            if block is R.RELATED_ARTICLES and _LIST_ITEM_RE.match(line.text):
                line.reason = R.RELATED_ARTICLES
            elif block is not None:
                # short lines after the last paragraph (a list, a table, a results line) are
                # the story's until a furniture line ends it
                line.reason = R.TRAILING_FURNITURE

    for i, line in enumerate(lines):
        if line.reason is None and not (start <= i <= end):
            line.reason = R.SITE_FURNITURE if i < start else R.TRAILING_FURNITURE

    # A short unclassified line heading a donation appeal belongs to the appeal.
    for line, following in zip(reversed(trailing[:-1]), reversed(trailing[1:])):
        if line.reason is R.TRAILING_FURNITURE and following.reason is R.DONATION_APPEAL:
            line.reason = R.DONATION_APPEAL

    kept = [ln.text for ln in lines if ln.reason is None]
    removed = tuple(RemovedLine(ln.no, ln.text, ln.reason) for ln in lines if ln.reason is not None)
    cleaned = Cleaned(
        body="\n\n".join(kept),
        removed=removed,
        title=title_line.text if title_line else None,
        subtitle=subtitle,
        published_at=_stamp(lines, ("published", "first published", "posted")),
        updated_at=_stamp(lines, ("updated", "last updated", "modified")),
        page_date=_page_date(lines),
        author=_author(lines),
        source_name=_source_name(lines),
        dateline=(_dateline(kept[0]) if kept else None) or _dateline_alone(lines[:first_par]),
        tags=tags,
    )
    if page is not None:
        cleaned = _with_page_meta(cleaned, page)
    return cleaned


RUN_PENALTY: Final[int] = 2


def _article_span(lines: list[_Line]) -> tuple[int, int]:
    """First and last index of the run of lines with the most prose in it.

    Each paragraph counts its words, each other line counts against by its words (at most
    10): the maximum-sum run (Kadane's algorithm) is the article, in the spirit of Finn et
    al.'s body text extraction. No paragraph at all: the whole text.
    """
    best, best_span = 0, (0, len(lines) - 1)
    total, start, run = 0, 0, 0
    # a page's footer: from a copyright line in its second half on, prose is legal text
    footer = next((i for i in range(len(lines) - 1, len(lines) // 2, -1) if lines[i].reason is R.COPYRIGHT), len(lines))
    for i, line in enumerate(lines):
        n = _words(line.text)
        prose = i < footer and line.reason is None and (
            (is_paragraph(line.text) and not (_BULLET_RE.match(line.text) and n < 25)) or _is_table_row(line.text)
        )
        if prose:
            run = 0
        elif n <= 3 or _BULLET_RE.match(line.text):  # menu entries, tags, link-list items
            run += 1
        # a long run of short lines (a menu, a tag cloud, a link list) weighs more than its lines
        score = n if prose else -min(max(n, 2), 10) - RUN_PENALTY * max(run - 1, 0)
        if total <= 0:
            total, start = score, i
        else:
            total += score
        if total > best:
            best, best_span = total, (start, i)
    first, last = best_span
    # The article often opens with a lede shorter than a paragraph: take in the text lines
    # right above the run, up to the first line that is furniture or a heading.
    while first > 0 and _is_lead_in(lines[first - 1]):
        first -= 1
    return first, last


def _is_table_row(text: str) -> bool:
    """A row of a table of figures (results, standings, prices): at least three numbers, and
    numbers in a third of its words at least."""
    words = text.split()
    numbers = sum(1 for word in words if any(ch.isdigit() for ch in word))
    return numbers >= 3 and numbers * 3 >= len(words)


def _is_shouted_link(text: str) -> bool:
    """A headline of another story set in capitals between paragraphs (a subheading is shorter)."""
    letters = [ch for ch in text if ch.isalpha()]
    return _words(text) >= 6 and len(letters) >= 10 and "|" not in text and all(ch.isupper() for ch in letters)


#: What marks the text around an article as a web page's: a story's own header lines (headline,
#: date, byline, standfirst, tags, captions) do not, and neither do short lines, capitals or
#: digits (a results table, a list of names): they are often the story.
_PAGE_FURNITURE: Final[frozenset[R]] = frozenset({
    R.INLINE_LINK, R.RELATED_ARTICLES, R.NEWSLETTER_PROMPT, R.SOCIAL_PROMPT, R.SITE_FURNITURE,
    R.DONATION_APPEAL, R.COMMENT_FORM, R.COPYRIGHT, R.SOURCE_FURNITURE,
})


#: Consecutive lines that make a menu: short (three words at most), without digits (a table
#: row) and not a label ending in ":" (a heading of what follows).
MENU_LINES: Final[int] = 5


def _has_furniture(part: list[_Line], *, menus: bool = False) -> bool:
    """Some line of `part` is a web page's furniture (`_PAGE_FURNITURE`), or, with `menus`,
    MENU_LINES consecutive lines of it are menu entries (above an article, where a page's
    navigation is; below it such lines are as often a list of fixtures or names)."""
    run = 0
    for ln in part:
        if ln.reason in _PAGE_FURNITURE:
            return True
        if not menus:
            continue
        menu_like = ln.reason is None and _words(ln.text) <= 3 and not ln.text.endswith(":") and not any(ch.isdigit() for ch in ln.text)
        run = run + 1 if menu_like else 0
        if run >= MENU_LINES:
            return True
    return False


def _is_lead_in(line: _Line) -> bool:
    n = _words(line.text)
    return line.reason is None and not _BULLET_RE.match(line.text) and (n >= 15 or (n >= 5 and _ends_sentence(line.text)))


def _with_page_meta(cleaned: Cleaned, page: PageMeta) -> Cleaned:
    """Fill what the text did not say from what the HTML page says about itself."""
    return replace(
        cleaned,
        title=cleaned.title or page.title,
        subtitle=cleaned.subtitle or page.description,
        published_at=cleaned.published_at or page.published_at,
        updated_at=cleaned.updated_at or page.updated_at,
        author=cleaned.author or page.author,
        tags=cleaned.tags or page.tags,
        source_name=cleaned.source_name or page.source_name,
        source_url=cleaned.source_url or page.url,
    )


def _stamp(lines: list[_Line], kinds: tuple[str, ...]) -> datetime | None:
    for line in lines:
        match = _STAMP_RE.match(line.text)
        if line.reason is R.DATE_LINE and match and match.group("kind").lower() in kinds:
            return parse_date(line.text)
    return None


def _page_date(lines: list[_Line]) -> date | None:
    for line in lines:
        if line.reason is R.DATE_LINE and not _STAMP_RE.match(line.text):
            found = parse_date(line.text)
            return found.date() if found else None
    return None


def _source_name(lines: list[_Line]) -> str | None:
    for line in lines:
        match = _SOURCE_RE.match(line.text) if line.reason is R.BYLINE else None
        if match and match.group("name").strip().casefold() != "link":
            return match.group("name").strip()
    return None


#: "Posted by Jane Doe on November 19, 2019": a date line that names the author.
_STAMP_BY_RE: Final[re.Pattern[str]] = re.compile(r"\b[Bb]y\s+(?P<name>[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3})\s+(?:on|at)\b")


def _author(lines: list[_Line]) -> str | None:
    for line in lines:
        if line.reason is R.BYLINE:
            match = _WRITE_TO_RE.match(line.text) or _BYLINE_RE.match(line.text)
        elif line.reason is R.DATE_LINE:
            match = _STAMP_BY_RE.search(line.text)
        else:
            continue
        if match:
            return match.group("name").strip()
    return None


def _dateline(first_paragraph: str) -> str | None:
    match = _DATELINE_RE.match(first_paragraph)
    if not match:
        return None
    place = match.group("place").strip()
    return place if len(place) >= 2 and place.upper() == place else None


def _dateline_alone(lines: list[_Line]) -> str | None:
    """The place of a dateline printed on its own line above the story ("TOKYO 2026-12-06")."""
    for line in lines:
        match = _DATELINE_ALONE_RE.match(line.text) if line.reason is R.DATE_LINE else None
        if match and parse_date(match.group("date")):
            return match.group("place").strip()
    return None


def clean_document(raw: RawDoc, *, furniture: frozenset[str] = frozenset()) -> CleanDoc | Rejection:
    """Clean one decoded document and describe its body (language, MinHash signature); the
    exact copy it is stays marked (`duplicate_of`). A document with nothing left is an
    `empty_body` rejection.

    `furniture`: keys of lines learned as furniture of the document's source
    (transforms.furniture), removed as `source_furniture`.
    """
    from transforms.dedup import minhash  # dedup's signatures import datasketch at first use
    from transforms.language import detect_language

    cleaned = clean_text(raw.text, page=raw.page, furniture=furniture)
    if cleaned.body.strip():
        return CleanDoc(
            raw=raw, cleaned=cleaned, language=detect_language(cleaned.body), signature=minhash(cleaned.body), duplicate_of=raw.duplicate_of
        )
    reasons = Counter(r.reason.value for r in cleaned.removed)
    summary = ", ".join(f"{n} {reason}" for reason, n in reasons.most_common(3)) or "no text"
    return Rejection(
        raw.source_path, Stage.CLEAN, QuarantineReason.EMPTY_BODY,
        f"no article text left after removing {len(cleaned.removed)} boilerplate lines ({summary})", raw.doc_id,
        raw.input_sha256 or None,
    )
