"""The Prefect API a command talks to.

`newsetl run` with no Prefect API configured runs against a temporary server, as Prefect would
start it by itself; `start_api` starts it first thing, so that it boots while the flow's modules
import (Prefect would start it only when its client is first used, after those imports).
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from flows.runtime import lifeline, off

class ServerNotStarted(RuntimeError):
    """The local Prefect server did not answer in time; the message names its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(api_url: str, *, timeout: float, process: subprocess.Popen[bytes] | None = None, interval: float = 0.5) -> bool:
    """Poll `<api_url>/health` every `interval` seconds until it answers 200, the process
    exits, or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(interval)
    return False


@dataclass
class Api:
    """The Prefect API of one command: a temporary server this process started (`url` and
    `process` set), or the server Prefect's settings name (both None)."""

    url: str | None = None
    process: subprocess.Popen[bytes] | None = None
    _ready: threading.Thread | None = None
    _errors: list[str] = field(default_factory=list)
    #: The environment variables this set for its temporary server (name -> value).
    _environ: dict[str, str] = field(default_factory=dict)

    def wait(self) -> None:
        """Wait until the API answers.

        Raises:
            ServerNotStarted: it did not; the message says what to check.
        """
        if self._ready is not None:
            self._ready.join()
        if self._errors:
            raise ServerNotStarted(self._errors[-1])

    def stop(self) -> None:
        """Stop the temporary server, if any (idempotent)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        mine = [name for name, value in self._environ.items() if os.environ.get(name) == value]
        for name in mine:
            del os.environ[name]
        self._environ.clear()
        if mine:
            _refresh_prefect_settings()

    def export(self, name: str, value: str) -> None:
        """Set an environment variable for as long as the temporary server runs (`stop`
        removes it)."""
        os.environ[name] = value
        self._environ[name] = value


def connect_api() -> None:
    """Check that the Prefect API in Prefect's settings answers.

    Raises:
        RuntimeError: it does not; the message says to check PREFECT_API_URL.
    """
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        error = client.api_healthcheck()
    if error is not None:
        raise RuntimeError(f"the Prefect API does not answer: {error}; check PREFECT_API_URL")


def _refresh_prefect_settings() -> None:
    """Make Prefect read PREFECT_API_URL again everywhere: its global settings were read when it
    was imported, and threads without a settings context of their own (the process pool's log
    forwarder) use those; with no API URL there they would boot yet another temporary server."""
    from prefect.context import refresh_global_settings_context

    refresh_global_settings_context()


def start_api(*, timeout: float = 120) -> Api:
    """Start reaching the Prefect API in the background and return at once.

    With no API configured in Prefect's settings, start the temporary server the way Prefect
    does (uvicorn over `prefect.server.api.server:create_app` on 127.0.0.1, UI off) and export
    PREFECT_API_URL, which worker processes (a process pool, local Dask workers) inherit: each
    would boot a server of its own otherwise. With a configured server, check that it answers.
    Call `Api.wait` before running a flow; the server stops when the process exits.

    Without PREFECT_API_URL in the environment the server starts before Prefect is imported
    here (both take seconds: `benchmarks/RESULTS.md`, "server"), and is stopped
    again if Prefect's settings name a server after all (a profile, a prefect.toml).
    """
    api = Api()
    if not os.environ.get("PREFECT_API_URL"):
        _spawn_temporary_server(api)
    from prefect.settings import get_current_settings

    if api.process is not None and get_current_settings().api.url is not None:
        api.stop()  # a profile or a prefect.toml names the server to use
        api = Api()
    if api.process is None:
        def check() -> None:
            try:
                connect_api()
            except RuntimeError as error:
                api._errors.append(str(error))

        api._ready = threading.Thread(target=check, name="newsetl-api", daemon=True)
    else:
        assert api.url is not None
        api.export("PREFECT_API_URL", api.url)
        _refresh_prefect_settings()
        # At exit, after Prefect's log and event workers have flushed (they drain on threading's
        # exit hook, which runs before atexit's).
        atexit.register(api.stop)

        def check_started() -> None:
            assert api.url is not None
            if not wait_healthy(api.url, timeout=timeout, process=api.process, interval=0.1):
                api._errors.append(
                    f"Prefect's temporary server did not answer on {api.url} within {timeout:.0f} s "
                    "(its errors are printed above); set PREFECT_API_URL to a running Prefect server to use that instead"
                )

        api._ready = threading.Thread(target=check_started, name="newsetl-api", daemon=True)
    api._ready.start()
    return api


#: The temporary server skips registering Prefect's block types in its database as it boots.
#: A run uses no blocks; the registration is memoized in PREFECT_HOME, but a new home (a first
#: run, a fresh container, every test) pays it in full, and checking whether it is due imports
#: every installed Prefect collection (prefect-dask, and with it distributed). With and without:
#: `benchmarks/RESULTS.md`, "blocks".
TEMPORARY_SERVER_BOOT = {"PREFECT_API_BLOCKS_REGISTER_ON_START": "false", "PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false"}


def _spawn_temporary_server(api: Api) -> None:
    """Start Prefect's temporary server for `api` (uvicorn on a free loopback port) without
    importing Prefect."""
    spec = importlib.util.find_spec("prefect")
    assert spec is not None and spec.origin is not None, "prefect is a dependency of newsetl"
    port = free_port()
    api.url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1", **({} if off("blocks") else TEMPORARY_SERVER_BOOT)}
    api.process = subprocess.Popen(
        lifeline.command(
            "uvicorn", "--app-dir", str(Path(spec.origin).parent.parent),
            "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "error", "--lifespan", "on",
        ),
        env=env,
    )
