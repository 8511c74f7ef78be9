"""The README and the table reference stay true: tables and columns, reasons, example SQL, the two commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from schemas import DERIVED, TABLES, QuarantineReason, RemovalReason
from schemas.reference import markdown
from warehouse.duck import query

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_table_reference_is_generated_from_the_schemas_and_current() -> None:
    reference = (ROOT / "docs" / "tables.md").read_text(encoding="utf-8")
    assert reference == markdown(), "run: .venv/bin/python -m schemas.reference > docs/tables.md"
    for name, schema in {**TABLES, **DERIVED}.items():
        section = reference.split(f"## `{name}`\n", 1)[1].split("\n## ", 1)[0]
        rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| (yes|no) \|", section, flags=re.M)
        assert rows == [(f.name, "yes" if f.nullable else "no") for f in schema], name
        assert f"`{name}`" in README, f"the README's table list names {name}"


def test_every_reason_is_listed() -> None:
    for reason in [*QuarantineReason, *RemovalReason]:
        assert f"`{reason.value}`" in README, reason


SQL_BLOCKS = re.findall(r"```sql\n(.*?)```", README, flags=re.S)


def test_the_readme_has_example_queries() -> None:
    assert len(SQL_BLOCKS) >= 3


@pytest.mark.parametrize("sql", SQL_BLOCKS, ids=[f"example-{i}" for i in range(len(SQL_BLOCKS))])
def test_example_queries_run_on_the_sample_warehouse(loaded: Path, sql: str) -> None:
    result = query(loaded, sql)
    assert result.rows, "an example query should show something on the sample corpus"


def test_quick_start_is_make_run_and_make_test_and_ci_runs_the_test_command() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^(make \w+)", quick_start, flags=re.M)
    assert commands == ["make run", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert [line for line in ci.splitlines() if line and not line.startswith("#") and not line.startswith(("set ", "cd "))] == ["make test"]
