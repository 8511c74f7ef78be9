"""The command line: sql output formats and errors, clean --json, help, usage errors."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import main
from flows.settings import SAMPLE_CORPUS
from schemas import SCHEMA_VERSION
from warehouse.duck import refresh_views
from warehouse.lake import Lake

from .conftest import FIXTURES


@pytest.fixture
def small_warehouse(tmp_path: Path) -> Path:
    from datetime import datetime, timezone

    lake = Lake(tmp_path)
    now = datetime(2026, 11, 21, tzinfo=timezone.utc)
    lineage = {"input_sha256": "0" * 64, "pipeline_version": "0.1.0", "model_version": "m==1"}
    rows = [
        {"doc_id": "d1", "source_path": "a.txt", "title": "Alpha, \"quoted\"", "body": "Body one.", "n_chars_raw": 20,
         "n_chars_body": 9, "encoding": "utf-8", "language": "en", "run_id": "r1", "ingested_at": now, **lineage},
        {"doc_id": "d2", "source_path": "b.txt", "title": None, "body": "Body two.", "n_chars_raw": 20,
         "n_chars_body": 9, "encoding": "utf-8", "language": "en", "run_id": "r1", "ingested_at": now, **lineage},
    ]
    lake.write_rows("documents", rows, stem="r1")
    refresh_views(lake)
    return tmp_path


def test_sql_csv_has_a_header_row_then_the_rows(small_warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "select doc_id, title from documents order by doc_id", "--data-dir", str(small_warehouse), "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows == [["doc_id", "title"], ["d1", 'Alpha, "quoted"'], ["d2", ""]]


def test_sql_json_is_a_list_of_objects(small_warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "select doc_id, ingested_at from documents order by doc_id", "--data-dir", str(small_warehouse), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [row["doc_id"] for row in data] == ["d1", "d2"]
    assert data[0]["ingested_at"].startswith("2026-11-21")


def test_sql_table_is_aligned_and_counts_rows(small_warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "select doc_id, title from documents order by doc_id", "--data-dir", str(small_warehouse)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["doc_id", "title"]
    assert lines[-1] == "(2 rows)"
    assert "NULL" in lines[3]


def test_sql_streams_a_table_longer_than_a_batch(small_warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "select range as i from range(25000)", "--data-dir", str(small_warehouse)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].strip() == "i" and [int(x) for x in lines[2:-1]] == list(range(25000)) and lines[-1] == "(25000 rows)"
    assert main(["sql", "select range as i from range(25000)", "--data-dir", str(small_warehouse), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"i": i} for i in range(25000)]
    assert main(["sql", "select 1 as i where false", "--data-dir", str(small_warehouse), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


@pytest.mark.parametrize(
    ("query", "refusal"),
    [
        ("select 1 as a; select 2 as b", "2 statements"),
        ("", "no statements"),
        ("copy (select * from documents where false) to '{lake}/documents/zz.parquet'", "copy statement"),
        ("copy (select 1) to '{tmp}/x.csv'", "copy statement"),
        ("export database '{tmp}/export'", "export statement"),
        ("attach '{tmp}/other.duckdb' (read_only false)", "attach statement"),
        ("create table t as select 1", "create statement"),
        ("install httpfs", "load statement"),
        ("set enable_external_access = true", "set statement"),
        ("select * from read_text('/etc/passwd')", '"/etc/passwd"'),
        ("select * from read_csv('/etc/passwd')", '"/etc/passwd"'),
        ("select * from glob('/root/*')", '"/root/*"'),
        ("select * from read_text('{lake}/../../outside.txt')", "outside.txt"),
        ("select * from read_csv('http://127.0.0.1:9/x.csv')", "http://127.0.0.1:9/x.csv"),
    ],
)
def test_sql_refuses_all_but_a_select_inside_the_data_dir(
    small_warehouse: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str], query: str, refusal: str
) -> None:
    # `newsetl sql` changes nothing and reads nothing outside the data dir: a query that would
    # is refused in one line naming what is not allowed, and the lake is as it was.
    tmp = tmp_path_factory.mktemp("outside")
    (small_warehouse.parent / "outside.txt").write_text("secret")
    before = sorted(p.relative_to(small_warehouse) for p in small_warehouse.rglob("*"))
    query = query.format(lake=small_warehouse / "lake", tmp=tmp)
    assert main(["sql", query, "--data-dir", str(small_warehouse)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("newsetl: not allowed: ") and refusal in captured.err and len(captured.err.splitlines()) == 1
    assert sorted(p.relative_to(small_warehouse) for p in small_warehouse.rglob("*")) == before
    assert list(tmp.iterdir()) == []
    assert main(["sql", "select count(*) as n from documents", "--data-dir", str(small_warehouse), "--format", "csv"]) == 0
    assert capsys.readouterr().out == "n\n2\n"


def test_sql_reads_the_data_dirs_own_files(small_warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parts = f"{small_warehouse}/lake/documents/**/*.parquet"
    assert main(["sql", f"select count(*) as n from read_parquet('{parts}')", "--data-dir", str(small_warehouse), "--format", "csv"]) == 0
    assert capsys.readouterr().out == "n\n2\n"
    assert main(["sql", "describe documents", "--data-dir", str(small_warehouse), "--format", "csv"]) == 0
    assert "doc_id,VARCHAR" in capsys.readouterr().out


def test_sql_output_ends_quietly_when_the_reader_stops(small_warehouse: Path) -> None:
    # Ten billion rows: the first lines arrive at once (results stream), and closing the pipe,
    # as `| head` does, ends the command without a traceback.
    command = [sys.executable, "-m", "flows.cli", "sql", "select range as i from range(10000000000)", "--data-dir", str(small_warehouse), "--format", "csv"]
    import threading

    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(60, process.kill)  # a command that never streams is stopped, and fails below
    watchdog.start()
    try:
        assert process.stdout is not None and process.stderr is not None
        assert [process.stdout.readline() for _ in range(3)] == ["i\n", "0\n", "1\n"]
        process.stdout.close()
        assert process.wait(timeout=60) == 0
        assert process.stderr.read() == ""
    finally:
        watchdog.cancel()
        process.kill()


def test_ctrl_c_stops_a_running_query(small_warehouse: Path) -> None:
    import signal
    import time

    endless = "select count(*) from range(1000000) a, range(1000000) b where a.range + b.range = 7"  # hours of work
    command = [sys.executable, "-m", "flows.cli", "sql", endless, "--data-dir", str(small_warehouse)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4)  # started, and into the query
    assert process.poll() is None
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert err == "newsetl: interrupted; the query was stopped\n" and out == ""


def test_a_wrong_query_prints_duckdbs_error_and_exits_non_zero(small_warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "select nope from documents", "--data-dir", str(small_warehouse)]) == 1
    err = capsys.readouterr().err
    assert "query failed" in err and "nope" in err


def test_a_data_dir_of_another_schema_version_is_refused_with_the_fix_and_stays_queryable(
    small_warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = small_warehouse / "lake" / "_lake.json"
    manifest.write_text(manifest.read_text().replace(f'"schema_version": "{SCHEMA_VERSION}"', '"schema_version": "2"'))
    assert main(["run", "--data-dir", str(small_warehouse)]) == 1
    err = capsys.readouterr().err
    assert f"schema version 2, this newsetl writes {SCHEMA_VERSION}" in err and "--data-dir NEW_DIR" in err
    assert main(["sql", "select count(*) as n from documents", "--data-dir", str(small_warehouse), "--format", "csv"]) == 0
    assert capsys.readouterr().out == "n\n2\n"


def test_a_run_as_a_process_exits_with_its_status_after_its_exit_handlers(tmp_path: Path) -> None:
    # `entry` ends the process right after the exit handlers. One of them stops the temporary
    # Prefect server the run started: it must be gone once the command is, and the output whole.
    import os
    import time

    import psutil

    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    command = [sys.executable, "-m", "flows.cli", "run", str(SAMPLE_CORPUS), "--data-dir", str(tmp_path / "data")]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    servers: set[int] = set()
    while process.poll() is None:
        try:
            servers |= {c.pid for c in psutil.Process(process.pid).children() if "prefect.server.api.server" in " ".join(c.cmdline())}
        except psutil.Error:
            pass
        time.sleep(0.2)
    left = [pid for pid in servers if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    for pid in left:  # it would hold the output pipes open
        psutil.Process(pid).kill()
    out, err = process.communicate(timeout=60)
    assert len(servers) == 1, "the run started no temporary server of its own"
    assert not left, "the temporary Prefect server outlived the run"
    assert process.returncode == 0, err
    assert "loaded       5" in out and out.rstrip().splitlines()[-1].startswith("  report")  # the last line: the output is whole
    # Quiet by default: a first line before the slow start, progress, no line per task, no link
    # to the temporary server (gone once the run ends).
    assert err.splitlines()[0] == "newsetl: starting Prefect and loading the model..."
    assert "annotate [" in err
    assert "Finished in state" not in err and "View at" not in err and "Task run" not in err
    # The run reported to its temporary server: its database, new with this PREFECT_HOME.
    import sqlite3

    with sqlite3.connect(tmp_path / "prefect" / "prefect.db") as db:
        assert db.execute("select count(*) from flow_run where state_type = 'COMPLETED'").fetchone() == (1,)


def test_sql_without_a_warehouse_says_to_run_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "select 1", "--data-dir", str(tmp_path)]) == 1
    assert "newsetl run" in capsys.readouterr().err


def test_the_command_exits_with_the_status_and_the_whole_output(small_warehouse: Path, tmp_path: Path) -> None:
    # As a process: the output arrives whole, the status is main's, and the exit is quiet (freezing
    # the objects left at exit, to skip the last garbage collection, made DuckDB's bindings
    # report leaked objects on stderr).
    rows = "select doc_id, body from documents, range(2000) order by doc_id"
    done = subprocess.run([sys.executable, "-m", "flows.cli", "sql", rows, "--data-dir", str(small_warehouse), "--format", "csv"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "doc_id,body" and len(lines) == 4001 and lines[-1] == "d2,Body two."
    assert done.stderr == ""
    missing = subprocess.run([sys.executable, "-m", "flows.cli", "sql", "select 1", "--data-dir", str(tmp_path / "none")],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "newsetl run" in missing.stderr


def test_clean_json_prints_one_object_per_file(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(SAMPLE_CORPUS.glob("*.txt"))[:2]
    assert main(["clean", *map(str, files), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [Path(r["source"]).name for r in records] == [f.name for f in files]
    labels = json.loads((FIXTURES / "seed_labels.json").read_text(encoding="utf-8"))
    for record, path in zip(records, files):
        assert {"source", "title", "published_at", "author", "body", "removed"} <= set(record)
        assert record["title"] == labels[path.name]["title"]
        assert {str(r["line_no"]): r["reason"] for r in record["removed"]} == labels[path.name]["boilerplate"]


def test_clean_reports_files_it_cannot_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert main(["clean", str(empty)]) == 1
    assert "empty" in capsys.readouterr().err


def test_run_with_a_missing_input_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "missing"), "--data-dir", str(tmp_path)]) == 1
    assert "missing" in capsys.readouterr().err


def test_run_of_an_empty_folder_says_so_in_one_line_and_records_no_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "inbox").mkdir()
    assert main(["run", str(tmp_path / "inbox"), "--data-dir", str(tmp_path / "data")]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"newsetl: no input files under {tmp_path / 'inbox'} (give files or folders of articles); nothing was run"]
    assert not (tmp_path / "data" / "lake").exists()  # no run row claims a success


@pytest.mark.parametrize("command", [["run"], ["sql", "select 1"], ["report"], ["compact"], ["resolve"]])
def test_a_file_given_as_the_data_dir_is_a_usage_error_that_says_so(command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not a folder\n", encoding="utf-8")
    assert main([*command, "--data-dir", str(afile)]) == 1
    err = capsys.readouterr().err
    assert f"data dir {afile} is a file, not a directory" in err and "Traceback" not in err


def test_run_with_an_unknown_model_says_how_to_fix_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--model", "no_such_model_xyz", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "no_such_model_xyz" in err and "NEWSETL_MODEL" in err


def test_bad_settings_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--batch-size", "0", "--data-dir", str(tmp_path)]) == 1
    assert "batch size" in capsys.readouterr().err


def test_help_teaches_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for word in ("run", "sql", "clean", "examples:", "NEWSETL_DATA_DIR", "quarantine"):
        assert word in out
    listed = [line.split()[0] for line in out.splitlines() if line.startswith("    ") and not line.startswith("     ")]
    assert listed[:8] == ["run", "sql", "serve", "report", "compact", "resolve", "verify", "clean"]
    assert out.index("    run ") < out.index("examples:") and len(out[: out.index("    run ")].splitlines()) < 15  # commands come first


def test_serve_takes_the_options_of_the_runs_it_schedules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    for option in ("--max-quarantined", "--aliases", "--chunk-size", "--min-body-chars", "--model"):
        assert option in out
    assert main(["serve", "--cron", "0 * * * *", "--max-quarantined", "1.5", "--data-dir", str(tmp_path)]) == 1
    assert "fraction from 0 to 1" in capsys.readouterr().err


def test_the_table_cuts_long_cells(small_warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "select repeat('x', 100) as a", "--data-dir", str(small_warehouse)]) == 0
    assert "x" * 59 + "…" in capsys.readouterr().out.splitlines()[2]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("--max-quarantined", "1.5", "fraction from 0 to 1"), ("--max-file-mb", "0", "positive")],
)
def test_out_of_range_settings_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, message: str) -> None:
    assert main(["run", option, value, "--data-dir", str(tmp_path)]) == 1
    assert message in capsys.readouterr().err


def test_a_non_numeric_environment_setting_names_the_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NEWSETL_BATCH_SIZE", "many")
    assert main(["run", "--data-dir", str(tmp_path)]) == 1
    assert "NEWSETL_" in capsys.readouterr().err


def test_progress_shows_a_bar_the_rate_and_the_time_left() -> None:
    from flows.progress import format_progress

    line = format_progress("annotate", 500, 2000, 10.0)
    assert line == "annotate [######------------------]  500/2000 docs  50.0 docs/s  ETA 0:30"
    assert format_progress("clean", 0, 0, 0.0).startswith("clean [########################] 0/0")


def test_clean_reads_html_gzip_and_warc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import gzip

    from .test_html import BODY, PAGE, _warc

    (tmp_path / "storm.html").write_text(PAGE, encoding="utf-8")
    (tmp_path / "storm.html.gz").write_bytes(gzip.compress(PAGE.encode()))
    warc = _warc(tmp_path, "crawl.warc.gz", compress=True)
    files = [tmp_path / "storm.html", tmp_path / "storm.html.gz", warc]
    assert main(["clean", *map(str, files), "--json"]) == 1  # the WARC's navigation-only page has no body
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    sources = [str(files[0]), str(files[1]), "https://example.com/storm", "https://example.com/nav"]
    assert [r["source"] for r in records] == sources
    assert [r["body"] for r in records] == [BODY, BODY, BODY, ""]
    assert [r["source_name"] for r in records[:3]] == ["Coastal Herald"] * 3
    assert records[2]["source_url"] == "https://example.com/storm"
    assert records[3]["removed"] == [{"line_no": 1, "text": "Home", "reason": "site_furniture"}]
    assert "https://example.com/nav: empty_body" in captured.err


def test_run_with_no_worker_processes_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--processes", "0", "--data-dir", str(tmp_path)]) == 1
    assert "--processes must be at least 1" in capsys.readouterr().err
    assert not (tmp_path / "lake").exists()


@pytest.mark.parametrize(
    ("cron", "says"),
    [
        ("61 * * * *", "the minute field's 61 is out of range 0-59"),
        ("0 24 * * *", "the hour field's 24 is out of range 0-23"),
        ("0 * * 13 *", "the month field's 13 is out of range 1-12"),
        ("0 * *", "it has 3 fields; cron needs five"),
        ("0 x * * *", "the hour field's 'x' is not a number"),
    ],
)
def test_serve_names_the_cron_field_that_is_wrong(cron: str, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--cron", cron, "--data-dir", str(tmp_path)]) == 1
    assert says in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["sql", "select 1", "--format", "xml"], ["run", "--processes", "two"], ["no-such-command"]])
def test_a_usage_error_argparse_finds_exits_1_as_documented(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 1
    assert "error:" in capsys.readouterr().err


def test_a_moved_data_dir_is_queried_where_it_is_now(small_warehouse: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    moved = tmp_path_factory.mktemp("elsewhere") / "data"
    shutil.copytree(small_warehouse, moved, symlinks=True)
    shutil.rmtree(small_warehouse)
    assert main(["sql", "select doc_id from documents order by doc_id", "--data-dir", str(moved), "--format", "csv"]) == 0
    assert capsys.readouterr().out == "doc_id\nd1\nd2\n"


def test_verbose_logs_every_task(tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL")}
    done = subprocess.run([sys.executable, "-m", "flows.cli", "run", "--verbose", "--data-dir", str(tmp_path / "data")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Task run 'annotate-" in done.stderr and "Finished in state Completed()" in done.stderr
