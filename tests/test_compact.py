"""`newsetl compact`: fewer files, the same rows and query results, nothing done twice.

The lake: three runs on 2026-11-20 and two on 2026-11-21, each committed without automatic
compaction, so documents, mentions, entity_keys, runs and dq_results have 3 + 2 files.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from flows.cli import main
from schemas import SCHEMA_VERSION
from warehouse.duck import query, refresh_views
from warehouse.lake import Lake

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
RUNS = [("r1", date(2026, 11, 20)), ("r2", date(2026, 11, 20)), ("r3", date(2026, 11, 20)), ("r4", date(2026, 11, 21)), ("r5", date(2026, 11, 21))]


def _lineage(run_id: str) -> dict[str, str]:
    return {"run_id": run_id, "pipeline_version": "0.1.0", "model_version": "m==1"}


def _tables(run_id: str) -> dict[str, list[dict[str, Any]]]:
    """One document with one mention per run, its `runs` row and one data-quality result."""
    doc_id = f"d-{run_id}"
    lineage = _lineage(run_id)
    return {
        "documents": [{
            "doc_id": doc_id, "source_path": f"in/{run_id}.txt", "title": run_id, "body": "Putin spoke.", "n_chars_raw": 12,
            "n_chars_body": 12, "encoding": "utf-8", "language": "en", "ingested_at": T0, "input_sha256": "0" * 64, **lineage,
        }],
        "mentions": [{
            "doc_id": doc_id, "mention_id": 0, "sentence_id": 0, "start_char": 0, "end_char": 5, "text": "Putin",
            "label": "PERSON", "entity_id": "e1", "entity_key": "putin", "full_name": False, "input_sha256": "0" * 64, **lineage,
        }],
        "runs": [{
            "run_id": run_id, "started_at": T0, "finished_at": T0, "status": "completed", "n_input": 1, "n_loaded": 1,
            "n_skipped": 0, "n_quarantined": 0, "n_duplicates": 0, "n_mentions": 1, "extract_s": 0.0, "clean_s": 0.0,
            "annotate_s": 0.0, "quality_s": 0.0, "load_s": 0.0, "model": "m==1", **lineage,
        }],
        "dq_results": [{
            "stage": "load", "table_name": "documents", "expectation": "expect_column_values_to_be_unique", "column_name": "doc_id",
            "critical": True, "success": True, "observed": "0", "checked_at": T0, **lineage,
        }],
        "entity_keys": [{"alias_key": "putin", "entity_id": "e1", "n_mentions": 1, "labels": [("PERSON", 1)], "acronym": False,
                         "short_forms": [], "blocks": None, "chunk": 0, **lineage}],
    }


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    lake = Lake(tmp_path / "data")
    with lake.lock():
        for run_id, day in RUNS:
            lake.commit(run_id, _tables(run_id), ingest_date=day, compact_min_files=None)
    refresh_views(lake)
    return lake.data_dir


QUERIES = {
    "documents": "select * from documents order by doc_id",
    "mentions": "select * from mentions order by doc_id, mention_id",
    "runs": "select * from runs order by run_id",
    "dq_results": "select * from dq_results order by run_id",
    "entities": "select * from entities",
    "entity_aliases": "select * from entity_aliases",
    "entity_keys": "select * exclude (ingest_date) from entity_keys order by run_id",
    "sentence_entities": "select * from sentence_entities order by all",
    "top_entities_weekly": "select * from top_entities_weekly order by all",
    "run_history": "select * from run_history order by run_id",
    "per day": "select ingest_date, count(*) from documents group by all order by all",
}


def _results(data_dir: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {name: query(data_dir, sql).rows for name, sql in QUERIES.items()}


def _printed_counts(out: str) -> dict[str, tuple[int, int]]:
    """table -> (files before, files after) from compact's output."""
    counts = {}
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit():
            counts[parts[0]] = (int(parts[1]), int(parts[2]))
    return counts


def test_compact_merges_each_days_files_and_keeps_every_row_and_result(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _results(data_dir)
    assert before["per day"] == [(date(2026, 11, 20), 3), (date(2026, 11, 21), 2)]
    snapshot = Lake(data_dir).current_snapshot()
    assert main(["compact", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert _printed_counts(out) == {
        "documents": (5, 2), "mentions": (5, 2), "entity_keys": (5, 2), "runs": (5, 2), "dq_results": (5, 2), "total": (25, 10),
    }
    lake = Lake(data_dir)
    assert lake.current_snapshot() != snapshot and not snapshot.exists(), "published as a new snapshot"  # type: ignore[union-attr]
    names = [p.relative_to(lake.table_dir("documents")) for p in lake.files("documents")]
    assert [n.parent.name for n in names] == ["2026-11-20", "2026-11-21"]
    assert all(n.name.startswith("compacted-") for n in names)
    assert _results(data_dir) == before
    assert lake.manifest()["schema_version"] == SCHEMA_VERSION  # type: ignore[index]


def test_compact_a_second_time_changes_nothing(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compact", "--data-dir", str(data_dir)]) == 0
    capsys.readouterr()
    snapshot = Lake(data_dir).current_snapshot()
    before = _results(data_dir)
    assert main(["compact", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert all(n_before == n_after for n_before, n_after in _printed_counts(out).values())
    assert _printed_counts(out)["total"] == (10, 10)
    assert "nothing to merge" in out
    assert Lake(data_dir).current_snapshot() == snapshot, "no new snapshot when there is nothing to merge"
    assert _results(data_dir) == before


def test_compact_without_a_lake_says_how_to_make_one_and_creates_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nothing-here"
    assert main(["compact", "--data-dir", str(missing)]) == 1
    err = capsys.readouterr().err
    assert "no lake in" in err and f"newsetl run --data-dir {missing}" in err
    assert not missing.exists()


def test_compact_refuses_a_lake_of_another_schema_version(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = data_dir / "lake" / "_lake.json"
    manifest.write_text(manifest.read_text().replace(f'"schema_version": "{SCHEMA_VERSION}"', '"schema_version": "2"'))
    files = Lake(data_dir).file_counts()
    assert main(["compact", "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert "schema version 2" in err and "--data-dir NEW_DIR" in err
    assert Lake(data_dir).file_counts() == files


def test_compact_removes_what_an_interrupted_run_left(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lake = Lake(data_dir)
    (lake.snapshots / ".staging-1").mkdir()
    assert main(["compact", "--data-dir", str(data_dir)]) == 0
    assert os.listdir(lake.snapshots) == [lake.current_snapshot().name]  # type: ignore[union-attr]


def test_compact_help_says_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["compact", "--help"])
    assert info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for words in ("before and after", "12 files", "lock", "new snapshot", "same", "--data-dir", "no lake"):
        assert words in out, words
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "newsetl compact" in capsys.readouterr().out
