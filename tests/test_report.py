"""The data-quality report: its front page rendered from rows, and loaded in a real browser."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from flows.cli import main
from transforms.report import render_report
from warehouse.duck import query

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
