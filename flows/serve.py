"""Serve the flow as a Prefect deployment with a cron schedule.

Prefect's temporary (ephemeral) API cannot run schedules, so with no PREFECT_API_URL
`newsetl serve` starts a local Prefect server on loopback for as long as it serves, logging to
`DATA_DIR/prefect-server.log`; with PREFECT_API_URL set it serves against that server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

DEPLOYMENT = "newsetl"


class ServerNotStarted(RuntimeError):
    """The local Prefect server did not answer in time; the message names its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(api_url: str, *, timeout: float, process: subprocess.Popen[bytes] | None = None) -> bool:
    """Poll `<api_url>/health` until it answers 200, the process exits, or `timeout` passes."""
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
        time.sleep(0.5)
    return False


def start_local_server(log_path: Path, *, port: int | None = None, timeout: float = 180) -> tuple[subprocess.Popen[bytes], str]:
    """Start `prefect server start` on 127.0.0.1 and wait until it answers.

    Returns the process and its API URL.

    Raises:
        ServerNotStarted: it exited or did not answer within `timeout`; read `log_path`.
    """
    port = port or free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    prefect = Path(sys.executable).with_name("prefect")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
    if not wait_healthy(api_url, timeout=timeout, process=process):
        process.terminate()
        raise ServerNotStarted(f"the local Prefect server did not start on port {port}; see {log_path}")
    return process, api_url


def serve(parameters: dict[str, Any], *, cron: str) -> None:
    """Create or update the `newsetl` deployment with `cron` and run its scheduled runs until
    stopped. PREFECT_API_URL must point at a server that runs schedules."""
    from flows.pipeline import etl_flow

    etl_flow.serve(name=DEPLOYMENT, cron=cron, parameters=parameters, pause_on_shutdown=False)
