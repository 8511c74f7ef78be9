"""Prefect task runners for `newsetl run`: the local process pool, its workers forked from the
warm fork server (`flows.runtime.warmup`), and prefect-dask's runner."""

from __future__ import annotations

from typing import Any

from prefect.task_runners import ProcessPoolTaskRunner

from flows.runtime.warmup import use_warm_fork_server, warm_worker


def dask_task_runner(address: str) -> Any:
    """prefect-dask's DaskTaskRunner on the Dask cluster at `address`: an existing one
    (`--dask-address`), or the local one the CLI started (`flows.runtime.localdask.LocalDask`)."""
    from prefect_dask.task_runners import DaskTaskRunner

    return DaskTaskRunner(address=address)


def process_task_runner(*, workers: int, model: str) -> Any:
    """Prefect's ProcessPoolTaskRunner with `workers` processes, forked from the warm fork server
    (`flows.runtime.warmup.use_warm_fork_server`) where there is one: each starts with the spaCy pipeline
    `model` and the cleaning models loaded once for all. Each also runs `warm_worker` as it starts
    (all done already when forked; the whole start-up when spawned). The flow's process extracts
    itself under this runner (`flows.pipeline._extracts_here`): the first workers start with the
    clean stage."""
    runner = _ForkServerPool if use_warm_fork_server(model) else ProcessPoolTaskRunner
    return runner(max_workers=workers, initializer=warm_worker, initargs=(model,))


class _ForkServerPool(ProcessPoolTaskRunner):
    """ProcessPoolTaskRunner whose processes come from multiprocessing's fork server. Prefect
    3.8 takes its context in `__enter__` as `multiprocessing.get_context("spawn")`, with no
    option; for that call only, its module's `multiprocessing` is one whose `get_context` gives
    the fork server's (the workers still start clean: the fork server is a fresh process, not
    this one). `duplicate()` keeps the class."""

    def __enter__(self) -> Any:
        import multiprocessing

        import prefect.task_runners as module

        module.multiprocessing = _ForkServerContexts(multiprocessing)  # type: ignore[attr-defined,assignment]
        try:
            return super().__enter__()
        finally:
            module.multiprocessing = multiprocessing  # type: ignore[attr-defined]


class _ForkServerContexts:
    """The `multiprocessing` module, but every context it hands out is the fork server's."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def get_context(self, method: str | None = None) -> Any:
        return self._module.get_context("forkserver")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)
