"""Closed vocabularies shared by every stage: stages, quarantine and removal reasons, labels.

Each value is written into the tables as text, so renaming one is a breaking change for users'
queries. The members are the single list of accepted values: the data-quality contract and the
documentation read them from here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Stage(StrEnum):
    """A pipeline stage; also the `stage` column of `quarantine` and `dq_results`."""

    EXTRACT = "extract"
    CLEAN = "clean"
    ANNOTATE = "annotate"
    LOAD = "load"


class QuarantineReason(StrEnum):
    """Why a document was set aside instead of loaded (`quarantine.reason`)."""

    UNREADABLE = "unreadable"  # the file could not be opened or read (permissions, broken link)
    NOT_A_REGULAR_FILE = "not_a_regular_file"  # a named pipe, socket or device: never opened
    TOO_LARGE = "too_large"  # above the configured size limit
    EMPTY = "empty"  # zero bytes or only whitespace
    BINARY = "binary"  # not text: control bytes, NULs
    UNSUPPORTED_FORMAT = "unsupported_format"  # PDF, images, archives, HTML (not yet supported)
    EMPTY_BODY = "empty_body"  # nothing left after boilerplate removal
    BODY_TOO_SHORT = "body_too_short"  # a body under the minimum length (--min-body-chars)
    ANNOTATION_ERROR = "annotation_error"  # the NLP pipeline failed on this document
    FAILED_CHECK = "failed_check"  # a data-quality check of one document failed (detail: the check, the value)


class RemovalReason(StrEnum):
    """Why the cleaner removed a line (`removed_lines.reason`)."""

    TITLE = "title"  # the headline, moved to `documents.title`
    REPEATED_TITLE = "repeated_title"  # another copy of the headline
    SUBTITLE = "subtitle"  # the standfirst under the headline, moved to `documents.subtitle`
    DATE_LINE = "date_line"  # a published/updated stamp or the page's own date
    CAPTION = "caption"  # photo caption, including duplicated ones
    PHOTO_CREDIT = "photo_credit"  # a credit line such as "Name/Agency/Getty Images"
    BYLINE = "byline"  # author, source or contact line
    INLINE_LINK = "inline_link"  # "read also" style link between paragraphs
    RELATED_ARTICLES = "related_articles"  # a related-articles header and its list
    NEWSLETTER_PROMPT = "newsletter_prompt"  # sign-up and subscription prompts
    SOCIAL_PROMPT = "social_prompt"  # share / follow / like prompts
    SITE_FURNITURE = "site_furniture"  # navigation blocks: picks, most read, source link
    DONATION_APPEAL = "donation_appeal"  # requests for money or support
    COMMENT_FORM = "comment_form"  # "Leave a reply" and its form text
    COPYRIGHT = "copyright"  # copyright and tracking lines
    TAG_LINE = "tag_line"  # comma-separated topic tags, moved to `documents.tags`
    DUPLICATE_LINE = "duplicate_line"  # a later exact copy of a line already kept
    TRAILING_FURNITURE = "trailing_furniture"  # other short lines after the article's end
    SOURCE_FURNITURE = "source_furniture"  # a line recurring across many documents of the same source


class RunStatus(StrEnum):
    """`runs.status`: a run is written as running first, then completed or failed."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


#: Named-entity labels kept as mentions: spaCy's OntoNotes labels for names. Numeric and temporal
#: labels (DATE, TIME, PERCENT, MONEY, QUANTITY, ORDINAL, CARDINAL) are dropped by the annotate
#: stage: they are not entities a user counts or resolves across documents.
ENTITY_LABELS: Final[frozenset[str]] = frozenset(
    {"PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE"}
)
