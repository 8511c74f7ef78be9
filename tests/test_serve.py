"""Scheduled serving against a real Prefect server on loopback (subprocesses, no mocks)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import flows.runtime.server
from flows.runtime.server import ServerNotStarted, start_api
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
        [str(BIN / "newsetl"), "serve", str(SAMPLE_CORPUS), "--cron", "0 0 1 1 *", "--data-dir", str(data_dir), "--max-quarantined", "0.75",
         "--processes", "2"],
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
        assert "'max_quarantined': 0.75" in inspect and "'processes': 2" in inspect  # the runs it schedules get its options
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


def test_a_server_named_in_prefects_settings_wins_over_the_temporary_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # No PREFECT_API_URL in the environment, but Prefect's settings (a profile, a prefect.toml)
    # name a server: the temporary server started meanwhile is stopped, and that server is used.
    import prefect.settings
    from types import SimpleNamespace

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setattr(prefect.settings, "get_current_settings", lambda: SimpleNamespace(api=SimpleNamespace(url="http://127.0.0.1:9/api")))
    started: list[subprocess.Popen[bytes]] = []
    real_popen = subprocess.Popen

    def popen(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        started.append(real_popen(*args, **kwargs))  # type: ignore[call-overload]
        return started[-1]

    def refused() -> None:  # what connect_api says when nothing answers at the configured URL
        raise RuntimeError("the Prefect API does not answer: connection refused; check PREFECT_API_URL")

    monkeypatch.setattr(subprocess, "Popen", popen)
    monkeypatch.setattr(flows.runtime.server, "connect_api", refused)
    api = start_api()
    assert len(started) == 1 and started[0].wait(timeout=20) is not None  # the temporary server, stopped
    assert api.process is None and "PREFECT_API_URL" not in os.environ
    with pytest.raises(ServerNotStarted, match="check PREFECT_API_URL"):
        api.wait()  # the configured server was checked, not the temporary one



#: Starts the temporary server as `newsetl run` does, in a process of its own (the tests' Prefect
#: settings name the session's server), and reports what Prefect's client reaches.
TEMPORARY_SERVER_CLIENT = """
import json, os
from flows.runtime.server import start_api
api = start_api()
api.wait()
during = os.environ.get("PREFECT_API_URL")
from prefect.client.orchestration import get_client
with get_client(sync_client=True) as client:
    healthy = client.api_healthcheck() is None
    reached = str(client.api_url)
api.stop()
print(json.dumps({"url": api.url, "reached": reached, "healthy": healthy, "during": during, "after": os.environ.get("PREFECT_API_URL")}))
"""


def test_clients_reach_the_temporary_server_while_it_runs(tmp_path: Path) -> None:
    import json

    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    done = subprocess.run([sys.executable, "-c", TEMPORARY_SERVER_CLIENT], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["healthy"] and report["reached"] == f"{report['url']}/"
    assert report["during"] == report["url"] and report["after"] is None  # worker processes inherit it; gone once stopped


def test_serve_without_a_server_starts_one_and_stops_it_on_ctrl_c(tmp_path: Path) -> None:
    # The README's first recipe: no PREFECT_API_URL. One Prefect server (its own, which runs
    # schedules), not a temporary one beside it, and Ctrl-C ends it all cleanly.
    import psutil

    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        serving = subprocess.Popen([str(BIN / "newsetl"), "serve", str(SAMPLE_CORPUS), "--cron", "0 0 1 1 *", "--data-dir", str(tmp_path / "data")],
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while "is being served" not in log_path.read_text():
            assert serving.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(1)
        tree = psutil.Process(serving.pid).children(recursive=True)
        commands = [" ".join(p.cmdline()) for p in tree]
        assert sum("prefect server start" in c for c in commands) == 1, commands
        assert not any("prefect.server.api.server:create_app" in c for c in commands), "a temporary server was started too"
        serving.send_signal(signal.SIGINT)
        assert serving.wait(timeout=30) == 0
        _, alive = psutil.wait_procs(tree, timeout=10)
        assert not alive, [p.cmdline() for p in alive]
    finally:
        for process in psutil.Process(serving.pid).children(recursive=True) if serving.poll() is None else []:
            process.kill()  # on failure: the server must not outlive the test
        serving.kill()
    output = log_path.read_text()
    assert "ephemeral" not in output and "temporary server" not in output and "Traceback" not in output, output
