"""Preloaded by the fork server that worker processes (a local Dask cluster's, the local process
pool's) are forked from (see `flows.runtime.warmup.use_warm_fork_server`): importing this module
imports the tasks and loads the spaCy pipeline and the cleaning models (`warm_worker`) once, and
every worker forked afterwards starts with them, shared copy-on-write, instead of importing and
loading them all again.

A fork server preloads modules by name and nothing else, so the work happens at import; the
pipeline is named by FORK_MODEL_VARIABLE in the environment the fork server starts with.
Errors are left for the tasks to raise properly: a fork server that fails to import starts no
worker at all.

The fork server lives until the process that started it exits, then exits at once
(`flows.runtime.warmup.end_process`) rather than tearing its interpreter down object by object;
when that process is killed, the kernel kills the fork server and its workers
(`flows.runtime.lifeline`).
"""

from __future__ import annotations

import atexit
import os
import sys
from types import FrameType

from flows.runtime import off
from flows.runtime.lifeline import die_with
from flows.runtime.warmup import FORK_MODEL_VARIABLE, end_process, warm_worker


def _in_fork_server() -> bool:
    """Whether this import is the fork server's preload (multiprocessing's `forkserver.main` is
    on the stack), not an import in some other process, which must exit the usual way."""
    from multiprocessing import forkserver

    frame: FrameType | None = sys._getframe()
    while frame is not None:
        if frame.f_code is forkserver.main.__code__:
            return True
        frame = frame.f_back
    return False


if _in_fork_server():
    # The fork server exits when the process that started it does (`newsetl run`, or Dask's
    # nanny). Tearing down an interpreter that holds spaCy, Prefect and a pipeline takes most of
    # a second (`benchmarks/RESULTS.md`), and all that time the fork server kept open the
    # standard output it inherited: a caller reading `newsetl run`'s output to its end (a pipe,
    # `$(...)`, `subprocess.run`) waited for it. Workers forked from it do not run this: they end
    # with `os._exit`, as multiprocessing makes every forked child do. Registered before
    # warm_worker runs, so that it runs after the exit handlers of everything warm_worker imports
    # (exit handlers run in reverse order of registration).
    if not off("quickexit"):
        atexit.register(end_process, 0)
    # Killed with the process that started it, and each worker with it, even by `kill -9`, when
    # an exit handler never runs (flows.runtime.lifeline).
    die_with(os.getppid())
    _forker = os.getpid()

    def _die_with_forker() -> None:
        global _forker
        die_with(_forker)
        _forker = os.getpid()

    os.register_at_fork(after_in_child=_die_with_forker)

if os.environ.get(FORK_MODEL_VARIABLE):
    try:
        warm_worker(os.environ[FORK_MODEL_VARIABLE])
    except Exception:  # noqa: BLE001 - see the module's docstring
        pass
