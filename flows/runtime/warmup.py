"""Start-up work done side by side, so a run does not wait for each piece in turn.

Before a flow can run, slow things happen: Prefect's temporary API server boots (a subprocess;
the main process only waits), great_expectations is imported, the spaCy model is loaded, and
worker processes (a local Dask cluster's, the local pool's) start, forked from a fork server
that imported the tasks and loaded the models once. `flows.runtime.server.start_api` starts the server;
threads here and the fork server do the rest (the local Dask cluster: `flows.runtime.localdask`).

Importing this module is cheap (spaCy, great_expectations and Prefect are imported where they
are used), so that the CLI can start the fork server before it imports anything heavy.
"""

from __future__ import annotations

import os
import threading
from typing import NoReturn

from flows.runtime import off

#: The environment variable that names the pipeline the fork server loads (`flows.runtime.forkwarm`).
FORK_MODEL_VARIABLE = "NEWSETL_FORK_SERVER_MODEL"


def end_process(status: int) -> NoReturn:
    """End this process with `status` once its logs and standard streams are flushed, skipping
    the interpreter's teardown (`newsetl`'s last exit handler, and the fork server's: see
    `flows.cli.entry` and `flows.runtime.forkwarm`)."""
    import sys

    if "logging" in sys.modules:  # its own exit handler may come after the caller's
        import logging

        logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):  # a reader that went away (`| head`), a closed stream, none at all
            pass
    os._exit(status)


def warm_up(model: str | None) -> None:
    """Import great_expectations and load the spaCy model (unless `model` is None) in a
    background thread.

    Errors are left for the tasks that need these to raise properly.
    """
    if off("warmup"):
        return

    def work() -> None:
        try:
            from flows import quality
            from flows.nlp import load_pipeline

            quality.prepare()
            if model is not None:
                load_pipeline(model)
        except Exception:  # noqa: BLE001 - the task that needs it raises the error properly
            pass

    threading.Thread(target=work, name="newsetl-warm-up", daemon=True).start()


def warm_worker(model: str) -> None:
    """Start-up of a task worker process (a process pool's or a Dask worker): import the tasks,
    load the spaCy pipeline, and load what cleaning uses on first call (the language model and
    the MinHash permutations), so the first batches do not wait for them. Errors are left for
    the tasks to raise properly.

    Also what Prefect needs for a worker's first task: every task arrives with its flow run's
    context, which names the flow (unpickling it imports `flows.pipeline`; not the warehouse
    modules, which it imports at first use) and whose run context looks up Prefect's block types
    (which loads the installed Prefect collections, prefect-dask and distributed). Done once in
    the fork server, it shortens every worker's first task (`benchmarks/RESULTS.md`)."""
    import flows.pipeline  # noqa: F401  (the flow named in each task's context)
    import flows.tasks  # noqa: F401  (the tasks sent to this process live there)
    from prefect.plugins import load_prefect_collections

    from flows.nlp import ModelNotFound, load_pipeline
    from transforms.dedup import minhash
    from transforms.language import detect_language

    load_prefect_collections()

    try:
        load_pipeline(model)
    except ModelNotFound:
        pass
    detect_language("Warming up the language model.")
    minhash("warming up the minhash permutations of the clean stage")


def use_warm_fork_server(model: str) -> bool:
    """Make the processes this process starts with multiprocessing's "forkserver" method fork
    from a fork server that preloads `flows.runtime.forkwarm` with `model`; False where the platform has
    no fork server (Windows), and workers are spawned and warm up on their own. The fork server
    starts with the first worker and lives as long as this process, its workers as long as it
    (`flows.runtime.lifeline`)."""
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods() or off("forkserver"):
        return False
    os.environ[FORK_MODEL_VARIABLE] = model  # the fork server's environment is this process's
    multiprocessing.get_context("forkserver").set_forkserver_preload(["flows.runtime.forkwarm"])
    return True


def start_warm_fork_server(model: str) -> None:
    """Start the warm fork server (`use_warm_fork_server`) now, so that it imports and loads
    while Prefect's server boots, not when the process pool forks its first worker (the first
    extract task would wait for it)."""
    if use_warm_fork_server(model):
        from multiprocessing import forkserver

        forkserver.ensure_running()
