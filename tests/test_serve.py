"""Scheduled serving against a real Prefect server on loopback (subprocesses, no mocks)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from flows.serve import start_local_server
from flows.settings import SAMPLE_CORPUS
from warehouse.duck import query

BIN = Path(sys.executable).parent


def _prefect(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "prefect"), *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_a_served_deployment_runs_when_triggered_and_loads_the_tables(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    server, api_url = start_local_server(tmp_path / "server.log")
    env["PREFECT_API_URL"] = api_url
    data_dir = tmp_path / "data"
    serve_log = open(tmp_path / "serve.log", "wb")
    serving = subprocess.Popen(
        [str(BIN / "newsetl"), "serve", str(SAMPLE_CORPUS), "--cron", "0 0 1 1 *", "--data-dir", str(data_dir)],
        env=env, stdout=serve_log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        while _prefect(["deployment", "inspect", "newsetl/newsetl"], env).returncode != 0:
            assert serving.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "the deployment never appeared"
            time.sleep(2)
        run = _prefect(["deployment", "run", "newsetl/newsetl", "--watch", "--watch-timeout", "300"], env, timeout=360)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "Completed" in run.stdout + run.stderr
        assert query(data_dir, "select count(*) from documents").rows == [(5,)]
        assert query(data_dir, "select status from runs").rows == [("completed",)]
        inspect = _prefect(["deployment", "inspect", "newsetl/newsetl"], env).stdout
        assert "0 0 1 1 *" in inspect
    finally:
        serving.send_signal(signal.SIGINT)
        try:
            serving.wait(timeout=30)
        except subprocess.TimeoutExpired:
            serving.kill()
        serve_log.close()
        server.terminate()
        server.wait(timeout=30)


def test_serve_rejects_a_bad_cron_expression(tmp_path: Path) -> None:
    done = subprocess.run([str(BIN / "newsetl"), "serve", "--cron", "every hour", "--data-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "not a cron expression" in done.stderr
