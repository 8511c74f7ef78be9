"""The data-quality report: one static HTML page from `runs`, `dq_results` and `quarantine` rows.

It answers "what went wrong, and is it getting worse": the latest run's quarantined files and
failed or warned checks first, then charts over the recent runs, then every run's checks, each
with its action (stop, quarantine, warn), its threshold and what was observed, in words. No
script, no style sheet or font from elsewhere, charts drawn as inline SVG: the page renders the
same offline.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from schemas import CONTRACT, Expectation
from schemas.contracts import Param

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 80rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; font-size: 0.9rem; vertical-align: top; }
.failed { background: #fdd; } .warned { background: #ffe9b3; } .passed { color: #264; }
.status-failed { color: #b00; } .status-completed { color: #264; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5rem; } figure { margin: 0; } figcaption { font-size: 0.9rem; }
svg text { font-size: 10px; fill: #444; }
"""
_COLOURS = ("#c0392b", "#e67e22", "#8e44ad", "#2980b9", "#16a085", "#7f8c8d", "#d35400", "#2c3e50")


def render_report(
    runs: Iterable[Mapping[str, Any]],
    dq_results: Iterable[Mapping[str, Any]],
    quarantined: Iterable[Mapping[str, Any]] = (),
    quarantine_counts: Iterable[Mapping[str, Any]] = (),
    *,
    n_runs: int | None = None,
) -> str:
    """The report's page.

    Input: `runs` rows, their `dq_results` rows, their first `quarantine` rows (run_id,
    source_path, stage, reason, detail) and quarantine counts (run_id, reason, n), as
    `warehouse.state.report_rows` reads them. `n_runs`, the runs the lake holds when more than
    the runs given: the page says where the older runs' results are. No runs: a page saying so.
    """
    ordered = sorted(runs, key=lambda r: r["run_id"], reverse=True)
    checks: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in dq_results:
        checks[row["run_id"]].append(row)
    files: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in quarantined:
        files[row["run_id"]].append(row)
    by_reason: dict[str, dict[str, int]] = defaultdict(dict)
    for row in quarantine_counts:
        by_reason[row["run_id"]][row["reason"]] = int(row["n"])
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>newsetl data quality</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>newsetl data quality</h1>",
    ]
    if not ordered:
        parts.append("<p>No runs yet.</p></body></html>")
        return "\n".join(parts)
    latest = ordered[0]
    parts.append(f"<h2>Latest run {escape(latest['run_id'])}: {_status(latest)}</h2>")
    parts.append(f"<p>{_summary(latest, by_reason.get(latest['run_id'], {}))}</p>")
    if latest.get("error"):
        parts.append(f"<pre>{escape(str(latest['error']))}</pre>")
    parts += _quarantine_table(latest, files.get(latest["run_id"], []))
    problems = [row for row in checks.get(latest["run_id"], []) if not row["success"]]
    if problems:
        parts.append(f"<h3>Failed and warned checks ({len(problems)})</h3>")
        parts += _checks_table(problems)
    elif checks.get(latest["run_id"]):
        parts.append(f"<p>All {len(checks[latest['run_id']])} checks passed.</p>")
    parts.append(f"<h2>The last {len(ordered)} runs</h2>")
    if n_runs is not None and n_runs > len(ordered):
        parts.append(
            f"<p>The latest {len(ordered)} of {n_runs} runs. Every run's results are in the "
            "<code>dq_results</code> table: <code>newsetl sql \"select * from dq_results where run_id = '...'\"</code>.</p>"
        )
    parts.append(_charts(list(reversed(ordered)), by_reason))
    for run in ordered:
        rows = checks.get(run["run_id"], [])
        parts.append(f"<h3 id='run-{escape(run['run_id'])}'>Run {escape(run['run_id'])}: {_status(run)}</h3>")
        parts.append(f"<p>{_summary(run, by_reason.get(run['run_id'], {}))}</p>")
        if run is not latest and run.get("error"):
            parts.append(f"<pre>{escape(str(run['error']))}</pre>")
        if run is not latest:
            parts += _quarantine_table(run, files.get(run["run_id"], []))
        failing = [row for row in rows if not row["success"]]
        if failing and run is not latest:
            parts += _checks_table(failing)
        passed = [row for row in rows if row["success"]]
        if passed:
            parts.append(f"<details><summary>{len(passed)} checks passed</summary>")
            parts += _checks_table(passed)
            parts.append("</details>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _status(run: Mapping[str, Any]) -> str:
    status = escape(str(run["status"]))
    return f"<span class='status-{status}'>{status}</span>"


def _summary(run: Mapping[str, Any], reasons: Mapping[str, int]) -> str:
    why = ", ".join(f"{n} {escape(reason)}" for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]))
    return (
        f"{run['n_input']} files read, {run['n_loaded']} loaded, {run['n_skipped']} unchanged, "
        f"{run['n_quarantined']} quarantined{f' ({why})' if why else ''}; "
        f"{_seconds(run):.1f} s."
    )


def _seconds(run: Mapping[str, Any]) -> float:
    return sum(float(run.get(f"{stage}_s") or 0) for stage in ("extract", "clean", "annotate", "quality", "load"))


def _quarantine_table(run: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> list[str]:
    if not rows:
        return []
    out = [f"<h3>Quarantined files ({run['n_quarantined']})</h3>",
           "<table><thead><tr><th>path</th><th>stage</th><th>reason</th><th>detail</th></tr></thead><tbody>"]
    out += [
        f"<tr><td>{escape(str(r['source_path']))}</td><td>{escape(str(r['stage']))}</td>"
        f"<td>{escape(str(r['reason']))}</td><td>{escape(str(r['detail'] or ''))}</td></tr>"
        for r in rows
    ]
    out.append("</tbody></table>")
    if int(run["n_quarantined"] or 0) > len(rows):
        out.append(
            f"<p>The first {len(rows)} by path; all of them: <code>newsetl sql \"select * from quarantine "
            f"where run_id = '{escape(run['run_id'])}'\"</code>.</p>"
        )
    return out


def _checks_table(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    out = ["<table><thead><tr><th>stage</th><th>table</th><th>check</th><th>action</th><th>threshold</th>"
           "<th>result</th><th>observed</th><th>why it matters</th></tr></thead><tbody>"]
    for row in rows:
        spec = _spec(row)
        action = spec.action.value if spec else ("stop" if row["critical"] else "quarantine or warn")
        css = "passed" if row["success"] else ("failed" if row["critical"] else "warned")
        result = "passed" if row["success"] else ("FAILED" if row["critical"] else "did not hold")
        check = row["expectation"].removeprefix("expect_").replace("_", " ")
        column = f" {escape(row['column_name'])}" if row.get("column_name") else ""
        out.append(
            f"<tr class='{css}'><td>{escape(row['stage'])}</td><td>{escape(row['table_name'])}</td>"
            f"<td>{escape(check)}{column}</td><td>{action}</td><td>{escape(_threshold(spec))}</td>"
            f"<td>{result}</td><td>{escape(observed_in_words(row['observed'], spec))}</td>"
            f"<td>{escape(spec.why if spec else '')}</td></tr>"
        )
    out.append("</tbody></table>")
    return out


def _snake(kind: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()


def _spec(row: Mapping[str, Any]) -> Expectation | None:
    """The contract's expectation a `dq_results` row is the result of (None: not in this
    version's contract)."""
    for spec in CONTRACT.get(row["stage"], ()):
        if spec.frame == row["table_name"] and _snake(spec.kind) == row["expectation"]:
            if spec.column == row.get("column_name") or (spec.column is None and not row.get("column_name")):
                return spec
    return None


def _threshold(spec: Expectation | None) -> str:
    if spec is None:
        return ""
    words = []
    for key, value in spec.kwargs.items():
        if key in ("column", "column_A", "column_B"):
            continue
        shown = f"the run's {value.name.replace('_', ' ')} setting" if isinstance(value, Param) else _value(value)
        words.append(f"{key.replace('_', ' ')} {shown}")
    return "; ".join(words)


def _value(value: Any) -> str:
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(str(v) for v in value)
        return "{" + ", ".join(items[:8]) + (", ..." if len(items) > 8 else "") + "}"
    return str(value)


def observed_in_words(text: str | None, spec: Expectation | None = None) -> str:
    """A `dq_results.observed` value as a person reads it: "3 of 30 documents", "observed 0.42"."""
    try:
        value = json.loads(text) if text else None
    except (TypeError, ValueError):
        return str(text)
    if not isinstance(value, dict):
        return "" if value is None else str(value)
    noun = "documents" if spec is None or spec.id_column == "doc_id" else "rows"
    if "unexpected_count" in value:
        words = f"{value['unexpected_count']:,} of {value.get('element_count', 0):,} {noun} did not match"
        examples = [str(v) for v in value.get("partial_unexpected_list") or []][:3]
        return words + (f", e.g. {', '.join(examples)}" if examples else "")
    if "observed_value" in value:
        observed = value["observed_value"]
        return f"observed {observed:.3g}" if isinstance(observed, float) else f"observed {observed}"
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in value.items())


# --- charts: inline SVG -------------------------------------------------------------------------


def _charts(runs: Sequence[Mapping[str, Any]], by_reason: Mapping[str, Mapping[str, int]]) -> str:
    """Four charts over `runs` (oldest first): documents loaded, quarantined share by reason,
    entity density, run time."""
    labels = [str(run["run_id"]) for run in runs]
    reasons = sorted({reason for counts in by_reason.values() for reason in counts})
    share = {
        reason: [by_reason.get(run["run_id"], {}).get(reason, 0) / max(int(run["n_input"] or 0), 1) for run in runs]
        for reason in reasons
    }
    charts = [
        _bars("documents loaded", labels, {"loaded": [float(run["n_loaded"] or 0) for run in runs]}, "{:,.0f}"),
        _bars("quarantined share of the files read, by reason", labels, share or {"none": [0.0] * len(runs)}, "{:.0%}"),
        _bars("entity density (mentions per 1,000 characters)", labels,
              {"density": [float(run.get("entity_density") or 0) for run in runs]}, "{:.2f}"),
        _bars("run time (seconds)", labels, {"seconds": [_seconds(run) for run in runs]}, "{:.1f}"),
    ]
    return "<div class='charts'>" + "".join(charts) + "</div>"


def _bars(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]], fmt: str) -> str:
    """A stacked bar chart, one bar per label, as an SVG figure; each bar's value is its tooltip."""
    width, height, left, bottom = 420, 150, 44, 18
    n = max(len(labels), 1)
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = max(totals, default=0) or 1
    step = (width - left) / n
    shapes = [
        f"<line x1='{left}' y1='{height - bottom}' x2='{width}' y2='{height - bottom}' stroke='#999'/>",
        f"<text x='{left - 4}' y='10' text-anchor='end'>{escape(fmt.format(top))}</text>",
        f"<text x='{left - 4}' y='{height - bottom}' text-anchor='end'>0</text>",
    ]
    for i, label in enumerate(labels):
        base = float(height - bottom)
        for k, (name, values) in enumerate(series.items()):
            size = (height - bottom - 12) * values[i] / top
            if size <= 0:
                continue
            base -= size
            tip = f"{label}: {name} {fmt.format(values[i])}"
            shapes.append(
                f"<rect x='{left + i * step + 1:.1f}' y='{base:.1f}' width='{max(step - 2, 1):.1f}' height='{size:.1f}' "
                f"fill='{_COLOURS[k % len(_COLOURS)]}'><title>{escape(tip)}</title></rect>"
            )
    if labels:
        shapes.append(f"<text x='{left}' y='{height - 4}'>{escape(labels[0][:15])}</text>")
        shapes.append(f"<text x='{width}' y='{height - 4}' text-anchor='end'>{escape(labels[-1][:15])}</text>")
    legend = "".join(
        f"<span style='color:{_COLOURS[k % len(_COLOURS)]}'>&#9632;</span> {escape(name)} " for k, name in enumerate(series)
    ) if len(series) > 1 else ""
    return (
        f"<figure><svg width='{width}' height='{height}' role='img' "
        f"aria-label='{escape(title)}'>{''.join(shapes)}</svg><figcaption>{escape(title)} {legend}</figcaption></figure>"
    )
