"""A damaged lake: detected before a run reads it, listed by `newsetl verify`, repaired by
`newsetl verify --repair` so that the next run over the same inputs loads everything again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flows.cli import main
from warehouse.duck import query
from warehouse.lake import Lake

COUNTS = "select (select count(*) from documents), (select count(*) from mentions), (select count(*) from sentences), (select count(*) from signatures)"


@pytest.fixture
def data_dir(loaded: Path, tmp_path: Path) -> Path:
    """A copy of the loaded sample data dir (the `lake` link kept), to damage."""
    target = tmp_path / "data"
    shutil.copytree(loaded, target, symlinks=True)
    return target


def _file(data_dir: Path, table: str) -> Path:
    files = Lake(data_dir).files(table)
    assert files, f"no {table} file"
    return files[0]


def test_an_intact_lake_verifies(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--data-dir", str(data_dir)]) == 0
    assert "as committed" in capsys.readouterr().out


def test_a_file_cut_in_half_stops_the_run_in_one_line_and_repair_loads_it_again(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = query(data_dir, COUNTS).rows
    damaged = _file(data_dir, "documents")
    with open(damaged, "r+b") as handle:
        handle.truncate(damaged.stat().st_size // 2)
    snapshot = Lake(data_dir).current_snapshot()
    capsys.readouterr()

    assert main(["run", "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and damaged.name in err[1] and "newsetl verify --repair" in err[1], err
    assert Lake(data_dir).current_snapshot() == snapshot, "a refused run changes nothing"

    assert main(["verify", "--data-dir", str(data_dir)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("changed") and damaged.name in out

    assert main(["verify", "--repair", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "not loaded" in out and damaged.name in out
    assert query(data_dir, COUNTS).rows == [(0, 0, 0, 0)], "the documents' derived rows leave with them"
    assert main(["verify", "--data-dir", str(data_dir)]) == 0

    assert main(["run", "--data-dir", str(data_dir)]) == 0
    assert query(data_dir, COUNTS).rows == before


def test_a_lost_mentions_file_marks_its_documents_for_reload(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = query(data_dir, COUNTS).rows
    _file(data_dir, "mentions").unlink()
    assert main(["verify", "--data-dir", str(data_dir)]) == 1
    assert capsys.readouterr().out.startswith("missing")

    assert main(["verify", "--repair", "--data-dir", str(data_dir)]) == 0
    assert "marked  5 documents" in capsys.readouterr().out
    assert query(data_dir, "select count(*) from documents where pipeline_version = 'needs-reload'").rows == [(5,)]
    assert query(data_dir, "select count(*) from mentions").rows == [(0,)]

    assert main(["run", "--data-dir", str(data_dir)]) == 0
    assert "loaded       5" in capsys.readouterr().out
    assert query(data_dir, COUNTS).rows == before
    assert query(data_dir, "select count(*) from documents where pipeline_version = 'needs-reload'").rows == [(0,)]


def test_verify_finds_changed_bytes_of_the_same_size_and_unknown_files(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    changed = _file(data_dir, "sentences")
    data = bytearray(changed.read_bytes())
    data[len(data) // 2] ^= 0xFF
    changed.write_bytes(bytes(data))
    forged = changed.parent / "forged.parquet"
    shutil.copy(_file(data_dir, "documents"), forged)

    assert main(["verify", "--data-dir", str(data_dir)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["changed", "unknown"]
    assert "SHA-256" in lines[0] and forged.name in lines[1]

    assert main(["verify", "--repair", "--data-dir", str(data_dir)]) == 0
    assert not any(p.name == forged.name for p in Lake(data_dir).files("sentences"))
    assert main(["verify", "--data-dir", str(data_dir)]) == 0


def test_a_lost_manifest_is_named_queries_still_answer_and_repair_records_the_files_again(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = query(data_dir, COUNTS).rows
    (Lake(data_dir).root / "_lake.json").unlink()
    assert query(data_dir, COUNTS).rows == before  # answered, not waiting for a manifest forever
    assert main(["verify", "--data-dir", str(data_dir)]) == 1
    assert "_lake.json" in capsys.readouterr().out
    assert main(["verify", "--repair", "--data-dir", str(data_dir)]) == 0
    assert main(["verify", "--data-dir", str(data_dir)]) == 0
    assert query(data_dir, COUNTS).rows == before
