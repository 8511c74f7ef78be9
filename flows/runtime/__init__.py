"""The runtime wing: code whose only purpose is start-up and task-runner speed or memory.

Everything here can be reviewed on a Prefect, Dask or spaCy upgrade, benchmarked with and
without (`benchmarks/RESULTS.md`), or deleted whole; the flow's stages do not depend on it.
Only `flows/` imports it (an import-linter contract in `pyproject.toml`).

- `warmup`: glibc allocator settings, loading the model and great_expectations in the
  background, the warm fork server that task workers fork from, the quick exit.
- `forkwarm`: what the fork server preloads.
- `localdask`, `daskplugin`: the local Dask cluster, started while Prefect boots.
- `runners`: Prefect's process pool forked from the warm fork server; prefect-dask's runner.
- `pool`: releasing the pool's workers once the stages that use them are done.
- `server`: Prefect's temporary API server, started first thing so that it boots while the
  flow's modules import.
- `lifeline`: helpers (servers, fork server, workers) die with the process that started them,
  even when it is killed. Not a speed mechanism: it is here because it wraps how they start.
"""
