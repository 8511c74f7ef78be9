"""Scheduled serving against a real Prefect server on loopback (subprocesses, no mocks)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import flows.serve
from flows.serve import ServerNotStarted, start_api, start_local_server
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
    monkeypatch.setattr(flows.serve, "connect_api", refused)
    api = start_api()
    assert len(started) == 1 and started[0].wait(timeout=20) is not None  # the temporary server, stopped
    assert api.process is None and "PREFECT_API_URL" not in os.environ
    with pytest.raises(ServerNotStarted, match="check PREFECT_API_URL"):
        api.wait()  # the configured server was checked, not the temporary one
