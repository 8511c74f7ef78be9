"""The runtime wing: code whose only purpose is start-up and task-runner speed.

Everything here can be reviewed on a Prefect, Dask or spaCy upgrade, benchmarked with and
without (`benchmarks/RESULTS.md`), or deleted whole; the flow's stages do not depend on it.
Only `flows/` imports it (an import-linter contract in `pyproject.toml`).

- `warmup`: loading the model and great_expectations in the background, the warm fork server
  that task workers fork from, the quick exit.
- `forkwarm`: what the fork server preloads.
- `localdask`, `daskplugin`: the local Dask cluster, started while Prefect boots.
- `runners`: Prefect's process pool forked from the warm fork server; prefect-dask's runner.
- `server`: Prefect's temporary API server, started first thing so that it boots while the
  flow's modules import.
- `lifeline`: helpers (servers, fork server, workers) die with the process that started them,
  even when it is killed. Not a speed mechanism: it is here because it wraps how they start.

`NEWSETL_RUNTIME_OFF=server,warmup` (say) runs without the mechanisms named (`MECHANISMS`).
"""

import os

#: The mechanisms `off` can switch off, to measure a run with and without each
#: (`benchmarks/mechanisms.py`; the figures are in `benchmarks/RESULTS.md`).
MECHANISMS = ("server", "blocks", "forkserver", "warmup", "quickexit", "daskconfig")

#: The environment variable naming the mechanisms to switch off, comma-separated.
OFF_VARIABLE = "NEWSETL_RUNTIME_OFF"


def off(mechanism: str) -> bool:
    """Whether `mechanism` (one of MECHANISMS) is switched off in NEWSETL_RUNTIME_OFF. A run
    gives the same rows either way; only its time and memory change."""
    assert mechanism in MECHANISMS, mechanism
    return mechanism in os.environ.get(OFF_VARIABLE, "").split(",")
