"""Releasing the process pool's workers once the stages that use them are done."""

from __future__ import annotations

from prefect.context import FlowRunContext
from prefect.task_runners import ProcessPoolTaskRunner

from flows.runtime import off


def release_workers() -> None:
    """Stop the worker processes of the flow's process pool, once the last stage that runs on
    them is done: each holds a spaCy pipeline (about 400 MiB) that the checks and the load, which
    run in the flow's process, do not need. Other task runners are left as they are (threads hold
    nothing of their own; a Dask cluster may be shared). Prefect's runner shuts the pool down
    again as the flow ends, which is then a no-op."""
    context = FlowRunContext.get()
    runner = context.task_runner if context is not None else None
    executor = getattr(runner, "_executor", None)  # Prefect 3.8 keeps its ProcessPoolExecutor here
    if isinstance(runner, ProcessPoolTaskRunner) and executor is not None and not off("release"):
        executor.shutdown(wait=True)
