"""The data-quality contract of every stage: which expectations hold on what each stage emits.

The contract is plain data here, beside the schemas; `flows.quality` turns it into
great_expectations suites and runs them. Each expectation has an action for when it fails:

- `stop`: the run stops loudly, nothing is loaded: only for what is wrong with the batch as a
  whole (the quarantined share, the entity density, duplicate ids), never for a property of one
  document;
- `quarantine`: the failing rows' documents go to `quarantine` with the expectation's reason,
  and the run goes on without them: a defect of one input, or a defect of the pipeline that one
  input triggered (`failed_check`, with the check and the observed value in the detail);
- `warn`: the result is recorded in `dq_results` and nothing else happens.

Each stage's output is checked as one or more frames. Besides table columns, a frame carries
derived check columns computed by `transforms.checks` (for example `slice_matches`, true when
`body[start_char:end_char] == text`), because an invariant across columns or tables is easier to
state, and to read in a failure report, as a boolean column. Thresholds that users set (the
quarantine share a run tolerates) are `Param`s, filled in from the run's settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from schemas.reasons import ENTITY_LABELS, QuarantineReason, Stage


class Action(StrEnum):
    """What a failed expectation does."""

    STOP = "stop"
    QUARANTINE = "quarantine"
    WARN = "warn"


@dataclass(frozen=True, slots=True)
class Param:
    """An expectation argument taken from the run's parameters (for example a setting)."""

    name: str


@dataclass(frozen=True, slots=True)
class Expectation:
    """One expectation on one frame.

    `kind` is the great_expectations expectation class name (`gx.expectations.<kind>`);
    `kwargs` its arguments (a `Param` value is filled in at run time); `id_column` identifies
    failing rows in reports and, for `quarantine`, says which documents to set aside.
    """

    frame: str
    kind: str
    kwargs: Mapping[str, Any]
    action: Action = Action.STOP
    reason: QuarantineReason | None = None
    id_column: str = "doc_id"
    why: str = ""

    @property
    def critical(self) -> bool:
        return self.action is Action.STOP

    @property
    def column(self) -> str | None:
        value = self.kwargs.get("column")
        return str(value) if value is not None else None

    def resolved_kwargs(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The kwargs with every `Param` replaced by its value.

        Raises:
            KeyError: a Param has no value in `params` (a bug in the flow).
        """
        return {k: params[v.name] if isinstance(v, Param) else v for k, v in self.kwargs.items()}


def _e(
    frame: str,
    kind: str,
    *,
    action: Action = Action.STOP,
    reason: QuarantineReason | None = None,
    id_column: str = "doc_id",
    why: str = "",
    **kwargs: Any,
) -> Expectation:
    if (action is Action.QUARANTINE) != (reason is not None):
        raise ValueError(f"{frame}.{kind}: a quarantine expectation needs a reason, and only it")
    return Expectation(frame=frame, kind=kind, kwargs=kwargs, action=action, reason=reason, id_column=id_column, why=why)


_TRUE: Final[list[bool]] = [True]
_WARN: Final[Action] = Action.WARN
_QUARANTINE: Final[Action] = Action.QUARANTINE
#: A property of one document that the pipeline guarantees: when it fails, the document that
#: triggered the defect is set aside and the batch goes on.
_DOC: Final[dict[str, Any]] = {"action": Action.QUARANTINE, "reason": QuarantineReason.FAILED_CHECK}

#: Phrases of site furniture that must not survive cleaning (checked, not used to clean).
FURNITURE_PATTERN: Final[str] = (
    r"(?i)(?:editor's picks|sign up to our|all rights reserved|leave a reply|"
    r"bloggers like this|spread the love|click here to support|please select one)"
)

#: Encodings the extract stage decodes from.
ENCODINGS: Final[list[str]] = ["utf-8", "utf-8-repaired", "utf-8-sig", "utf-16", "cp1252", "latin-1"]

CONTRACT: Final[Mapping[Stage, tuple[Expectation, ...]]] = {
    Stage.EXTRACT: (
        _e("extracted", "ExpectColumnValuesToNotBeNull", column="doc_id"),
        _e("extracted", "ExpectColumnValuesToBeUnique", column="doc_id", why="an exact copy gets its own doc_id (content and path) before this check"),
        _e("extracted", "ExpectColumnValuesToNotBeNull", column="source_path"),
        _e("extracted", "ExpectColumnValuesToBeInSet", column="encoding", value_set=ENCODINGS, **_DOC),
        _e("extracted", "ExpectColumnValuesToBeBetween", column="n_chars", min_value=1, action=_QUARANTINE,
           reason=QuarantineReason.EMPTY, why="a document has text"),
        _e("extracted", "ExpectColumnValuesToBeBetween", column="n_bytes", max_value=Param("max_file_bytes"),
           action=_QUARANTINE, reason=QuarantineReason.TOO_LARGE, why="inputs stay within the size limit"),
        _e("extracted", "ExpectColumnValuesToBeBetween", column="control_char_ratio", max_value=0.01,
           action=_QUARANTINE, reason=QuarantineReason.BINARY, why="text has almost no control characters"),
        _e("extracted", "ExpectColumnValuesToBeInSet", column="already_loaded", value_set=[False], **_DOC,
           why="a run never loads a document twice"),
    ),
    Stage.CLEAN: (
        _e("documents", "ExpectColumnValuesToBeUnique", column="doc_id"),
        _e("documents", "ExpectColumnValuesToNotBeNull", column="body", **_DOC),
        _e("documents", "ExpectColumnValuesToBeBetween", column="body_ratio", min_value=0.0, max_value=1.0, **_DOC,
           why="cleaning never adds text: the body is no longer than the input's lines, stripped, one paragraph each"),
        _e("documents", "ExpectColumnValuesToBeInSet", column="body_is_substring", value_set=_TRUE, **_DOC,
           why="every body paragraph is a line of the input"),
        _e("documents", "ExpectColumnValuesToBeBetween", column="n_chars_body", min_value=Param("min_body_chars"),
           action=_QUARANTINE, reason=QuarantineReason.BODY_TOO_SHORT, why="an article has a body of some length"),
        _e("documents", "ExpectColumnValuesToBeBetween", column="body_ratio", min_value=0.05, action=_WARN,
           why="a body under 5% of its page suggests the cleaner removed article text"),
        _e("documents", "ExpectColumnValuesToNotBeNull", column="title", mostly=0.8, action=_WARN),
        _e("documents", "ExpectColumnValuesToNotMatchRegex", column="body", regex=FURNITURE_PATTERN, action=_WARN,
           why="known site furniture left in a body"),
    ),
    Stage.ANNOTATE: (
        _e("mentions", "ExpectColumnValuesToBeInSet", column="in_bounds", value_set=_TRUE, **_DOC,
           why="offsets must lie inside the body"),
        _e("mentions", "ExpectColumnValuesToBeInSet", column="slice_matches", value_set=_TRUE, **_DOC,
           why="body[start_char:end_char] must equal the mention text"),
        _e("mentions", "ExpectColumnValuesToBeInSet", column="label", value_set=sorted(ENTITY_LABELS), **_DOC),
        _e("mentions", "ExpectColumnValuesToNotBeNull", column="entity_id", **_DOC),
        _e("mentions", "ExpectColumnValuesToBeInSet", column="in_sentence", value_set=_TRUE, **_DOC,
           why="a mention lies inside the sentence it is assigned to"),
        _e("sentences", "ExpectColumnValuesToBeInSet", column="in_bounds", value_set=_TRUE, **_DOC),
        _e("sentences", "ExpectColumnValuesToBeInSet", column="ordered", value_set=_TRUE, **_DOC,
           why="sentences do not overlap and follow each other"),
        _e("annotated", "ExpectColumnValuesToBeBetween", column="sentence_coverage", min_value=0.98, **_DOC,
           why="sentences cover the body's text (all but whitespace)"),
        _e("quotes", "ExpectColumnValuesToBeInSet", column="slice_matches", value_set=_TRUE, **_DOC,
           why="quote offsets slice the body back to the quotation"),
    ),
    Stage.LOAD: (
        _e("entity_keys", "ExpectColumnValuesToBeUnique", column="alias_key", id_column="alias_key",
           why="the run resolves each of its keys once"),
        _e("entity_keys", "ExpectColumnValuesToNotBeNull", column="entity_id", id_column="alias_key",
           why="every key of the run's mentions resolves to an entity"),
        _e("run", "ExpectColumnValuesToBeBetween", column="quarantined_fraction", max_value=Param("max_quarantined"),
           id_column="quarantined", why="too many inputs rejected: the batch itself is probably broken (--max-quarantined)"),
        _e("run", "ExpectColumnValuesToBeBetween", column="entity_density_ratio", min_value=0.5, id_column="run_id",
           why="mentions per 1,000 body characters fell below half of recent runs' median: NER or cleaning broke"),
    ),
}
