"""The whole flow end to end through the CLI: real Prefect, spaCy model, great_expectations, DuckDB."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from flows.cli import main
from flows.settings import SAMPLE_CORPUS
from warehouse.duck import query

from .conftest import FIXTURES

LABELS = json.loads((FIXTURES / "seed_labels.json").read_text(encoding="utf-8"))


def _one(data_dir: Path, sql: str) -> object:
    rows = query(data_dir, sql).rows
    assert len(rows) == 1 and len(rows[0]) == 1, rows
    return rows[0][0]


def test_run_loads_the_five_seed_articles(loaded: Path) -> None:
    assert _one(loaded, "select count(*) from documents") == 5
    assert _one(loaded, "select count(distinct source_path) from documents") == 5
    assert _one(loaded, "select count(*) from quarantine") == 0
    assert query(loaded, "select status, n_input, n_loaded, n_quarantined from runs").rows == [("completed", 5, 5, 0)]


def test_every_labelled_boilerplate_line_is_in_removed_lines(loaded: Path) -> None:
    expected = sum(len(labels["boilerplate"]) for name, labels in LABELS.items() if not name.startswith("_"))
    assert _one(loaded, "select count(*) from removed_lines") == expected
    rows = query(loaded, "select d.source_path, r.line_no, r.reason from removed_lines r join documents d using (doc_id)").rows
    got = {(Path(path).name, str(line_no), reason) for path, line_no, reason in rows}
    want = {(name, no, reason) for name, labels in LABELS.items() if not name.startswith("_") for no, reason in labels["boilerplate"].items()}
    assert got == want


def test_titles_and_dates_are_loaded_as_typed_columns(loaded: Path) -> None:
    rows = query(loaded, "select title, published_at from documents where published_at is not null").rows
    assert [(t, p.isoformat()) for t, p in rows] == [(LABELS["002_8de11bd6ac878f34.txt"]["title"], "2020-02-07T17:53:00")]


def test_mention_and_sentence_offsets_slice_the_body_in_duckdb(loaded: Path) -> None:
    assert _one(loaded, "select count(*) from mentions") > 100
    bad_mentions = """
        select count(*) from mentions m join documents d using (doc_id)
        where m.start_char < 0 or m.end_char > length(d.body)
           or substr(d.body, m.start_char + 1, m.end_char - m.start_char) <> m.text
    """
    assert _one(loaded, bad_mentions) == 0
    bad_sentences = """
        select count(*) from sentences s join documents d using (doc_id)
        where s.start_char < 0 or s.end_char > length(d.body) or s.start_char >= s.end_char
    """
    assert _one(loaded, bad_sentences) == 0


def test_spellings_of_one_person_share_one_entity(loaded: Path) -> None:
    sql = """
        select count(distinct entity_id) from mentions
        where text in ('Erdogan', 'Erdoğan', 'Recep Tayyip Erdogan') and label = 'PERSON'
          and doc_id in (select doc_id from documents where source_path like '%001_%' or source_path like '%004_%')
    """
    assert _one(loaded, sql) == 1
    assert _one(loaded, "select count(*) from entities where name = 'Recep Tayyip Erdogan'") == 1


def test_every_expectation_of_every_stage_is_recorded_and_critical_ones_passed(loaded: Path) -> None:
    stages = {row[0] for row in query(loaded, "select distinct stage from dq_results").rows}
    assert stages == {"extract", "clean", "annotate", "load"}
    assert _one(loaded, "select count(*) from dq_results where critical and not success") == 0


def test_a_rerun_adds_no_rows(loaded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tables = ["documents", "sentences", "mentions", "entities", "sentence_entities", "removed_lines", "quarantine", "dq_results"]
    before = {t: _one(loaded, f"select count(*) from {t}") for t in tables}
    capsys.readouterr()
    assert main(["run", "--data-dir", str(loaded)]) == 0
    summary = dict(line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines()[1:])
    assert Path(summary["report"]).is_file() and Path(summary["report"]).is_relative_to(loaded)
    assert {t: _one(loaded, f"select count(*) from {t}") for t in tables} == before
    last = query(loaded, "select n_loaded, n_skipped, status from runs order by run_id desc limit 1").rows
    assert last == [(0, 5, "completed")]


def test_a_defect_in_every_document_quarantines_each_and_the_share_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import flows.pipeline
    from transforms.rows import mention_rows

    def shifted(*args: object, **kwargs: object) -> list[dict[str, object]]:
        rows = mention_rows(*args, **kwargs)  # type: ignore[arg-type]
        return [{**row, "start_char": row["start_char"] + 1} for row in rows]  # an off-by-one bug

    monkeypatch.setattr(flows.pipeline, "mention_rows", shifted)
    data_dir = tmp_path / "data"
    assert main(["run", "--data-dir", str(data_dir)]) == 2
    err = capsys.readouterr().err
    assert "stage 'load'" in err and "quarantined_fraction" in err and "5 failed_check" in err
    assert query(data_dir, "select status from runs").rows == [("failed",)]
    details = query(data_dir, "select stage, reason, detail from quarantine").rows
    assert len(details) == 5 and all(row[:2] == ("annotate", "failed_check") and "slice_matches = False" in row[2] for row in details)
    assert not (data_dir / "lake" / "documents").exists()


def test_a_rerun_does_not_call_spacy_and_new_files_are_the_only_ones_processed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import transforms.annotate

    inputs = tmp_path / "in"
    shutil.copytree(SAMPLE_CORPUS, inputs)
    data_dir = tmp_path / "data"
    assert main(["run", str(inputs), "--data-dir", str(data_dir)]) == 0
    annotated: list[str] = []
    real = transforms.annotate.annotate_texts

    def counting(nlp: object, texts: list[str], **kwargs: object) -> object:
        annotated.extend(texts)
        return real(nlp, texts, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(transforms.annotate, "annotate_texts", counting)
    assert main(["run", str(inputs), "--data-dir", str(data_dir)]) == 0
    assert annotated == []
    from transforms.clean import clean_text

    paragraphs = [p for f in sorted(SAMPLE_CORPUS.glob("*.txt")) for p in clean_text(f.read_text()).body.split("\n\n") if len(p) >= 220]
    for i in range(10):  # ten distinct new stories (not near-duplicates of each other)
        (inputs / f"new-{i}.txt").write_text(f"Story {i}\n\n{paragraphs[i * 3]}\n")
    assert main(["run", str(inputs), "--data-dir", str(data_dir)]) == 0
    assert len(annotated) == 10  # the bodies of the ten new files, each once
    assert all(sum(paragraphs[i * 3] in body for body in annotated) == 1 for i in range(10))
    assert query(data_dir, "select n_loaded, n_skipped from runs order by run_id").rows == [(5, 0), (0, 5), (10, 5)]
    assert _one(data_dir, "select count(*) from documents") == 15


def test_a_new_pipeline_version_reprocesses_and_the_views_show_one_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import flows.pipeline

    loaded = tmp_path / "data"
    assert main(["run", "--data-dir", str(loaded)]) == 0
    tables = ["documents", "sentences", "mentions", "entities", "sentence_entities", "removed_lines"]
    before = {t: _one(loaded, f"select count(*) from {t}") for t in tables}
    monkeypatch.setattr(flows.pipeline, "PIPELINE_VERSION", "99.0.0")
    assert main(["run", "--data-dir", str(loaded)]) == 0
    assert {t: _one(loaded, f"select count(*) from {t}") for t in tables} == before
    assert query(loaded, "select distinct pipeline_version from documents").rows == [("99.0.0",)]
    latest = _one(loaded, "select max(run_id) from runs")
    assert query(loaded, "select distinct run_id from mentions").rows == [(latest,)]
    assert query(loaded, "select n_loaded, n_skipped from runs order by run_id desc limit 1").rows == [(5, 0)]
    raw = query(loaded, f"select count(*) from read_parquet('{loaded.resolve()}/lake/documents/*/*.parquet')").rows
    assert raw == [(before["documents"] * 2,)], "the old version's rows stay in the lake, out of the views"


def _entity_of(data_dir: Path) -> dict[str, str]:
    return dict(query(data_dir, "select alias_key, any_value(entity_id) from entity_keys group by alias_key").rows)


def test_entity_ids_stay_across_runs_a_later_name_joins_its_entity_and_a_replay_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, data_dir = tmp_path / "first", tmp_path / "data"
    first.mkdir()
    for name in ("001_3bf0b783fa0966cb.txt", "004_020e556836022639.txt"):
        shutil.copy(SAMPLE_CORPUS / name, first / name)
    assert main(["run", str(first), "--data-dir", str(data_dir)]) == 0
    before = _entity_of(data_dir)
    assert main(["run", "--data-dir", str(data_dir)]) == 0  # all five seeds: three new documents
    after = _entity_of(data_dir)
    assert {k: after[k] for k in before} == before
    # a later run names Mr Putin by his surname only, in an article of its own
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "note.txt").write_text(
        "Note\n\nMr Putin met the governor in Moscow on Monday, the Kremlin said, in a visit that neither side had "
        "announced and that came a week after a new round of talks on the future of the north-west of the country.\n",
        encoding="utf-8",
    )
    assert main(["run", str(extra), "--data-dir", str(data_dir)]) == 0
    assert "putin" not in after, "the surname alone is a key the lake has not seen"
    assert _entity_of(data_dir)["putin"] == after["vladimir putin"]
    mentions = "select doc_id, mention_id, entity_id from mentions order by all"
    quotes = "select doc_id, quote_id, speaker_entity_id from quotes order by all"
    incremental = (_entity_of(data_dir), query(data_dir, mentions).rows, query(data_dir, quotes).rows)
    capsys.readouterr()
    # re-resolving the whole lake, run by run, gives the ids the runs gave
    assert main(["resolve", "--data-dir", str(data_dir)]) == 0
    assert "0 keys changed entity" in capsys.readouterr().out
    assert (_entity_of(data_dir), query(data_dir, mentions).rows, query(data_dir, quotes).rows) == incremental
    lake = (data_dir / "lake").resolve()
    stored = query(data_dir, f"select doc_id, mention_id, entity_id from read_parquet('{lake}/mentions/*/*.parquet') order by all").rows
    assert stored == incremental[1], "the Parquet rows carry the resolved ids too"


def test_a_run_in_chunks_resolves_each_chunk_as_a_run_of_its_own_and_a_replay_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Names are resolved chunk by chunk, so a run's memory follows its chunk, not its input: a
    # run of two chunks gives the ids that two runs of the same files give. Here the surname
    # comes first, so it keeps its id when the full name joins it in the second chunk.
    inputs, chunked, separate = tmp_path / "in", tmp_path / "chunked", tmp_path / "separate"
    texts = {
        "a.txt": "Port talks\n\nMr Okonkwo told reporters in Lagos on Monday that the port would reopen next week, after "
                 "a month of talks with the unions over pay, shifts and the safety of the cranes on the eastern quay.\n\n"
                 "He said the first ships would be the grain carriers that had waited off the coast since the strike.\n",
        "b.txt": "Port reopens\n\nChidi Okonkwo, the port's director, said on Friday that the first ships had docked in "
                 "Lagos, and that the unions had agreed to new shifts after the month of talks over pay and safety.\n\n"
                 "The grain carriers that had waited off the coast since the strike were the first to unload.\n",
    }
    for name, text in texts.items():
        (inputs / name).parent.mkdir(exist_ok=True)
        (inputs / name).write_text(text, encoding="utf-8")
        (tmp_path / name[0]).mkdir()
        (tmp_path / name[0] / name).write_text(text, encoding="utf-8")
    assert main(["run", str(inputs), "--data-dir", str(chunked), "--chunk-size", "1"]) == 0
    for name in texts:
        assert main(["run", str(tmp_path / name[0]), "--data-dir", str(separate)]) == 0
    ids = _entity_of(chunked)
    assert ids["okonkwo"] == ids["chidi okonkwo"], "the full name in chunk 2 joins the surname of chunk 1"
    assert ids == _entity_of(separate)
    assert _one(chunked, "select count(distinct chunk) from entity_keys") == 2
    capsys.readouterr()
    assert main(["resolve", "--data-dir", str(chunked)]) == 0
    assert "0 keys changed entity" in capsys.readouterr().out


def test_an_alias_file_edit_reaches_loaded_names_through_resolve(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir, extra = tmp_path / "data", tmp_path / "extra"
    assert main(["run", "--data-dir", str(data_dir)]) == 0
    extra.mkdir()
    (extra / "note.txt").write_text(
        "Note\n\nMr Assad met Vladimir Putin in Moscow on Monday, the Kremlin said, in a visit that neither side had "
        "announced and that came a week after a new round of talks on the future of the north-west of the country.\n",
        encoding="utf-8",
    )
    assert main(["run", str(extra), "--data-dir", str(data_dir)]) == 0
    assert _one(data_dir, "select count(distinct entity_id) from mentions where entity_key in ('assad', 'bashar al assad')") == 1
    (data_dir / "aliases.yaml").write_text("separate: [Assad]\n", encoding="utf-8")
    assert main(["run", str(extra), "--data-dir", str(data_dir)]) == 0  # nothing new: loaded names keep their entity
    assert _one(data_dir, "select count(distinct entity_id) from mentions where entity_key in ('assad', 'bashar al assad')") == 1
    capsys.readouterr()
    assert main(["resolve", "--data-dir", str(data_dir)]) == 0
    assert "0 keys changed" not in capsys.readouterr().out
    # a bare "Assad" (no full name in its article) is its own entity; in-document resolution still applies
    assert query(data_dir, "select distinct e.name from mentions m join entities e using (entity_id) where m.entity_key = 'assad'").rows == [("Assad",)]
    assert _one(data_dir, "select count(distinct entity_id) from mentions where entity_key in ('assad', 'bashar al assad')") == 2
    assert _one(data_dir, "select count(*) from mentions m left join entities e using (entity_id) where e.entity_id is null") == 0


def test_a_syndicated_copy_loaded_in_a_later_run_is_found_as_a_near_duplicate(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert main(["run", "--data-dir", str(data_dir)]) == 0
    original = SAMPLE_CORPUS / "000_3c68401bbd99f25e.txt"
    later = tmp_path / "later"
    later.mkdir()
    text = original.read_text(encoding="utf-8")
    (later / "syndicated.txt").write_text(text.replace("Moscow", "the Russian capital", 1) + "\nReporting by our correspondent.\n", encoding="utf-8")
    assert main(["run", str(later), "--data-dir", str(data_dir)]) == 0
    first = _one(data_dir, f"select doc_id from documents where source_path = '{original}'")
    assert query(data_dir, "select duplicate_of from documents where source_path like '%syndicated.txt'").rows == [(first,)]
    assert _one(data_dir, "select count(*) from mentions m join documents d using (doc_id) where d.duplicate_of is not null") == 0


def test_a_malformed_alias_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "aliases.yaml"
    bad.write_text("entities: nope\n", encoding="utf-8")
    assert main(["run", "--data-dir", str(tmp_path / "data"), "--aliases", str(bad)]) == 1
    assert "alias file" in capsys.readouterr().err
