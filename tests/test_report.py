"""The data-quality report: its front page rendered from rows, and loaded in a real browser."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from flows.cli import main
from flows.settings import SAMPLE_CORPUS
from transforms.report import render_report
from warehouse.duck import query
from warehouse.lake import Lake
from warehouse.state import report_rows

RUN = {"run_id": "r2", "status": "failed", "n_input": 10, "n_loaded": 0, "n_skipped": 0, "n_quarantined": 3, "error": "gate <failed>",
       "entity_density": 2.5, "extract_s": 1.0, "clean_s": 2.0, "annotate_s": 3.0, "quality_s": 1.0, "load_s": 0.5}
OLD_RUN = {**RUN, "run_id": "r1", "status": "completed", "error": None, "n_quarantined": 0, "n_loaded": 10}
QUARANTINED = [{"run_id": "r2", "source_path": f"in/{name}", "stage": "extract", "reason": reason, "detail": detail}
               for name, reason, detail in (("a.txt", "empty", "no text"), ("b.bin", "binary", "not text"), ("c.txt", "empty", "no text"))]
COUNTS = [{"run_id": "r2", "reason": "empty", "n": 2}, {"run_id": "r2", "reason": "binary", "n": 1}]


def _dq(run_id: str, success: bool, critical: bool, column: str, *, table: str = "mentions", kind: str = "in_set") -> dict[str, object]:
    return {"run_id": run_id, "stage": "annotate", "table_name": table, "expectation": f"expect_column_values_to_be_{kind}",
            "column_name": column, "critical": critical, "success": success,
            "observed": '{"element_count": 30, "unexpected_count": 2, "partial_unexpected_list": ["d1", "d2"]}'}


def test_the_page_opens_with_what_went_wrong_in_the_latest_run() -> None:
    html = render_report(
        [OLD_RUN, RUN],
        [_dq("r2", True, True, "label"), _dq("r2", False, True, "slice_matches"), _dq("r2", False, False, "title"), _dq("r1", True, True, "label")],
        QUARANTINED, COUNTS,
    )
    latest, runs = html.split("The last 2 runs")
    assert "Latest run r2" in latest and "gate &lt;failed&gt;" in latest  # escaped
    assert all(f"in/{name}" in latest for name in ("a.txt", "b.bin", "c.txt"))
    assert "3 quarantined (2 empty, 1 binary)" in latest
    assert "Failed and warned checks (2)" in latest and "<tr class='failed'>" in latest and "<tr class='warned'>" in latest
    assert "2 of 30 documents did not match, e.g. d1, d2" in latest and "element_count" not in html  # words, not JSON
    assert runs.index("Run r2") < runs.index("Run r1")
    assert "<details><summary>1 checks passed</summary>" in runs


def test_each_check_shows_its_action_and_threshold_from_the_contract() -> None:
    from schemas import CONTRACT

    spec = next(s for s in CONTRACT["annotate"] if s.column and s.kind == "ExpectColumnValuesToBeInSet")
    html = render_report([RUN], [_dq("r2", False, spec.critical, spec.column, table=spec.frame)])  # type: ignore[arg-type]
    row = html[html.index(f"{spec.column}</td>"):]
    assert f"<td>{spec.action.value}</td>" in row and "value set {" in row
    assert spec.why and spec.why[:20] in html


def test_the_page_draws_charts_over_the_runs_and_needs_nothing_from_elsewhere() -> None:
    html = render_report([OLD_RUN, RUN], [], QUARANTINED, COUNTS)
    assert html.count("<svg") == 4
    for title in ("documents loaded", "quarantined share", "entity density", "run time"):
        assert title in html
    assert "r2: empty 20%" in html and "r2: binary 10%" in html  # each bar's tooltip
    assert "<script" not in html and "http" not in html and "src=" not in html


def test_the_page_without_runs_says_so() -> None:
    assert "No runs yet." in render_report([], [])


def test_the_page_of_a_long_history_says_where_the_older_runs_are() -> None:
    html = render_report([RUN], [], n_runs=120)
    assert "The latest 1 of 120 runs" in html and "dq_results" in html
    assert "The latest 2 of" not in render_report([RUN, OLD_RUN], [], n_runs=2)


def test_the_report_reads_only_the_latest_runs_and_their_results(tmp_path: Path) -> None:
    at = datetime(2026, 11, 21, tzinfo=timezone.utc)
    lineage = {"pipeline_version": "0.1.0", "model_version": "m==1"}
    runs = [{**RUN, **lineage, "run_id": f"r{i}", "started_at": at, "finished_at": at, "n_duplicates": 0, "n_mentions": 0,
             "extract_s": 0.0, "clean_s": 0.0, "annotate_s": 0.0, "quality_s": 0.0, "load_s": 0.0, "model": "m"} for i in (1, 2, 3)]
    results = [{**_dq(run_id, True, True, column), **lineage, "checked_at": at} for run_id, column in (("r1", "a"), ("r3", "b"), ("r3", "c"))]
    quarantine = [{"source_path": f"in/{name}", "stage": "extract", "reason": reason, "detail": "d", "doc_id": None, "run_id": run_id,
                   "quarantined_at": at, "input_sha256": None, **lineage}
                  for run_id, name, reason in (("r1", "old.txt", "empty"), ("r3", "c.txt", "empty"), ("r3", "a.txt", "binary"), ("r3", "b.txt", "empty"))]
    lake = Lake(tmp_path)
    with lake.lock():
        for i, run in enumerate(runs):  # a run's rows in a partition of its own, as days of runs leave them
            lake.commit(run["run_id"], {"runs": [run], "dq_results": [r for r in results if r["run_id"] == run["run_id"]],
                                        "quarantine": [q for q in quarantine if q["run_id"] == run["run_id"]]},
                        ingest_date=date(2026, 11, 21 + i))
    rows = report_rows(lake, n=2, files_per_run=2)
    assert [r["run_id"] for r in rows.runs] == ["r3", "r2"] and rows.n_runs == 3
    assert [(r["run_id"], r["column_name"]) for r in rows.results] == [("r3", "b"), ("r3", "c")]
    assert [r["source_path"] for r in rows.quarantined] == ["in/a.txt", "in/b.txt"]  # the first 2 of r3's by path
    assert sorted((r["run_id"], r["reason"], r["n"]) for r in rows.quarantine_counts) == [("r3", "binary", 1), ("r3", "empty", 2)]
    assert report_rows(Lake(tmp_path / "empty"), n=2).runs == []


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


class _Outside:
    """A proxy that every request for another machine goes to: it records the request and
    refuses it. The browser is also told that no host name resolves."""

    def __init__(self) -> None:
        import socketserver
        import threading

        self.requests: list[str] = []
        outside = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                outside.requests.append(self.rfile.readline(1000).decode(errors="replace").strip())
                self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    #: Chromium's own background services, which no flag turns off in every build (component and
    #: extension updates, sign-in, network time): they go around the recorder and fail to resolve.
    BROWSER_SERVICES = ("update.googleapis.com", "accounts.google.com", "clients2.google.com")

    def flags(self) -> list[str]:
        port = self.server.server_address[1]
        return [
            f"--proxy-server=http://127.0.0.1:{port}", f"--proxy-bypass-list={';'.join(self.BROWSER_SERVICES)}",
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1", "--disable-extensions",
            "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,Translate,MediaRouter",
        ]


@pytest.fixture
def outside() -> Iterator[_Outside]:
    proxy = _Outside()
    yield proxy
    proxy.server.shutdown()


def _browse(url: str, profile: Path, outside: _Outside, *, screenshot: Path | None = None) -> str:
    """The page's DOM after loading in headless Chromium, offline; with `screenshot`, a PNG of it."""
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-domain-reliability", "--no-pings", f"--user-data-dir={profile}", *outside.flags(),
    ]
    if screenshot is not None:
        flags += [f"--screenshot={screenshot}", "--window-size=1280,1600", "--hide-scrollbars"]
    else:
        flags.append("--dump-dom")
    done = subprocess.run([_browser(), *flags, url], capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def test_the_offline_check_catches_a_page_that_reaches_outside(tmp_path: Path, outside: _Outside) -> None:
    page = tmp_path / "page.html"
    page.write_text("<html><body><p>hello</p><img src='http://cdn.example.com/logo.png'></body></html>", encoding="utf-8")
    assert "hello" in _browse(page.as_uri(), tmp_path / "profile", outside)
    assert any("cdn.example.com" in request for request in outside.requests), outside.requests


def test_the_report_renders_in_a_headless_browser_offline(tmp_path: Path, outside: _Outside, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "in"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    (corpus / "empty.txt").write_text("", encoding="utf-8")
    (corpus / "image.bin").write_bytes(bytes(range(256)) * 8)
    data_dir = tmp_path / "data"
    assert main(["run", str(corpus), "--data-dir", str(data_dir)]) == 0
    assert main(["report", "--data-dir", str(data_dir)]) == 0
    index = Path(capsys.readouterr().out.strip().splitlines()[-1])
    dom = _browse(index.as_uri(), tmp_path / "profile", outside)
    (run_id,) = [row[0] for row in query(data_dir, "select run_id from runs").rows]
    assert f"Latest run {run_id}" in dom and "Quarantined files (2)" in dom
    assert str(corpus / "empty.txt") in dom and str(corpus / "image.bin") in dom
    assert dom.count("<svg") == 4
    n_checks = query(data_dir, "select count(*) from dq_results").rows[0][0]
    assert len(re.findall(r"<tr class=\"(?:passed|failed|warned)\">", dom)) == n_checks
    shot = tmp_path / "report.png"
    _browse(index.as_uri(), tmp_path / "profile", outside, screenshot=shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000, "a page with text and charts, not a blank one"
    assert outside.requests == [], f"the report reached outside the machine: {outside.requests}"
