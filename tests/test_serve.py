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
        [str(BIN / "newsetl"), "serve", str(SAMPLE_CORPUS), "--cron", "0 0 1 1 *", "--data-dir", str(data_dir), "--max-quarantined", "0.75"],
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
        assert "'max_quarantined': 0.75" in inspect  # the runs it schedules get the options it was given
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



#: Starts the temporary server as `newsetl run` does, in a process of its own (the tests' Prefect
#: settings name the session's server), and reports which CA bundle Prefect's client loads.
TEMPORARY_SERVER_CLIENT = """
import json, os, ssl
cafiles = []
real = ssl.create_default_context
def recording(*args, **kwargs):
    cafiles.append(kwargs.get("cafile"))
    return real(*args, **kwargs)
ssl.create_default_context = recording
from flows.serve import start_api
names = ("PREFECT_API_URL", "PREFECT_API_SSL_CERT_FILE")
api = start_api()
api.wait()
during = {name: os.environ.get(name) for name in names}
from prefect.client.orchestration import get_client
cafiles.clear()
with get_client(sync_client=True) as client:
    healthy = client.api_healthcheck() is None
    reached = str(client.api_url)
api.stop()
print(json.dumps({"url": api.url, "reached": reached, "healthy": healthy, "cafiles": cafiles, "during": during,
                  "after": {name: os.environ.get(name) for name in names}}))
"""


@pytest.mark.parametrize("user_bundle", [False, True], ids=["no bundle set", "the user's bundle"])
def test_clients_of_the_temporary_server_load_a_one_certificate_bundle_unless_the_user_set_one(tmp_path: Path, user_bundle: bool) -> None:
    # The temporary server is plain HTTP, but Prefect builds an SSL context for every client,
    # from the bundle PREFECT_API_SSL_CERT_FILE names: one CA, not certifi's hundred and more.
    import json
    import ssl

    import certifi

    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_API_SSL_CERT_FILE")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    if user_bundle:
        env["PREFECT_API_SSL_CERT_FILE"] = certifi.where()
    done = subprocess.run([sys.executable, "-c", TEMPORARY_SERVER_CLIENT], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    expected = certifi.where() if user_bundle else str(flows.serve.NO_CA_BUNDLE)
    assert report["healthy"] and report["reached"] == f"{report['url']}/"
    assert report["during"] == {"PREFECT_API_URL": report["url"], "PREFECT_API_SSL_CERT_FILE": expected}
    assert report["cafiles"] and set(report["cafiles"]) == {expected}
    assert report["after"] == {"PREFECT_API_URL": None, "PREFECT_API_SSL_CERT_FILE": certifi.where() if user_bundle else None}
    if not user_bundle:
        assert ssl.create_default_context(cafile=expected).cert_store_stats()["x509_ca"] == 1
        assert ssl.create_default_context(cafile=certifi.where()).cert_store_stats()["x509_ca"] > 100


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
        serving.kill()
    output = log_path.read_text()
    assert "ephemeral" not in output and "temporary server" not in output and "Traceback" not in output, output
