"""Serving the flow as a deployment with a cron schedule.

Prefect's temporary (ephemeral) API cannot run schedules, so with no PREFECT_API_URL
`newsetl serve` starts a local Prefect server on loopback for as long as it serves, logging to
`DATA_DIR/prefect-server.log`; with PREFECT_API_URL set it serves against that server.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from flows.runtime import lifeline
from flows.runtime.server import ServerNotStarted, free_port, wait_healthy

DEPLOYMENT = "newsetl"


def start_local_server(log_path: Path, *, port: int | None = None, timeout: float = 180) -> tuple[subprocess.Popen[bytes], str]:
    """Start `prefect server start` on 127.0.0.1 and wait until it answers.

    Returns the process and its API URL.

    Raises:
        ServerNotStarted: it exited or did not answer within `timeout`; read `log_path`.
    """
    port = port or free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            lifeline.command("prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)),
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
