"""One odd document never stops a batch: the clean gate's invariants hold for any line breaks,
and a per-document failure quarantines that document while the run goes on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from flows.cli import main
from schemas import CONTRACT, Stage
from transforms.checks import documents_frame
from transforms.clean import clean_text
from warehouse.duck import query

#: Paragraphs of a council report, written for these tests: prose, one newline between them, as
#: most scrapers and news APIs deliver article bodies.
PARAGRAPHS = [
    "The council voted on Tuesday to approve the new budget for the coming year, officials said.",
    "The plan raises spending on schools and roads while cutting administrative costs by a tenth.",
    "Opposition members said the cuts would fall hardest on the smallest towns in the region.",
    "The mayor, Anna Keller, said the budget was balanced and would not raise local taxes.",
    "A final reading is expected next month, after a period of public consultation.",
    "Residents can comment on the plan online or at three public meetings in March.",
    "The budget totals 1.2 billion euros, up four percent on last year.",
    "Most of the increase goes to teachers' pay and to repairs of school buildings.",
    "Road repairs will receive 80 million euros, twice the sum of last year.",
    "The council's finance committee approved the plan unanimously last week.",
    "The regional government must still sign off on the borrowing it includes.",
]


def _clean_bounds() -> tuple[float, float]:
    """The clean gate's bounds on body_ratio, from the contract (not copied)."""
    (spec,) = [s for s in CONTRACT[Stage.CLEAN] if s.column == "body_ratio" and s.action.value != "warn"]
    return spec.kwargs["min_value"], spec.kwargs["max_value"]


def _frame(text: str) -> dict[str, object]:
    cleaned = clean_text(text)
    (row,) = documents_frame([{"doc_id": "d", "body": cleaned.body}], {"d": text})
    return row


def test_a_body_with_one_newline_between_paragraphs_passes_the_clean_gate() -> None:
    text = "Vote\n" + "\n".join(PARAGRAPHS) + "\n"
    body = clean_text(text).body
    assert len(body) > len(text)  # each single break became a blank line: the case that stopped runs
    low, high = _clean_bounds()
    row = _frame(text)
    assert low <= row["body_ratio"] <= high and row["body_is_substring"] is True


_LINE = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=60)
_BREAK = st.sampled_from(["\n", "\n\n", "\r\n", "\n \n", "\n\t\n\n", " \n"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_LINE, _BREAK), max_size=25))
def test_cleaning_any_text_with_any_line_breaks_passes_the_clean_gate(parts: list[tuple[str, str]]) -> None:
    text = "".join(line + brk for line, brk in parts)
    row = _frame(text)
    low, high = _clean_bounds()
    assert low <= row["body_ratio"] <= high
    assert row["body_is_substring"] is True


def _write_articles(folder: Path, n: int) -> None:
    folder.mkdir()
    for i in range(n):
        rotated = PARAGRAPHS[i % len(PARAGRAPHS):] + PARAGRAPHS[: i % len(PARAGRAPHS)]
        lines = [f"Vote {i}", *(f"{p} (Report {i}.)" for p in rotated)]
        (folder / f"article-{i:02d}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_articles_with_single_line_breaks_load_in_one_run(tmp_path: Path) -> None:
    _write_articles(tmp_path / "in", 12)
    for path in (tmp_path / "in").iterdir():  # each body is longer than its input: the case that stopped runs
        text = path.read_text(encoding="utf-8")
        assert len(clean_text(text).body) > len(text)
    data_dir = tmp_path / "data"
    assert main(["run", str(tmp_path / "in"), "--data-dir", str(data_dir)]) == 0
    assert query(data_dir, "select count(*) from documents").rows == [(12,)]
    assert query(data_dir, "select count(*) from quarantine").rows == [(0,)]


def test_a_failed_gate_prints_its_message_without_a_traceback(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    _write_articles(inputs, 1)
    for i in range(3):
        (inputs / f"empty-{i}.txt").write_bytes(b"")
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", str(inputs), "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "data-quality gate failed at stage 'load'" in done.stderr and "quarantined_fraction" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
