"""Main text and metadata of an HTML page, with trafilatura and htmldate.

Pure: a decoded page in, text and values out (no file or network access). The text is what the
line cleaner then works on: the page's headline on the first line, a blank line, then one
paragraph (or heading, or list item) per line as trafilatura found them.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Final

import htmldate
import trafilatura

from transforms.records import PageMeta

# trafilatura and htmldate log every page they find hard at WARNING; the flow reports outcomes.
for _name in ("trafilatura", "htmldate", "courlan"):
    logging.getLogger(_name).setLevel(logging.ERROR)

_DATE_FORMAT: Final[str] = "%Y-%m-%dT%H:%M:%S"


def _page_date(html: str, *, url: str | None, original: bool) -> datetime | None:
    try:
        found = htmldate.find_date(html, url=url, original_date=original, outputformat=_DATE_FORMAT, extensive_search=False)
    except (ValueError, TypeError):  # htmldate gives up on a malformed tree by raising these
        return None
    if not found:
        return None
    try:
        return datetime.fromisoformat(found)
    except ValueError:
        return None


def _clean_field(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value or None


def extract_html(html: str, *, url: str | None = None) -> tuple[str, PageMeta]:
    """Extract the main text of an HTML page and what the page says about itself.

    Returns (text, meta). `text` is the headline (when the page has one), a blank line, then the
    main text, one block per line; it is '' when the page has neither headline nor main text
    (navigation only, or not HTML). Dates: published_at is htmldate's original date and
    updated_at its latest date when that differs, both with their time when the page gives it.
    """
    if not html.strip():
        return "", PageMeta(url=url)
    document = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=True, include_images=False,
    )
    body = ""
    meta_title = meta_desc = meta_author = meta_site = meta_url = None
    tags: tuple[str, ...] = ()
    if document is not None:
        body = getattr(document, "text", None) or ""
        meta_title = _clean_field(getattr(document, "title", None))
        meta_desc = _clean_field(getattr(document, "description", None))
        meta_author = _clean_field(getattr(document, "author", None))
        meta_site = _clean_field(getattr(document, "sitename", None))
        meta_url = _clean_field(getattr(document, "url", None))
        raw_tags = [part for item in (getattr(document, "tags", None) or []) for part in str(item).split(",")]
        tags = tuple(dict.fromkeys(t for t in (_clean_field(x) for x in raw_tags) if t))
    published = _page_date(html, url=url, original=True)
    updated = _page_date(html, url=url, original=False)
    meta = PageMeta(
        title=meta_title,
        description=meta_desc,
        author=meta_author,
        published_at=published,
        updated_at=updated if updated and updated != published else None,
        source_name=meta_site,
        url=url or meta_url,
        tags=tags,
    )
    lines = [line.strip() for line in body.split("\n")]
    text = "\n".join(line for line in lines if line)
    parts = [part for part in (meta_title, text) if part]
    return "\n\n".join(parts), meta
