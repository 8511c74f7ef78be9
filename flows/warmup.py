"""Start-up work done side by side, so a run does not wait for each piece in turn.

Before a flow can run, three slow things happen: Prefect's temporary API server boots (a
subprocess; the main process only waits), great_expectations is imported, and the spaCy model
is loaded. Here the server is started through Prefect's client while a thread does the other two.
"""

from __future__ import annotations

import os
import threading

from flows import quality
from flows.nlp import load_pipeline


def warm_up(model: str | None) -> threading.Thread:
    """Import great_expectations and load the spaCy model (unless `model` is None) in a
    background thread.

    Errors are left for the tasks that need these to raise properly.
    """

    def work() -> None:
        try:
            quality.prepare()
            if model is not None:
                load_pipeline(model)
        except Exception:  # noqa: BLE001 - the task that needs it raises the error properly
            pass

    thread = threading.Thread(target=work, name="newsetl-warm-up", daemon=True)
    thread.start()
    return thread


def connect_api_in_background() -> threading.Thread:
    """`connect_api` in a thread, so that the flow's modules are imported while the temporary
    server boots; call `wait_for_api` on the thread before running a flow."""
    thread = threading.Thread(target=_connect, name="newsetl-api", daemon=True)
    thread.start()
    return thread


_API_ERROR: list[str] = []


def _connect() -> None:
    try:
        connect_api()
    except Exception as error:  # noqa: BLE001 - reported by wait_for_api
        _API_ERROR.append(str(error))


def wait_for_api(thread: threading.Thread) -> None:
    """Wait for `connect_api_in_background`'s thread.

    Raises:
        RuntimeError: the API did not answer (the message says what to check).
    """
    thread.join()
    if _API_ERROR:
        raise RuntimeError(_API_ERROR[-1])


def connect_api() -> None:
    """Reach the Prefect API now: with no PREFECT_API_URL this boots the temporary server,
    which the flow then reuses; with a server configured it checks that it answers."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        error = client.api_healthcheck()
    if error is not None:
        raise RuntimeError(f"the Prefect API does not answer: {error}; check PREFECT_API_URL")
    from prefect.settings import get_current_settings

    if get_current_settings().api.url is None:
        # Task worker processes (process pool, local Dask) inherit the environment: point them
        # at this temporary server, or each would boot a server of its own (about 6 s each).
        from prefect.server.api.server import SubprocessASGIServer

        os.environ["PREFECT_API_URL"] = SubprocessASGIServer().api_url
