"""The data-quality contract of every stage: which expectations hold on what each stage emits.

The contract is plain data here, beside the schemas; `flows.quality` turns it into
great_expectations suites and runs them. A *critical* expectation that fails stops the run;
a non-critical one is recorded in `dq_results` as a warning.

Each stage's output is checked as one or more frames. Besides table columns, a frame carries
derived check columns computed by `transforms.checks` (for example `slice_matches`, true when
`body[start_char:end_char] == text`), because an invariant across columns or tables is easier to
state, and to read in a failure report, as a boolean column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from schemas.reasons import ENTITY_LABELS, Stage


@dataclass(frozen=True, slots=True)
class Expectation:
    """One expectation on one frame.

    `kind` is the great_expectations expectation class name (`gx.expectations.<kind>`);
    `kwargs` its arguments; `id_column` is printed with failing rows to identify them.
    """

    frame: str
    kind: str
    kwargs: Mapping[str, Any]
    critical: bool = True
    id_column: str = "doc_id"
    why: str = ""

    @property
    def column(self) -> str | None:
        value = self.kwargs.get("column")
        return str(value) if value is not None else None


def _e(frame: str, kind: str, *, critical: bool = True, id_column: str = "doc_id", why: str = "", **kwargs: Any) -> Expectation:
    return Expectation(frame=frame, kind=kind, kwargs=kwargs, critical=critical, id_column=id_column, why=why)


_TRUE: Final[list[bool]] = [True]

#: Phrases of site furniture that must not survive cleaning (checked, not used to clean).
FURNITURE_PATTERN: Final[str] = (
    r"(?i)(?:editor's picks|sign up to our|all rights reserved|leave a reply|"
    r"bloggers like this|spread the love|click here to support|please select one)"
)

CONTRACT: Final[Mapping[Stage, tuple[Expectation, ...]]] = {
    Stage.EXTRACT: (
        _e("extracted", "ExpectColumnValuesToNotBeNull", column="doc_id"),
        _e("extracted", "ExpectColumnValuesToBeUnique", column="doc_id", why="duplicates are quarantined before this check"),
        _e("extracted", "ExpectColumnValuesToNotBeNull", column="source_path"),
        _e("extracted", "ExpectColumnValuesToBeBetween", column="n_chars", min_value=1, why="empty files are quarantined"),
        _e("extracted", "ExpectColumnValuesToBeInSet", column="encoding",
           value_set=["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]),
        _e("extracted", "ExpectColumnValuesToBeBetween", column="control_char_ratio", max_value=0.01,
           why="binary files are quarantined; text has almost no control characters"),
    ),
    Stage.CLEAN: (
        _e("documents", "ExpectColumnValuesToBeUnique", column="doc_id"),
        _e("documents", "ExpectColumnValuesToNotBeNull", column="body"),
        _e("documents", "ExpectColumnValueLengthsToBeBetween", column="body", min_value=1,
           why="documents with an empty body are quarantined"),
        _e("documents", "ExpectColumnValuesToBeBetween", column="body_ratio", min_value=0.0, max_value=1.0,
           why="cleaning never adds text"),
        _e("documents", "ExpectColumnValuesToBeInSet", column="body_is_substring", value_set=_TRUE,
           why="every body paragraph is a line of the input"),
        _e("documents", "ExpectColumnValuesToNotBeNull", column="title", mostly=0.8, critical=False),
        _e("documents", "ExpectColumnValuesToNotMatchRegex", column="body", regex=FURNITURE_PATTERN, critical=False,
           why="known site furniture left in a body"),
    ),
    Stage.ANNOTATE: (
        _e("mentions", "ExpectColumnValuesToBeInSet", column="in_bounds", value_set=_TRUE,
           why="offsets must lie inside the body"),
        _e("mentions", "ExpectColumnValuesToBeInSet", column="slice_matches", value_set=_TRUE,
           why="body[start_char:end_char] must equal the mention text"),
        _e("mentions", "ExpectColumnValuesToBeInSet", column="label", value_set=sorted(ENTITY_LABELS)),
        _e("mentions", "ExpectColumnValuesToNotBeNull", column="entity_id"),
        _e("mentions", "ExpectColumnValuesToBeInSet", column="in_sentence", value_set=_TRUE,
           why="a mention lies inside the sentence it is assigned to"),
        _e("sentences", "ExpectColumnValuesToBeInSet", column="in_bounds", value_set=_TRUE),
        _e("sentences", "ExpectColumnValuesToBeInSet", column="ordered", value_set=_TRUE,
           why="sentences do not overlap and follow each other"),
    ),
    Stage.LOAD: (
        _e("documents", "ExpectColumnValuesToBeInSet", column="already_loaded", value_set=[False],
           why="a run never loads a document twice"),
        _e("mentions", "ExpectColumnValuesToBeInSet", column="document_exists", value_set=_TRUE),
        _e("mentions", "ExpectColumnValuesToBeInSet", column="entity_exists", value_set=_TRUE),
        _e("entities", "ExpectColumnValuesToBeUnique", column="entity_id", id_column="entity_id"),
        _e("entities", "ExpectColumnValuesToBeBetween", column="n_mentions", min_value=1, id_column="entity_id"),
        _e("entities", "ExpectColumnPairValuesAToBeGreaterThanB", column_A="n_mentions", column_B="n_documents",
           or_equal=True, id_column="entity_id", why="an entity cannot be in more documents than it has mentions"),
        _e("quotes", "ExpectColumnValuesToBeInSet", column="slice_matches", value_set=_TRUE,
           why="quote offsets slice the body back to the quotation"),
        _e("quotes", "ExpectColumnValuesToBeInSet", column="speaker_exists", value_set=_TRUE,
           why="a quote's speaker is an entity of the warehouse"),
    ),
}

