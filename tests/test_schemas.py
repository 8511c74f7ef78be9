"""Tables are built from their schemas, and a mismatch is one clear error."""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa
import pytest

from schemas import DOCUMENTS, QUARANTINE, TABLES, QuarantineReason, SchemaMismatch, build_table, check_schema, describe


def _quarantine_row(**overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "source_path": "in/a.txt", "stage": "extract", "reason": "empty", "detail": "0 bytes",
        "doc_id": None, "run_id": "r1", "quarantined_at": datetime(2026, 1, 1, tzinfo=timezone.utc),
        "input_sha256": None, "pipeline_version": "0.1.0", "model_version": "m==1",
    }
    row.update(overrides)
    return row


def test_empty_rows_give_an_empty_table_with_the_schema() -> None:
    for schema in TABLES.values():
        table = build_table([], schema)
        assert table.num_rows == 0 and table.schema.equals(schema, check_metadata=False)


def test_rows_are_typed_by_the_schema_not_inferred() -> None:
    table = build_table([_quarantine_row()], QUARANTINE)
    assert table.schema.field("doc_id").type == pa.string()  # all-null column keeps its type
    assert table.schema.field("quarantined_at").type == pa.timestamp("us", tz="UTC")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (_quarantine_row(extra="x"), "not in the schema"),
        (_quarantine_row(run_id=None), "not nullable"),
        (_quarantine_row(quarantined_at="yesterday"), "expected"),
    ],
)
def test_a_row_that_does_not_fit_raises_schema_mismatch_printing_the_schema(row: dict[str, object], message: str) -> None:
    with pytest.raises(SchemaMismatch, match=message) as info:
        build_table([row], QUARANTINE)
    assert "source_path: string not null" in str(info.value)


def test_check_schema_prints_both_schemas() -> None:
    table = pa.table({"doc_id": ["a"]})
    with pytest.raises(SchemaMismatch) as info:
        check_schema(table, DOCUMENTS, name="documents")
    assert "found:" in str(info.value) and "expected:" in str(info.value)


def test_every_column_is_described() -> None:
    for name, schema in TABLES.items():
        assert all(describe(schema).values()), name


def test_a_quarantine_expectation_must_name_its_reason() -> None:
    from schemas.contracts import Action, _e

    with pytest.raises(ValueError, match="needs a reason"):
        _e("documents", "ExpectColumnValuesToNotBeNull", action=Action.QUARANTINE, column="body")
    with pytest.raises(ValueError, match="needs a reason"):
        _e("documents", "ExpectColumnValuesToNotBeNull", reason=QuarantineReason.EMPTY, column="body")


def test_params_are_filled_in_from_the_run() -> None:
    from schemas.contracts import Param, _e

    spec = _e("extracted", "ExpectColumnValuesToBeBetween", column="n_bytes", max_value=Param("limit"))
    assert spec.resolved_kwargs({"limit": 10}) == {"column": "n_bytes", "max_value": 10}
    with pytest.raises(KeyError):
        spec.resolved_kwargs({})
