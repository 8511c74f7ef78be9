"""The local Dask cluster of `newsetl run --dask`, started in the background while Prefect's
server boots, its workers forked from the warm fork server (`flows.runtime.warmup`)."""

from __future__ import annotations

import threading
from typing import Any

from flows.runtime import off
from flows.runtime.warmup import use_warm_fork_server


#: Dask settings of the local cluster's workers (each worker's nanny passes on the config of the
#: process that starts it). No statistical profiler: it samples the running task's stack every
#: 10 ms for the dashboard's profile page, and this cluster has no dashboard. When the workers
#: fill every core, the CPU it and the bookkeeping below take comes out of the annotation
#: (with and without: `benchmarks/RESULTS.md`, "daskconfig").
WORKER_CONFIG: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    # Periodic bookkeeping of the scheduler, the nannies (both in the flow's process) and the
    # workers, every 20, 100 and 500 ms by default: each wakes a worker's event loop, which takes
    # the GIL from the task's thread. Each still runs: a blocked event loop is still reported, a
    # worker that outgrows its memory still paused and restarted, a second later at most.
    "distributed.admin.tick.interval": "1s",  # measures how late the event loop runs (20 ms)
    "distributed.admin.system-monitor.interval": "2s",  # CPU, memory and network use (500 ms)
    "distributed.worker.memory.monitor-interval": "1s",  # a worker's memory against its limits (100 ms)
}


class LocalDask:
    """A local Dask cluster (`workers` processes of one thread: spaCy is CPU-bound) that starts
    in the background while Prefect's server boots.

    Where the platform has it, the workers are forked from one fork server that imported the
    tasks and loaded the models once (`flows.runtime.forkwarm`): a second worker then costs a fork,
    not another start-up on the cores the run needs. Each worker also warms up as it joins
    (`flows.runtime.daskplugin.WarmUp`), which finds it all loaded when it was forked.

    Use `address()` for prefect-dask's DaskTaskRunner: it waits for the scheduler only, and the
    tasks the flow submits wait for the workers. Then `close()`.
    """

    def __init__(self, *, workers: int, model: str) -> None:
        self._cluster: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._start, args=(workers, model), name="newsetl-dask", daemon=True)
        self._thread.start()

    def _start(self, workers: int, model: str) -> None:
        try:
            import dask
            from distributed import Client, LocalCluster

            from flows.runtime.daskplugin import WarmUp

            _fork_warm_workers(model)
            if not off("daskconfig"):
                dask.config.set(WORKER_CONFIG)  # this process's config, which each worker's nanny passes on
            self._cluster = LocalCluster(n_workers=0, threads_per_worker=1, processes=True, dashboard_address=None)  # type: ignore[no-untyped-call]
            with Client(self._cluster) as client:  # type: ignore[no-untyped-call]
                client.register_plugin(WarmUp(model))
            self._cluster.scale(workers)
        except BaseException as error:  # noqa: BLE001 - raised again by address()
            self._error = error

    def address(self) -> str:
        """The scheduler's address, once it has started.

        Raises:
            RuntimeError: the cluster did not start (the cause is chained).
        """
        self._thread.join()
        if self._error is not None or self._cluster is None:
            raise RuntimeError(f"the local Dask cluster did not start: {self._error}") from self._error
        return str(self._cluster.scheduler_address)

    def close(self) -> None:
        """Stop the workers and the scheduler (idempotent)."""
        self._thread.join()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None



def _fork_warm_workers(model: str) -> None:
    """Make this process's local Dask workers fork from the warm fork server (sets Dask's
    multiprocessing method for the whole process)."""
    if not use_warm_fork_server(model):
        return
    import dask
    from distributed.utils import get_mp_context

    dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"})
    get_mp_context().set_forkserver_preload(["distributed", "flows.runtime.forkwarm"])  # type: ignore[no-untyped-call]  # after Dask's own list
