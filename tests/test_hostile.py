"""Hostile input: every file ends in documents or quarantine with a reason, and batch gates."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import spacy

from flows.cli import main
from flows.settings import SAMPLE_CORPUS
from flows.sources import source_name
from warehouse.duck import query

from .conftest import ROOT

PARAGRAPH = (
    "The central bank raised its main interest rate by a quarter of a point on Thursday, saying that "
    "inflation had stayed above its target for a third month and that wages were still rising fast."
)


def _article(title: str, extra: str = "") -> str:
    # Each article's paragraph differs (its title is appended): a line repeated across many
    # articles of one folder is learned as that source's furniture.
    return f"{title}\n\n{PARAGRAPH} ({title})\n\n{extra or 'Economists had expected the move after a week of strong data from the labour market.'}\n"


FRENCH = (
    "La banque centrale relève son taux\n\n"
    "La banque centrale a relevé jeudi son principal taux directeur d'un quart de point, estimant que "
    "l'inflation restait au-dessus de son objectif pour le troisième mois consécutif.\n\n"
    "Les économistes attendaient cette décision après une semaine de données solides sur le marché du travail.\n"
)


def _rows(data_dir: Path, sql: str) -> list[tuple[object, ...]]:
    return query(data_dir, sql).rows


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A folder of every kind of broken input, loaded once with --max-quarantined 1."""
    root = tmp_path_factory.mktemp("hostile")
    inputs = root / "in"
    inputs.mkdir()
    good = inputs / "good.txt"
    good.write_text(_article("Rates rise"), encoding="utf-8")
    (inputs / "empty.txt").write_bytes(b"")
    (inputs / "whitespace.txt").write_text(" \n\t\n   \n")
    (inputs / "binary.txt").write_bytes(os.urandom(4096))
    (inputs / "windows-1252.txt").write_bytes(_article("Pound slides", "“Sterling fell to £0.85,” a trader said, as markets closed lower on the day.").encode("cp1252"))
    (inputs / "utf16.txt").write_bytes(_article("Bonds rally", "Bond prices rose sharply as investors sought safety ahead of the holiday weekend.").encode("utf-16"))
    (inputs / "crlf.txt").write_bytes(_article("Oil falls", "Oil prices fell for a second day as stocks of crude in the United States grew.").replace("\n", "\r\n").encode())
    (inputs / "nul.txt").write_bytes(_article("Gold steady", "Gold was steady near a record high as the dollar weakened against the euro.").encode().replace(b"Gold was", b"Gold\x00 was"))
    (inputs / "furniture.txt").write_text("Editor's Picks\nSign up to our daily email\nMost Popular\nLeave a Reply\n")
    (inputs / "x-duplicate.txt").write_bytes(good.read_bytes())
    os.symlink(good, inputs / "y-symlink.txt")
    (inputs / "nav.html").write_text("<!DOCTYPE html><html><body><nav><a href='/'>Home</a><a href='/world'>World</a></nav></body></html>")
    (inputs / "truncated.txt.gz").write_bytes(gzip.compress(_article("Cut short").encode())[:30])
    (inputs / "report.pdf").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n")
    (inputs / "french.txt").write_text(FRENCH, encoding="utf-8")
    (inputs / "name with spaces ü é £.txt").write_text(_article("Shares climb", "Shares in London climbed to a two-month high, led by mining and energy companies."), encoding="utf-8")
    (inputs / "stray-byte.txt").write_bytes(_article("Café rents", "Rents rose to £2,000 a month STRAY in the centre.").encode().replace(b"STRAY", b"\xff"))
    os.mkfifo(inputs / "pipe")  # a writer may never come: opening it would block the run
    (Path(os.fsdecode(bytes(inputs) + b"/caf\xe9-latin1-name.txt"))).write_text(_article("Wine exports", "French wine exports fell for the first time in a decade as demand from China weakened."), encoding="utf-8")
    with open(inputs / "huge.txt", "wb") as handle:  # 80 MB, sparse: rejected by size before it is read
        handle.truncate(80 * 1024 * 1024)
    data_dir = root / "data"
    assert main(["run", str(inputs), "--data-dir", str(data_dir), "--max-quarantined", "1"]) == 0
    return inputs, data_dir


def test_every_file_is_in_documents_or_quarantine(hostile: tuple[Path, Path]) -> None:
    inputs, data_dir = hostile
    files = sorted(source_name(str(p)) for p in inputs.iterdir())  # a name that is not UTF-8 kept with escapes
    loaded = [row[0] for row in _rows(data_dir, "select source_path from documents")]
    quarantined = [row[0] for row in _rows(data_dir, "select source_path from quarantine")]
    assert sorted(loaded + quarantined) == files
    assert len(files) == 20


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("empty.txt", "empty"),
        ("whitespace.txt", "empty"),
        ("binary.txt", "binary"),
        ("furniture.txt", "empty_body"),
        ("nav.html", "empty_body"),
        ("truncated.txt.gz", "unreadable"),
        ("report.pdf", "unsupported_format"),
        ("huge.txt", "too_large"),
        ("pipe", "not_a_regular_file"),
    ],
)
def test_rejected_files_carry_their_reason_and_a_detail(hostile: tuple[Path, Path], name: str, reason: str) -> None:
    inputs, data_dir = hostile
    rows = _rows(data_dir, f"select reason, detail from quarantine where source_path = '{inputs / name}'")
    assert len(rows) == 1 and rows[0][0] == reason and rows[0][1]


@pytest.mark.parametrize(
    ("name", "encoding", "fragment"),
    [
        ("windows-1252.txt", "cp1252", "“Sterling fell to £0.85,”"),
        ("utf16.txt", "utf-16", "Bond prices rose sharply"),
        ("crlf.txt", "utf-8", "Oil prices fell"),
        ("nul.txt", "utf-8", "Gold was steady"),
        ("name with spaces ü é £.txt", "utf-8", "Shares in London"),
        ("good.txt", "utf-8", "The central bank raised"),
        ("stray-byte.txt", "utf-8-repaired", "Rents rose to £2,000 a month \ufffd in the centre."),
        ("caf\\xe9-latin1-name.txt", "utf-8", "(Wine exports)"),
    ],
)
def test_readable_files_are_loaded_intact(hostile: tuple[Path, Path], name: str, encoding: str, fragment: str) -> None:
    inputs, data_dir = hostile
    rows = _rows(data_dir, f"select encoding, body from documents where source_path = '{inputs / name}'")
    assert len(rows) == 1
    assert rows[0][0] == encoding
    body = str(rows[0][1])
    assert fragment in body and "\r" not in body and "\x00" not in body


def test_copies_are_loaded_pointing_at_the_first_and_not_annotated(hostile: tuple[Path, Path]) -> None:
    inputs, data_dir = hostile
    copies = _rows(data_dir, """
        select c.source_path, (select count(*) from mentions m where m.doc_id = c.doc_id)
        from documents c join documents o on c.duplicate_of = o.doc_id
        where o.source_path like '%/good.txt' order by c.source_path""")
    assert [(Path(str(p)).name, n) for p, n in copies] == [("x-duplicate.txt", 0), ("y-symlink.txt", 0)]


def test_a_non_english_article_is_loaded_flagged_and_not_annotated(hostile: tuple[Path, Path]) -> None:
    inputs, data_dir = hostile
    doc = _rows(data_dir, f"select doc_id, language from documents where source_path = '{inputs / 'french.txt'}'")
    assert [row[1] for row in doc] == ["fr"]
    assert _rows(data_dir, f"select count(*) from mentions where doc_id = '{doc[0][0]}'") == [(0,)]
    english = _rows(data_dir, "select count(*) from documents where language = 'en' and duplicate_of is null")[0][0]
    assert english == 8


def test_the_bbc_latin1_article_loads_with_its_pound_sign(shared: Path, tmp_path: Path) -> None:
    source = shared / "corpora" / "bbc" / "sport" / "199.txt"
    assert main(["run", str(source), "--data-dir", str(tmp_path)]) == 0
    rows = _rows(tmp_path, "select encoding, body from documents")
    assert len(rows) == 1 and rows[0][0] in {"cp1252", "latin-1"} and "£" in str(rows[0][1])


def test_a_batch_of_mostly_junk_fails_the_run_but_keeps_the_quarantine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "good.txt").write_text(_article("Rates rise"))
    for i in range(3):
        (inputs / f"empty-{i}.txt").write_bytes(b"")
    data_dir = tmp_path / "data"
    assert main(["run", str(inputs), "--data-dir", str(data_dir)]) == 2
    err = capsys.readouterr().err
    assert "stage 'load'" in err and "quarantined_fraction" in err and "0.75" in err and "3 empty" in err
    assert _rows(data_dir, "select status from runs") == [("failed",)]
    assert _rows(data_dir, "select count(*) from quarantine where reason = 'empty'") == [(3,)]
    assert not (data_dir / "lake" / "documents").exists()


def test_a_short_body_is_quarantined_with_the_setting_named(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "short.txt").write_text("Brief\n\nRates went up today, the bank said in a statement.\n")
    (inputs / "long.txt").write_text(_article("Rates rise"))
    assert main(["run", str(inputs), "--data-dir", str(tmp_path / "data")]) == 0
    rows = _rows(tmp_path / "data", "select stage, reason, detail from quarantine")
    assert len(rows) == 1 and rows[0][:2] == ("clean", "body_too_short") and "n_chars_body" in str(rows[0][2])


def _distinct_articles(folder: Path, paragraphs: list[str]) -> Path:
    """One article per pair of seed paragraphs: distinct content, no near-duplicates."""
    folder.mkdir()
    for i in range(0, len(paragraphs) - 1, 2):
        title = " ".join(paragraphs[i].split()[:8])
        (folder / f"article-{i // 2:02d}.txt").write_text(f"{title}\n\n{paragraphs[i]}\n\n{paragraphs[i + 1]}\n", encoding="utf-8")
    return folder


def test_entity_density_collapsing_against_recent_runs_fails_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from transforms.clean import clean_text

    paragraphs = [
        p for f in sorted(SAMPLE_CORPUS.glob("*.txt")) for p in clean_text(f.read_text(encoding="utf-8")).body.split("\n\n") if len(p) >= 120
    ]
    assert len(paragraphs) >= 80
    data_dir = tmp_path / "data"
    assert main(["run", str(_distinct_articles(tmp_path / "first", paragraphs[:40])), "--data-dir", str(data_dir)]) == 0
    no_ner = tmp_path / "model-without-ner"
    spacy.blank("en").to_disk(no_ner)  # a pipeline that finds no entities at all
    capsys.readouterr()
    second = _distinct_articles(tmp_path / "second", paragraphs[40:80])
    assert main(["run", str(second), "--data-dir", str(data_dir), "--model", str(no_ner)]) == 2
    assert "entity_density_ratio" in capsys.readouterr().err
    assert [row[0] for row in _rows(data_dir, "select status from runs order by run_id")] == ["completed", "failed"]
    shutil.rmtree(no_ner)


@spacy.Language.component("newsetl_test_fails_on_marker")
def _fails_on_marker(doc: spacy.tokens.Doc) -> spacy.tokens.Doc:
    if "MARKER-THAT-BREAKS-THE-MODEL" in doc.text:
        raise ValueError("the model cannot read this document")
    return doc


def test_a_document_that_breaks_the_model_is_quarantined_and_the_others_load(tmp_path: Path) -> None:
    model = tmp_path / "fragile-model"
    nlp = spacy.blank("en")
    nlp.add_pipe("newsetl_test_fails_on_marker")
    nlp.to_disk(model)
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "fine.txt").write_text(_article("Rates rise"))
    (inputs / "breaks.txt").write_text(_article("Rates fall", "MARKER-THAT-BREAKS-THE-MODEL appears in this long enough paragraph of text."))
    data_dir = tmp_path / "data"
    assert main(["run", str(inputs), "--data-dir", str(data_dir), "--model", str(model)]) == 0
    assert _rows(data_dir, "select source_path from documents") == [(str(inputs / "fine.txt"),)]
    rows = _rows(data_dir, "select source_path, stage, reason, detail from quarantine")
    assert rows == [(str(inputs / "breaks.txt"), "annotate", "annotation_error", "ValueError: the model cannot read this document")]


def test_a_folder_that_cannot_be_listed_is_quarantined_as_unreadable(tmp_path: Path) -> None:
    """Root lists any folder: as root, the check runs without the capabilities that override
    permissions (setpriv). The locked folder is one quarantine row, the readable file beside it
    loads."""
    unprivileged = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    if unprivileged and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv to drop the capabilities that override permissions")
    top = tmp_path / "in"
    top.mkdir()
    try:
        (top / "ok.txt").write_text("A readable article.\n", encoding="utf-8")
        locked = top / "locked"
        locked.mkdir()
        (locked / "hidden.txt").write_text("Never read.\n", encoding="utf-8")
        locked.chmod(0)
        script = (
            "import json, sys; from flows.sources import count_files, discover, read_documents\n"
            "paths = discover([sys.argv[1]])\n"
            "print(json.dumps([count_files([sys.argv[1]], stop_at=10), "
            "[(r.source_path, getattr(r, 'reason', 'loaded'), getattr(r, 'detail', '')) for p in paths for r in read_documents(p, max_bytes=1 << 20)]]))\n"
        )
        command = [*unprivileged, sys.executable, "-c", script, str(top)]
        done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
        assert done.returncode == 0, done.stderr
        count, outcome = json.loads(done.stdout)
        assert count == 2
        assert [(path, reason) for path, reason, _ in outcome] == [(str(locked), "unreadable"), (str(top / "ok.txt"), "loaded")]
        assert "cannot be listed" in outcome[0][2] and "Permission denied" in outcome[0][2]
    finally:
        (top / "locked").chmod(0o755)  # for pytest to remove it
