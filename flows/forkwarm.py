"""Preloaded by the fork server that worker processes (a local Dask cluster's, the local process
pool's) are forked from (see `flows.warmup.use_warm_fork_server`): importing this module
imports the tasks and loads the spaCy pipeline and the cleaning models (`warm_worker`) once, and
every worker forked afterwards starts with them, shared copy-on-write, instead of importing and
loading them all again.

A fork server preloads modules by name and nothing else, so the work happens at import; the
pipeline is named by FORK_MODEL_VARIABLE in the environment the fork server starts with.
Errors are left for the tasks to raise properly: a fork server that fails to import starts no
worker at all.
"""

from __future__ import annotations

import os

from flows.warmup import FORK_MODEL_VARIABLE, warm_worker

if os.environ.get(FORK_MODEL_VARIABLE):
    try:
        warm_worker(os.environ[FORK_MODEL_VARIABLE])
    except Exception:  # noqa: BLE001 - see the module's docstring
        pass
