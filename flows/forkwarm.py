"""Preloaded by the fork server that local Dask workers are forked from (see
`flows.warmup.LocalDask`): importing this module imports the tasks and loads the spaCy pipeline
and the cleaning models (`warm_worker`) once, and every worker forked afterwards starts with
them, shared copy-on-write, instead of importing and loading them all again.

A fork server preloads modules by name and nothing else, so the work happens at import; the
pipeline is named by FORK_MODEL_VARIABLE in the environment the fork server starts with.
Errors are left for the tasks to raise properly: a fork server that fails to import starts no
worker at all.
"""

from __future__ import annotations

import os

from flows.warmup import warm_worker

#: The environment variable `LocalDask` names the pipeline to load in.
FORK_MODEL_VARIABLE = "NEWSETL_FORK_SERVER_MODEL"

if os.environ.get(FORK_MODEL_VARIABLE):
    try:
        warm_worker(os.environ[FORK_MODEL_VARIABLE])
    except Exception:  # noqa: BLE001 - see the module's docstring
        pass
