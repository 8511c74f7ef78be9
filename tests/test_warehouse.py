"""The lake and the DuckDB views, on small Parquet written through the schemas."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from schemas import SCHEMA_VERSION, TABLES
from warehouse.duck import WarehouseMissing, query, refresh_views, view_files
from warehouse.lake import Lake

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def _document(doc_id: str, body: str) -> dict[str, object]:
    return {
        "doc_id": doc_id, "source_path": f"in/{doc_id}.txt", "title": "T", "body": body,
        "n_chars_raw": len(body) + 10, "n_chars_body": len(body), "encoding": "utf-8", "language": "en", "run_id": "r1", "ingested_at": NOW,
    }


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    lake = Lake(tmp_path)
    lake.write_rows("documents", [_document("d1", "Putin met Erdoğan."), _document("d2", "Ankara.")], stem="r1")
    lake.write_rows(
        "mentions",
        [
            {"doc_id": "d1", "mention_id": 0, "sentence_id": 0, "start_char": 0, "end_char": 5, "text": "Putin", "label": "PERSON", "entity_id": "e1", "run_id": "r1"},
            {"doc_id": "d1", "mention_id": 1, "sentence_id": 0, "start_char": 10, "end_char": 17, "text": "Erdoğan", "label": "PERSON", "entity_id": "e2", "run_id": "r1"},
        ],
        stem="r1",
    )
    for name in ("sentences", "removed_lines", "quarantine", "dq_results", "runs"):
        lake.write_rows(name, [], stem="r1")
    lake.write_rows("entities", [{"entity_id": "e1", "name": "Putin", "label": "PERSON", "n_mentions": 1, "n_documents": 1}], stem="entities")
    refresh_views(lake)
    return lake


def test_every_table_has_a_view_file_named_after_it() -> None:
    assert set(view_files()) == set(TABLES)
    for name, path in view_files().items():
        sql = path.read_text()
        assert sql.startswith(f"-- {name}: one row per"), "first comment says what one row is"
        assert "select * from final" in sql


def test_views_expose_exactly_the_schema_columns(lake: Lake) -> None:
    for name, schema in TABLES.items():
        result = query(lake.data_dir, f"select * from {name} limit 0")
        assert result.columns == schema.names, name


def test_views_read_the_rows_and_keys_are_unique(lake: Lake) -> None:
    assert query(lake.data_dir, "select count(*), count(distinct doc_id) from documents").rows == [(2, 2)]
    assert query(lake.data_dir, "select count(*) from mentions where doc_id not in (select doc_id from documents)").rows == [(0,)]


def test_duckdb_substring_on_offsets_gives_the_mention_text(lake: Lake) -> None:
    sql = """
        select count(*) from mentions m join documents d using (doc_id)
        where substr(d.body, m.start_char + 1, m.end_char - m.start_char) <> m.text
    """
    assert query(lake.data_dir, sql).rows == [(0,)]


def test_parquet_files_carry_zstd_and_the_schema_version(lake: Lake) -> None:
    path = lake.files("documents")[0]
    meta = pq.read_metadata(path)
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert pq.read_schema(path).metadata[b"newsetl.schema_version"] == SCHEMA_VERSION.encode()


def test_a_write_leaves_no_temporary_file_and_replaces_atomically(lake: Lake) -> None:
    lake.write_rows("documents", [_document("d3", "x")], stem="r1")
    names = os.listdir(lake.table_dir("documents"))
    assert names == ["r1.parquet"]
    assert lake.loaded_documents() == {"d3": "in/d3.txt"}


def test_query_is_read_only(lake: Lake) -> None:
    with pytest.raises(duckdb.Error, match="read-only"):
        query(lake.data_dir, "create table t as select 1")


def test_query_without_a_warehouse_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(WarehouseMissing, match="newsetl run"):
        query(tmp_path, "select 1")


def test_reading_a_table_with_no_files_gives_an_empty_typed_table(tmp_path: Path) -> None:
    table = Lake(tmp_path).read("documents")
    assert table.num_rows == 0 and table.schema.names == TABLES["documents"].names
