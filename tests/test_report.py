"""The data-quality report: its front page rendered from rows, and loaded in a real browser."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from flows.cli import main
from transforms.report import render_report
from warehouse.duck import query
from warehouse.lake import Lake
from warehouse.state import report_rows

RUN = {"run_id": "r2", "status": "failed", "n_input": 3, "n_loaded": 0, "n_skipped": 0, "n_quarantined": 1, "error": "gate <failed>"}
OLD_RUN = {**RUN, "run_id": "r1", "status": "completed", "error": None}


def _dq(run_id: str, success: bool, critical: bool, column: str) -> dict[str, object]:
    return {"run_id": run_id, "stage": "annotate", "table_name": "mentions", "expectation": "expect_column_values_to_be_in_set",
            "column_name": column, "critical": critical, "success": success, "observed": '{"unexpected_count": 2}'}


def test_front_page_lists_runs_newest_first_with_results_and_links() -> None:
    html = render_report(
        [OLD_RUN, RUN],
        [_dq("r2", False, True, "slice_matches"), _dq("r2", False, False, "title"), _dq("r1", True, True, "label")],
        {("r2", "annotate", "mentions"): "validations/x.html"},
    )
    assert html.index("Run r2") < html.index("Run r1")
    assert "<tr class='failed'>" in html and "FAILED" in html
    assert "<tr class='warned'>" in html
    assert "href='validations/x.html'" in html
    assert "gate &lt;failed&gt;" in html  # escaped
    assert "<script" not in html and "http" not in html  # works offline


def test_front_page_without_runs_says_so() -> None:
    assert "No runs yet." in render_report([], [], {})


def test_front_page_of_a_long_history_says_where_the_older_runs_are() -> None:
    html = render_report([RUN], [], {}, n_runs=120)
    assert "The latest 1 of 120 runs" in html and "dq_results" in html
    assert "The latest" not in render_report([RUN, OLD_RUN], [], {}, n_runs=2)


def test_the_report_reads_only_the_latest_runs_and_their_results(tmp_path: Path) -> None:
    at = datetime(2026, 11, 21, tzinfo=timezone.utc)
    lineage = {"pipeline_version": "0.1.0", "model_version": "m==1"}
    runs = [{**RUN, **lineage, "run_id": f"r{i}", "started_at": at, "finished_at": at, "n_duplicates": 0, "n_mentions": 0,
             "extract_s": 0.0, "clean_s": 0.0, "annotate_s": 0.0, "quality_s": 0.0, "load_s": 0.0, "model": "m"} for i in (1, 2, 3)]
    results = [{**_dq(run_id, True, True, column), **lineage, "checked_at": at} for run_id, column in (("r1", "a"), ("r3", "b"), ("r3", "c"))]
    lake = Lake(tmp_path)
    with lake.lock():
        for i, run in enumerate(runs):  # a run's rows in a partition of its own, as days of runs leave them
            lake.commit(run["run_id"], {"runs": [run], "dq_results": [r for r in results if r["run_id"] == run["run_id"]]},
                        ingest_date=date(2026, 11, 21 + i))
    shown, their_results, n_runs = report_rows(lake, n=2)
    assert [r["run_id"] for r in shown] == ["r3", "r2"] and n_runs == 3
    assert [(r["run_id"], r["column_name"]) for r in their_results] == [("r3", "b"), ("r3", "c")]
    assert report_rows(Lake(tmp_path / "empty"), n=2) == ([], [], 0)


def test_report_without_a_run_says_to_run_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--data-dir", str(tmp_path)]) == 1
    assert "newsetl run" in capsys.readouterr().err


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    if os.environ.get("CI"):
        pytest.fail("no headless browser: `make test` installs Debian's chromium when run as root")
    pytest.skip("no chromium on PATH (`make test` installs it when run as root)")


def _dump_dom(url: str, profile: Path) -> str:
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--dump-dom", url,
    ]
    done = subprocess.run([_browser(), *flags], capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def test_the_report_front_page_loads_in_a_headless_browser(loaded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["report", "--data-dir", str(loaded)]) == 0
    index = Path(capsys.readouterr().out.strip())
    assert index.is_file()
    dom = _dump_dom(index.as_uri(), tmp_path / "profile")
    run_ids = [row[0] for row in query(loaded, "select run_id from runs").rows]
    assert "newsetl data quality" in dom
    for run_id in run_ids:
        assert f"Run {run_id}" in dom
    for stage in ("extract", "clean", "annotate", "load"):
        assert f"<td>{stage}</td>" in dom
    n_rows = len(re.findall(r"<tr class=\"(?:passed|failed|warned)\">", dom))
    assert n_rows == query(loaded, "select count(*) from dq_results").rows[0][0]
    link = re.search(r'href="(validations/[^"]+\.html)"', dom)
    assert link, "each checked table links to its great_expectations validation page"
    page = _dump_dom((index.parent / link.group(1)).as_uri(), tmp_path / "profile")
    assert "expect_column_values" in page or "Expectation" in page
