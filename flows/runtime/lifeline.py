"""Helper processes end when the process that started them does, however it ends (`kill -9`
included): the kernel's parent-death signal (Linux `prctl(PR_SET_PDEATHSIG)`) kills them.

Covered: Prefect's temporary server and `serve`'s local server (started through `command`), the
warm fork server and every worker forked from it (`flows.runtime.forkwarm`). Elsewhere than on
Linux nothing is set and helpers end as they did before. The signal comes when the *thread* that
started the helper ends, so helpers are started from the main thread (or, for a local Dask
cluster's fork server, from its event loop, which lives as long as the cluster).
"""

from __future__ import annotations

import os
import signal
import sys

_PR_SET_PDEATHSIG = 1
_PRELUDE = (
    "import ctypes, os, runpy, signal, sys\n"
    "if sys.platform == 'linux':\n"
    "    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)\n"
    "    if os.getppid() != {parent}:\n"
    "        os._exit(0)\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)\n"
)


def command(module: str, *args: str) -> list[str]:
    """The command line of `python -m module args...` for a helper that dies with this process."""
    return [sys.executable, "-c", _PRELUDE.format(parent=os.getpid()), module, *args]


def die_with(parent: int) -> None:
    """Have the kernel SIGKILL this process when `parent`, its parent, ends; exit now when it
    has ended already."""
    if sys.platform != "linux":
        return
    import ctypes

    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)
