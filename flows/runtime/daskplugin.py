"""The Dask worker plugin that warms a newsetl worker up (a module of its own: only Dask runs
import it, and it imports distributed)."""

from __future__ import annotations

import threading
from typing import Any

from distributed import WorkerPlugin

from flows.runtime.warmup import warm_worker


class WarmUp(WorkerPlugin):
    """Each worker, as it joins the cluster, runs `warm_worker` in a thread of its own, so that
    neither the worker nor the flow waits for it (a task that needs the model waits for the load
    under way). A worker forked from the warm fork server (`flows.runtime.forkwarm`) finds it all done."""

    name = "newsetl-warm-up"

    def __init__(self, model: str) -> None:
        self.model = model

    def setup(self, worker: Any) -> None:
        threading.Thread(target=warm_worker, args=(self.model,), name="newsetl-warm-worker", daemon=True).start()
