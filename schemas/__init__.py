"""Table schemas, closed vocabularies and the data-quality contract: the single source of truth."""

from schemas.contracts import CONTRACT, Expectation
from schemas.reasons import ENTITY_LABELS, QuarantineReason, RemovalReason, RunStatus, Stage
from schemas.tables import (
    DOCUMENTS,
    DQ_RESULTS,
    ENTITIES,
    ENTITY_ALIASES,
    MENTIONS,
    QUOTES,
    QUARANTINE,
    REMOVED_LINES,
    RUNS,
    SCHEMA_VERSION,
    SENTENCES,
    TABLES,
    SchemaMismatch,
    build_table,
    check_schema,
    describe,
)

__all__ = [
    "CONTRACT",
    "DOCUMENTS",
    "DQ_RESULTS",
    "ENTITIES",
    "ENTITY_ALIASES",
    "ENTITY_LABELS",
    "MENTIONS",
    "QUARANTINE",
    "QUOTES",
    "REMOVED_LINES",
    "RUNS",
    "SCHEMA_VERSION",
    "SENTENCES",
    "TABLES",
    "Expectation",
    "QuarantineReason",
    "RemovalReason",
    "RunStatus",
    "SchemaMismatch",
    "Stage",
    "build_table",
    "check_schema",
    "describe",
]
