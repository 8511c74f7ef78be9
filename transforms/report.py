"""The front page of the data-quality report: static HTML from `runs` and `dq_results` rows.

great_expectations renders one page per validation, but its own index fills its table with
scripts from public CDNs and shows nothing offline. This page needs no script and no network.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 2rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; font-size: 0.9rem; }
.failed { background: #fdd; } .warned { background: #ffe9b3; } .passed { color: #264; }
.status-failed { color: #b00; } .status-completed { color: #264; }
"""


def _result_class(row: Mapping[str, Any]) -> tuple[str, str]:
    if row["success"]:
        return "passed", "passed"
    return ("failed", "FAILED") if row["critical"] else ("warned", "warning / quarantine")


def _observed(text: str) -> str:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return escape(str(text))
    if isinstance(value, dict):
        value = {k: v for k, v in value.items() if k != "partial_unexpected_list"}
    return escape(json.dumps(value, default=str))


def render_report(
    runs: Iterable[Mapping[str, Any]],
    dq_results: Iterable[Mapping[str, Any]],
    links: Mapping[tuple[str, str, str], str],
    *,
    n_runs: int | None = None,
) -> str:
    """The report's front page.

    Input: `runs` and `dq_results` rows (as in the tables), and links from (run_id, stage,
    frame) to great_expectations' page of that validation, relative to the page. Output: one
    HTML document listing runs newest first, each with every expectation and its result.
    No runs give a page that says so. `n_runs`, the runs the lake holds, when it is more than
    the runs given: the page says where the older runs' results are.
    """
    by_run: dict[str, list[Mapping[str, Any]]] = {}
    for row in dq_results:
        by_run.setdefault(row["run_id"], []).append(row)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>newsetl data quality</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>newsetl data quality</h1>",
    ]
    ordered = sorted(runs, key=lambda r: r["run_id"], reverse=True)
    if not ordered:
        parts.append("<p>No runs yet.</p>")
    elif n_runs is not None and n_runs > len(ordered):
        parts.append(
            f"<p>The latest {len(ordered)} of {n_runs} runs. Every run's results are in the "
            "<code>dq_results</code> table: <code>newsetl sql \"select * from dq_results where run_id = '...'\"</code>.</p>"
        )
    for run in ordered:
        run_id = run["run_id"]
        rows = by_run.get(run_id, [])
        n_failed = sum(1 for r in rows if not r["success"] and r["critical"])
        n_warned = sum(1 for r in rows if not r["success"] and not r["critical"])
        parts.append(
            f"<h2 id='run-{escape(run_id)}'>Run {escape(run_id)}: "
            f"<span class='status-{escape(str(run['status']))}'>{escape(str(run['status']))}</span></h2>"
            f"<p>{run['n_input']} files read, {run['n_loaded']} loaded, {run['n_skipped']} unchanged, "
            f"{run['n_quarantined']} quarantined; {len(rows)} expectations, {n_failed} failed, "
            f"{n_warned} warnings or quarantines.</p>"
        )
        if run.get("error"):
            parts.append(f"<pre>{escape(str(run['error']))}</pre>")
        if not rows:
            continue
        parts.append(
            "<table><thead><tr><th>stage</th><th>table</th><th>expectation</th><th>column</th>"
            "<th>result</th><th>observed</th><th>details</th></tr></thead><tbody>"
        )
        for row in rows:
            css, label = _result_class(row)
            link = links.get((run_id, row["stage"], row["table_name"]))
            details = f"<a href='{escape(link)}'>validation</a>" if link else ""
            parts.append(
                f"<tr class='{css}'><td>{escape(row['stage'])}</td><td>{escape(row['table_name'])}</td>"
                f"<td>{escape(row['expectation'])}</td><td>{escape(row['column_name'] or '')}</td>"
                f"<td>{label}</td><td>{_observed(row['observed'])}</td><td>{details}</td></tr>"
            )
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts)
