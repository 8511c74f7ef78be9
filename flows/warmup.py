"""Start-up work done side by side, so a run does not wait for each piece in turn.

Before a flow can run, three slow things happen: Prefect's temporary API server boots (a
subprocess; the main process only waits), great_expectations is imported, and the spaCy model
is loaded. `flows.serve.start_api` starts the server; a thread here does the other two.
"""

from __future__ import annotations

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
