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
        "n_chars_raw": len(body) + 10, "n_chars_body": len(body), "encoding": "utf-8", "run_id": "r1", "ingested_at": NOW,
    }


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    lake = Lake(tmp_path)
    lake.write_rows("documents", [_document("d1", "Putin met Erdoğan."), _document("d2", "Ankara.")], stem="r1")
    lake.write_rows(
        "mentions",
        [
            {"doc_id": "d1", "mention_id": 0, "sentence_id": 0, "start_char": 0, "end_char": 5, "text": "Putin", "label": "PERSON", "entity_id": "e1", "run_id": "r1", "entity_key": "putin"},
            {"doc_id": "d1", "mention_id": 1, "sentence_id": 0, "start_char": 10, "end_char": 17, "text": "Erdoğan", "label": "PERSON", "entity_id": "e2", "run_id": "r1", "entity_key": "erdogan"},
        ],
        stem="r1",
    )
    for name in ("sentences", "removed_lines", "quarantine", "dq_results", "runs", "quotes"):
        lake.write_rows(name, [], stem="r1")
    lake.write_rows("entities", [{"entity_id": "e1", "name": "Putin", "label": "PERSON", "n_mentions": 1, "n_documents": 1}], stem="entities")
    lake.write_rows(
        "entity_aliases",
        [{"entity_id": "e9", "alias": "Erdoğan", "alias_key": "erdogan", "n_mentions": 1, "n_documents": 1}],
        stem="entity_aliases",
    )
    refresh_views(lake)
    return lake


def test_every_table_has_a_view_file_named_after_it() -> None:
    assert set(TABLES) <= set(view_files())
    for name, path in view_files().items():
        sql = path.read_text()
        assert sql.startswith(f"-- {name}: one row per"), "first comment says what one row is"
        assert "select * from final" in sql


def test_views_expose_exactly_the_schema_columns(lake: Lake) -> None:
    for name, schema in TABLES.items():
        result = query(lake.data_dir, f"select * from {name} limit 0")
        assert result.columns == schema.names, name


def test_the_mentions_view_takes_the_entity_its_key_resolves_to_now(lake: Lake) -> None:
    # the Parquet row says e2 (the run that loaded it); entity_aliases now maps its key to e9
    assert query(lake.data_dir, "select text, entity_id from mentions order by mention_id").rows == [("Putin", "e1"), ("Erdoğan", "e9")]


def test_derived_views_are_created_after_the_tables_and_skipped_without_them(lake: Lake, tmp_path: Path) -> None:
    assert query(lake.data_dir, "select count(*) from entity_pairs_by_document").rows == [(0,)]
    only_runs = Lake(tmp_path / "fresh")
    only_runs.write_rows("runs", [], stem="r1")
    assert refresh_views(only_runs) == ["runs"]


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


def test_a_column_added_after_a_file_was_written_reads_as_nulls(tmp_path: Path) -> None:
    import pyarrow as pa

    lake = Lake(tmp_path)
    old = TABLES["mentions"].remove(TABLES["mentions"].get_field_index("entity_key"))
    row = {"doc_id": "d1", "mention_id": 0, "sentence_id": 0, "start_char": 0, "end_char": 5, "text": "Putin",
           "label": "PERSON", "entity_id": "e1", "run_id": "r0"}
    folder = lake.table_dir("mentions")
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([row], schema=old), folder / "r0.parquet")
    lake.write_rows("mentions", [{**row, "mention_id": 1, "run_id": "r1", "entity_key": "putin"}], stem="r1")
    table = lake.read("mentions", columns=["text", "entity_key"])
    assert table.to_pylist() == [{"text": "Putin", "entity_key": None}, {"text": "Putin", "entity_key": "putin"}]
