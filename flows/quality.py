"""Run the data-quality contract (`schemas.contracts`) with great_expectations.

great_expectations is imported here and only here, on first use, with its analytics and
progress bars off. Each stage's frames are validated as pandas DataFrames in an ephemeral GX
context; every result becomes a `dq_results` row, and a failed critical expectation raises
`QualityGateFailed` naming the stage, the expectation, what was observed and example rows.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from schemas import CONTRACT, Expectation, QuarantineReason, Stage
from schemas.contracts import Action

Row = dict[str, Any]
EXAMPLES = 5
#: Runs on the data-quality report's front page (older ones are in `dq_results`).
REPORT_RUNS = 50


class QualityGateFailed(RuntimeError):
    """A critical expectation failed; `dq_rows` holds every result of the stage."""

    def __init__(self, stage: Stage, failures: Sequence[str], dq_rows: Sequence[Row]) -> None:
        self.stage = stage
        self.failures = list(failures)
        self.dq_rows = list(dq_rows)
        lines = "\n".join(f"  - {failure}" for failure in failures)
        super().__init__(f"data-quality gate failed at stage {stage.value!r}:\n{lines}")


_LOCK = threading.Lock()
#: The data-quality report, in the data dir.
REPORT_PAGE = "report.html"


def gx_run_name(run_id: str) -> str:
    """The name great_expectations files a run's validations under: the run id, prefixed.

    GX reads a run's name as a date where it can (dateutil's parser): for the time of a run
    given none, and for each Data Docs page's title. dateutil skips "ad" as a filler word and
    reads the digits before it as a UTC offset, so a run id such as 20261122T120337Z-6684ad
    parsed with an offset of 67 h 24 min, which GX cannot compare or convert: the run's quality
    gate failed (a run id in about 1,800), and given a time, its pages could not be rendered.
    With ...-0130ad, its results were filed 1 h 30 min off. dateutil does not know the word
    "newsetl", so the prefixed name never parses (a ValueError, which GX expects); the time is
    given too (`validate_stage`'s check time)."""
    return f"newsetl-{run_id}"


def prepare() -> None:
    """Import great_expectations and create its in-memory context now (it takes seconds)."""
    _context()


def docs_index(data_dir: Path) -> Path:
    """The data-quality report's page (see `transforms.report`)."""
    return Path(data_dir) / REPORT_PAGE


def _context() -> Any:
    with _LOCK:
        return _new_context()


@lru_cache(maxsize=1)
def _new_context() -> Any:
    """great_expectations' in-memory context: the results are kept in `dq_results`, and the
    report is newsetl's own page, so nothing of GX's is written to disk."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # That module sets its own logger to INFO, which prints where each temporary docs folder goes.
    logging.getLogger(ProgressBarsConfig.__module__).setLevel(logging.WARNING)
    context: Any = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    try:
        context.data_sources.get("newsetl")
    except (KeyError, LookupError, ValueError):
        context.data_sources.add_pandas("newsetl")
    return context


def _validate(
    context: Any,
    *,
    stage: Stage,
    frame_name: str,
    suite: Any,
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    id_columns: Sequence[str],
    run_id: str,
    run_time: datetime,
) -> Any:
    """Validate one frame through a GX Checkpoint; return its validation result."""
    import great_expectations as gx
    import pandas as pd
    from great_expectations.core.run_identifier import RunIdentifier

    datasource = context.data_sources.get("newsetl")
    try:
        asset = datasource.get_asset(frame_name)
    except LookupError:
        asset = datasource.add_dataframe_asset(name=frame_name)
    try:
        definition = asset.get_batch_definition("whole")
    except (KeyError, LookupError, ValueError):
        definition = asset.add_batch_definition_whole_dataframe("whole")
    name = f"newsetl.{stage.value}.{frame_name}"
    suite = context.suites.add_or_update(suite)
    validation = context.validation_definitions.add_or_update(gx.ValidationDefinition(name=name, data=definition, suite=suite))
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=name,
            validation_definitions=[validation],
            actions=[],
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": list(id_columns)},
        )
    )
    # only the columns the suite reads (the rows carry whole table rows: bodies, lineage); a
    # column missing from the rows stays missing, so that its expectations fail loudly
    present = [c for c in columns if c in rows[0]] if rows else list(columns)
    frame = pd.DataFrame(list(rows), columns=present) if rows else pd.DataFrame(columns=present)
    result = checkpoint.run(batch_parameters={"dataframe": frame}, run_id=RunIdentifier(run_name=gx_run_name(run_id), run_time=run_time))
    return next(iter(result.run_results.values()))


def write_report(data_dir: Path) -> Path:
    """Rewrite the data-quality report from the latest REPORT_RUNS runs in the lake (read by
    DuckDB, so the page costs the same however many runs the lake holds); return its path."""
    from transforms.report import render_report
    from warehouse.lake import Lake
    from warehouse.state import report_rows

    rows = report_rows(Lake(data_dir), n=REPORT_RUNS)
    html = render_report(rows.runs, rows.results, rows.quarantined, rows.quarantine_counts, n_runs=rows.n_runs)
    index = docs_index(data_dir)
    tmp = index.with_suffix(".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(index)
    return index


def _columns(spec: Expectation) -> list[str]:
    names = [spec.id_column]
    names += [str(v) for k, v in spec.kwargs.items() if k in ("column", "column_A", "column_B")]
    return names


def _suite(stage: Stage, frame: str, specs: Sequence[Expectation], kwargs: Sequence[Mapping[str, Any]]) -> Any:
    import great_expectations as gx

    # Given whole to the suite: `add_expectation` on a suite the context's store already holds
    # (every run after the first) rewrites the stored suite once per expectation.
    return gx.ExpectationSuite(
        name=f"newsetl.{stage.value}.{frame}",
        expectations=[
            getattr(gx.expectations, spec.kind)(**dict(args), meta={"newsetl_index": index, "action": spec.action.value, "why": spec.why})
            for index, (spec, args) in enumerate(zip(specs, kwargs))
        ],
    )


def _observed(result: Mapping[str, Any]) -> dict[str, Any]:
    if "observed_value" in result:
        return {"observed_value": result["observed_value"]}
    keep = ("element_count", "unexpected_count", "unexpected_percent", "partial_unexpected_list")
    return {key: result[key] for key in keep if key in result}


def _exception_message(info: Any) -> str | None:
    """GX reports exceptions either flat or keyed by metric; return the first message."""
    if not isinstance(info, Mapping):
        return None
    if info.get("raised_exception") and info.get("exception_message"):
        return str(info["exception_message"])
    for value in info.values():
        found = _exception_message(value)
        if found:
            return found
    return None


def _examples(result: Mapping[str, Any], id_column: str) -> list[Any]:
    rows = result.get("partial_unexpected_index_list") or []
    ids = [row.get(id_column) if isinstance(row, Mapping) else row for row in rows]
    return list(dict.fromkeys(str(i) for i in ids))[:EXAMPLES]


@dataclass
class StageCheck:
    """What a stage's checks found: every result as a `dq_results` row, and the documents that
    `quarantine` expectations set aside (doc_id -> reason and detail)."""

    dq_rows: list[Row] = field(default_factory=list)
    quarantined: dict[str, tuple[QuarantineReason, str]] = field(default_factory=dict)


def validate_stage(
    stage: Stage,
    frames: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    run_id: str,
    params: Mapping[str, Any] | None = None,
) -> StageCheck:
    """Check the frames a stage produced against its contract.

    Input: frame name -> rows, for frames the stage's contract names (a stage may check its
    frames in several calls: the load stage checks each chunk's entity keys, then the run), and
    the values of the contract's `Param`s. Output: one `dq_results` row per expectation, and the documents
    failing `quarantine` expectations. `warn` failures are only recorded.

    Raises:
        QualityGateFailed: at least one `stop` expectation failed (or could not be evaluated,
            for example because a column is missing); the exception carries all result rows.
        KeyError: a frame the stage's contract does not name was given, or a Param it names
            was not (a bug in the flow).
    """
    params = params or {}
    specs_by_frame: dict[str, list[Expectation]] = {}
    for spec in CONTRACT[stage]:
        if spec.frame in frames:
            specs_by_frame.setdefault(spec.frame, []).append(spec)
    if unknown := set(frames) - set(specs_by_frame):
        raise KeyError(f"the {stage.value} contract has no frame {', '.join(sorted(unknown))}")
    context = _context()
    now = datetime.now(timezone.utc)
    check = StageCheck()
    failures: list[str] = []
    for frame_name, specs in specs_by_frame.items():
        rows = frames[frame_name]
        columns = sorted({c for spec in specs for c in _columns(spec)})
        kwargs = [spec.resolved_kwargs(params) for spec in specs]
        validation = _validate(
            context,
            stage=stage,
            frame_name=frame_name,
            suite=_suite(stage, frame_name, specs, kwargs),
            rows=rows,
            columns=columns,
            id_columns=sorted({s.id_column for s in specs}),
            run_id=run_id,
            run_time=now,
        )
        # GX does not keep the suite's order; each result names its spec in meta.
        results = sorted(validation.results, key=lambda r: r.expectation_config.meta["newsetl_index"])
        if len(results) != len(specs):
            raise RuntimeError(f"great_expectations returned {len(results)} results for {len(specs)} expectations")
        for spec, args, result in zip(specs, kwargs, results):
            observed = _observed(result.result)
            error = _exception_message(getattr(result, "exception_info", None))
            if error:
                observed["error"] = error
            success = bool(result.success)
            check.dq_rows.append(
                {
                    "run_id": run_id,
                    "stage": stage.value,
                    "table_name": frame_name,
                    "expectation": result.expectation_config.type,
                    "column_name": spec.column,
                    "critical": spec.critical,
                    "success": success,
                    "observed": json.dumps(observed, default=str),
                    "checked_at": now,
                }
            )
            if success:
                continue
            described = _describe(frame_name, result.expectation_config.type, spec, args)
            if spec.action is Action.STOP or error:
                examples = _examples(result.result, spec.id_column)
                failures.append(
                    described
                    + (f" could not be evaluated: {error}" if error else f" observed {json.dumps(observed, default=str)}")
                    + (f"; examples ({spec.id_column}): {', '.join(examples)}" if examples else "")
                    + (f" [{spec.why}]" if spec.why else "")
                )
            elif spec.action is Action.QUARANTINE and spec.reason is not None:
                for item in result.result.get("unexpected_index_list") or []:
                    doc_id = str(item.get(spec.id_column))
                    value = item.get(spec.column) if spec.column else None
                    detail = f"{spec.why or described}: {spec.column} = {value} ({described})"
                    check.quarantined.setdefault(doc_id, (spec.reason, detail))
    if failures:
        raise QualityGateFailed(stage, failures, check.dq_rows)
    return check


def _describe(frame: str, expectation_type: str, spec: Expectation, args: Mapping[str, Any]) -> str:
    rest = {k: v for k, v in args.items() if k != "column"}
    inner = ", ".join([*([spec.column] if spec.column else []), *(f"{k}={v!r}" for k, v in rest.items())])
    return f"{frame}: {expectation_type}({inner})"
