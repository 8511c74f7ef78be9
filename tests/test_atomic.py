"""Crashes and concurrency: SIGKILL at any moment, real `newsetl run` subprocesses, two runs at once."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from flows.cli import main
from flows.settings import SAMPLE_CORPUS
from warehouse.duck import query
from warehouse.lake import Lake

from .conftest import ROOT

ROWS = 2000
COMMITTER = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime, timezone
    from warehouse.lake import Lake

    lake = Lake(sys.argv[1])
    now = datetime.now(timezone.utc)
    with lake.lock():
        lake.recover()
        print("ready", flush=True)
        while True:
            run = f"k{time.time_ns()}"
            docs = [{"doc_id": f"{run}-{i}", "source_path": "p", "body": "b" * 50, "n_chars_raw": 60, "n_chars_body": 50,
                     "encoding": "utf-8", "language": "en", "run_id": run, "ingested_at": now, "input_sha256": "0" * 64,
                     "pipeline_version": "v", "model_version": "m"} for i in range(%d)]
            mentions = [{"doc_id": d["doc_id"], "mention_id": 0, "sentence_id": 0, "start_char": 0, "end_char": 1,
                         "text": "b", "label": "ORG", "entity_id": "e", "entity_key": "b", "full_name": False, "run_id": run, "input_sha256": "0" * 64,
                         "pipeline_version": "v", "model_version": "m"} for d in docs]
            lake.commit(run, {"documents": docs, "mentions": mentions}, compact_min_files=3)
    """
    % ROWS
)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _check_complete(lake: Lake) -> int:
    """Every committed run has all its rows in both tables; returns the number of runs."""
    docs = lake.read("documents", columns=["run_id"]).column("run_id").value_counts().to_pylist()
    mentions = lake.read("mentions", columns=["run_id"]).column("run_id").value_counts().to_pylist()
    assert sorted((c["values"], c["counts"]) for c in docs) == sorted((c["values"], c["counts"]) for c in mentions)
    assert all(c["counts"] == ROWS for c in docs)
    return len(docs)


def test_sigkill_at_any_moment_leaves_the_last_commit_and_readers_never_see_half_a_run(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    rng = random.Random(5)
    committed = 0
    for _ in range(6):
        child = subprocess.Popen([sys.executable, "-c", COMMITTER, str(tmp_path)], env=_env(), stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        deadline = time.monotonic() + 0.5 + rng.random() * 2.0
        while time.monotonic() < deadline:  # read through the link while the child commits
            if lake.root.is_symlink():
                try:
                    with duckdb.connect() as con:
                        n = con.execute(f"select count(*) from read_parquet('{lake.root}/documents/*/*.parquet')").fetchone()
                except (duckdb.IOException, duckdb.InvalidInputException):
                    continue  # a file merged away between listing and opening: read again
                assert n is not None and n[0] % ROWS == 0, "a reader saw a partial run"
        child.send_signal(signal.SIGKILL)
        child.wait()
        now = _check_complete(lake)
        assert now >= committed
        committed = now
    with lake.lock():
        lake.recover()
    assert [p.name for p in lake.snapshots.iterdir()] == [lake.current_snapshot().name]  # type: ignore[union-attr]
    assert committed >= 2 and _check_complete(lake) == committed


def _tables(data_dir: Path) -> dict[str, object]:
    """What a run leaves, without run ids and times: compared between data dirs."""
    return {
        "documents": query(data_dir, "select doc_id, source_path, body, duplicate_of from documents order by doc_id").rows,
        "mentions": query(data_dir, "select doc_id, mention_id, entity_id, start_char from mentions order by all").rows,
        "sentences": query(data_dir, "select doc_id, sentence_id, start_char, end_char from sentences order by all").rows,
        "removed_lines": query(data_dir, "select doc_id, line_no, reason from removed_lines order by all").rows,
        "entities": query(data_dir, "select * from entities order by entity_id").rows,
        "quarantine": query(data_dir, "select source_path, reason from quarantine order by all").rows,
    }


def _newsetl(*args: str, home: Path) -> subprocess.Popen[str]:
    env = {**_env(), "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "GX_ANALYTICS_ENABLED": "false"}
    home.mkdir(parents=True, exist_ok=True)
    # the session's Prefect server (tests/conftest.py): booting one per subprocess side by side
    # can outlast Prefect's start-up timeout on a busy 2-core machine
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    assert url, "the test session's Prefect server is not running"
    env["PREFECT_API_URL"] = url
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "run", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed articles plus an exact copy and a copy with a changed line, so copies are exercised."""
    folder = tmp_path_factory.mktemp("corpus")
    shutil.copytree(SAMPLE_CORPUS, folder, dirs_exist_ok=True)
    seed = (SAMPLE_CORPUS / "001_3bf0b783fa0966cb.txt").read_text(encoding="utf-8")
    (folder / "copy.txt").write_text(seed, encoding="utf-8")
    (folder / "syndicated.txt").write_text(seed + "\nReporting by the wire desk.\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def reference(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    data_dir = tmp_path_factory.mktemp("reference")
    assert main(["run", str(corpus), "--data-dir", str(data_dir)]) == 0
    tables = _tables(data_dir)
    assert len(tables["documents"]) == 7  # type: ignore[arg-type]
    assert sum(1 for row in tables["documents"] if row[3] is not None) == 2  # type: ignore[attr-defined]
    return tables


@pytest.mark.parametrize("moment", ["annotate", "commit"])
def test_a_run_killed_part_way_then_run_again_equals_an_uninterrupted_run(
    corpus: Path, reference: dict[str, object], tmp_path: Path, moment: str
) -> None:
    data_dir = tmp_path / "data"
    # --verbose: each task's log line, so that the kill lands after the first annotate batch
    child = _newsetl(str(corpus), "--data-dir", str(data_dir), "--batch-size", "1", "--verbose", home=tmp_path / "prefect")
    assert child.stdout is not None
    annotating, output = threading.Event(), []

    def drain() -> None:
        for line in child.stdout:  # type: ignore[union-attr]
            output.append(line)
            if "annotate:" in line:  # after the first of seven annotate batches
                annotating.set()

    threading.Thread(target=drain, daemon=True).start()
    if moment == "annotate":
        annotating.wait(timeout=240)
    else:
        while child.poll() is None and not list((data_dir / ".snapshots").glob(".staging-*")):
            time.sleep(0.001)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, f"the run finished before it could be killed: {''.join(output)[-2000:]}"
    assert not (data_dir / "lake").exists(), "a killed first run leaves no lake"
    assert main(["run", str(corpus), "--data-dir", str(data_dir)]) == 0
    assert _tables(data_dir) == reference
    assert [p.name.startswith(".staging") for p in (data_dir / ".snapshots").iterdir()] == [False]
    assert query(data_dir, "select status, n_loaded from runs").rows == [("completed", 7)]


def test_two_runs_started_at_once_load_everything_once(corpus: Path, reference: dict[str, object], tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    runs = [_newsetl(str(corpus), "--data-dir", str(data_dir), home=tmp_path / f"prefect{i}") for i in range(2)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert _tables(data_dir) == reference
    rows = query(data_dir, "select n_loaded, n_skipped from runs order by run_id").rows
    assert sorted(rows) == [(0, 7), (7, 0)]


def test_queries_while_runs_commit_and_compact_never_fail(tmp_path: Path) -> None:
    """`newsetl sql` (warehouse.duck.query) during commits that merge files away: every query
    answers, with whole runs only."""
    from schemas import TABLES
    from warehouse.duck import refresh_views

    lake = Lake(tmp_path)
    with lake.lock():
        lake.commit("r0", {name: [] for name in TABLES})  # every table, so that every view exists
    refresh_views(lake)
    child = subprocess.Popen([sys.executable, "-c", COMMITTER, str(tmp_path)], env=_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        snapshots, answers, deadline = set(), 0, time.monotonic() + 20
        while time.monotonic() < deadline or len(snapshots) < 8:
            n = query(tmp_path, "select count(*) from documents").rows[0][0]
            assert n % ROWS == 0, "a reader saw a partial run"
            snapshots.add(os.readlink(lake.root))
            answers += 1
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert answers > 50 and len(snapshots) >= 8


def _session(sid: int) -> list[str]:
    """Command lines of the live processes of session `sid`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(cmdline.replace(b"\0", b" ").decode(errors="replace")[:120])
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
@pytest.mark.parametrize("runner", [["--processes", "2"], ["--dask", "--workers", "2"]])
def test_helpers_end_when_the_run_is_killed(tmp_path: Path, runner: list[str]) -> None:
    """SIGKILL of `newsetl run` while its workers annotate: Prefect's temporary server, the fork
    server and the workers end with it."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    seeds = sorted(SAMPLE_CORPUS.glob("*.txt"))
    for i in range(300):
        text = seeds[i % len(seeds)].read_text(encoding="utf-8")
        (corpus / f"{i:03d}.txt").write_text(f"{text}\nFiled as story number {i}.\n", encoding="utf-8")
    env = {k: v for k, v in _env().items() if k != "PREFECT_API_URL"}  # its own temporary server
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    child = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "run", str(corpus), "--data-dir", str(tmp_path / "data"), *runner],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        assert child.stdout is not None
        output = []
        for line in child.stdout:
            output.append(line)
            if "annotate [" in line:
                break
        helpers = _session(child.pid)
        assert len(helpers) >= 4, f"server, fork server and workers: {helpers}\n{''.join(output)[-2000:]}"
        child.send_signal(signal.SIGKILL)
        child.wait()
        deadline = time.monotonic() + 10
        while _session(child.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _session(child.pid) == [], "helpers outlived the killed run"
    finally:
        os.killpg(child.pid, signal.SIGKILL) if _session(child.pid) else None
        child.wait()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB file system of its own (tmpfs), to fill up."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.mark.parametrize("free_kb", [0, 16])
def test_a_disk_that_fills_during_a_run_gives_one_line_and_leaves_the_lake(
    small_disk: Path, corpus: Path, tmp_path: Path, free_kb: int
) -> None:
    data_dir = small_disk / "data"
    assert main(["run", "--data-dir", str(data_dir)]) == 0
    before = query(data_dir, "select count(*) from documents").rows
    filler = small_disk / "filler"
    stat = os.statvfs(small_disk)
    with open(filler, "wb") as handle:
        handle.write(b"\0" * max(stat.f_bavail * stat.f_frsize - free_kb * 1024, 0))

    child = _newsetl(str(corpus), "--data-dir", str(data_dir), home=tmp_path / "prefect")
    output = child.communicate(timeout=300)[0]
    assert child.returncode == 1, output
    lines = [line for line in output.splitlines() if not line.startswith("newsetl: starting")]
    assert [line for line in lines if "disk is full" in line and str(data_dir) in line and "lake is as it was" in line], output
    assert "Traceback" not in output and "Error" not in output.replace("[Errno 28] Error writing", ""), output
    assert query(data_dir, "select count(*) from documents").rows == before
    assert main(["verify", "--data-dir", str(data_dir)]) == 0
    assert not list((data_dir / ".snapshots").glob(".*")), "no staging folder or parts left to take space"

    filler.unlink()
    child = _newsetl(str(corpus), "--data-dir", str(data_dir), home=tmp_path / "prefect")
    assert child.communicate(timeout=300)[0] and child.returncode == 0
    assert query(data_dir, "select count(*) from documents").rows == [(before[0][0] + 7,)]  # the corpus: 7 other paths
