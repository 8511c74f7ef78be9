"""The README stays true: tables and columns, reasons, example SQL, the two commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from schemas import TABLES, QuarantineReason, RemovalReason
from warehouse.duck import query

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _documented_tables() -> dict[str, list[tuple[str, str]]]:
    tables: dict[str, list[tuple[str, str]]] = {}
    for section in re.split(r"^### ", README, flags=re.M)[1:]:
        name = re.match(r"`(\w+)`", section)
        if name and name.group(1) in TABLES:
            rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| (yes|no) \|", section, flags=re.M)
            tables[name.group(1)] = rows
    return tables


def test_every_table_and_column_is_documented_with_its_nullability() -> None:
    documented = _documented_tables()
    assert set(documented) == set(TABLES)
    for name, schema in TABLES.items():
        assert documented[name] == [(f.name, "yes" if f.nullable else "no") for f in schema], name


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
