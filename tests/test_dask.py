"""The same flow on other task runners (a local Dask cluster, a process pool) gives the same tables as a local run."""

from __future__ import annotations

from pathlib import Path

from flows.cli import main
from warehouse.duck import query

COMPARED = {
    "documents": "select * exclude (run_id, ingested_at) from documents order by doc_id",
    "sentences": "select * exclude (run_id) from sentences order by doc_id, sentence_id",
    "mentions": "select * exclude (run_id) from mentions order by doc_id, mention_id",
    "entities": "select * exclude (run_id) from entities order by entity_id",
    "removed_lines": "select * exclude (run_id) from removed_lines order by doc_id, line_no",
    "quarantine": "select source_path, stage, reason, detail from quarantine order by source_path",
}


def test_a_dask_run_loads_the_same_tables_as_a_local_run(loaded: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "dask"
    assert main(["run", "--dask", "--workers", "2", "--batch-size", "2", "--data-dir", str(data_dir)]) == 0
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
    data_dir = tmp_path / "processes"
    assert main(["run", "--processes", "2", "--batch-size", "2", "--data-dir", str(data_dir)]) == 0
    for name, sql in COMPARED.items():
        assert query(data_dir, sql).rows == query(loaded, sql).rows, name
