"""The table reference, generated from the schemas: `python -m schemas.reference > docs/tables.md`.

A test checks that docs/tables.md is what this prints, so the reference cannot drift from the
schemas the Parquet files are written with.
"""

from __future__ import annotations

import pyarrow as pa

from schemas.tables import ABOUT, DERIVED, TABLES, describe

_SIMPLE = {
    pa.string(): "string",
    pa.int32(): "int32",
    pa.int64(): "int64",
    pa.float64(): "double",
    pa.bool_(): "bool",
    pa.binary(): "binary",
    pa.date32(): "date",
}


def type_name(t: pa.DataType) -> str:
    """How a column's type reads in the reference (DuckDB's names where they differ)."""
    if t in _SIMPLE:
        return _SIMPLE[t]
    if pa.types.is_timestamp(t):
        return "timestamp (UTC)" if t.tz else "timestamp"
    if pa.types.is_list(t):
        return f"list of {type_name(t.value_type)}"
    if pa.types.is_map(t):
        return f"map of {type_name(t.key_type)} to {type_name(t.item_type)}"
    return str(t)


def _section(name: str, schema: pa.Schema) -> list[str]:
    lines = [f"## `{name}`", "", ABOUT[name], "", "| column | type | null | meaning |", "|---|---|---|---|"]
    for field, meaning in zip(schema, describe(schema).values()):
        lines.append(f"| `{field.name}` | {type_name(field.type)} | {'yes' if field.nullable else 'no'} | {meaning} |")
    return [*lines, ""]


def markdown() -> str:
    """The whole reference: every table, then every derived view, columns in schema order."""
    lines = [
        "# Tables",
        "",
        "Generated from `schemas/` by `python -m schemas.reference`; do not edit by hand.",
        "Each table is a folder of Parquet files in the lake and a DuckDB view of the same name;",
        "the views show each document's latest version. Every file also holds `ingest_date`, the",
        "run's UTC date (a Parquet `date`), which names its folder: `<table>/YYYY-MM-DD/`.",
        "",
    ]
    for name, schema in TABLES.items():
        lines += _section(name, schema)
    lines += ["# Derived views", "", "Computed by DuckDB from the tables above at query time; no files of their own.", ""]
    for name, schema in DERIVED.items():
        lines += _section(name, schema)
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
