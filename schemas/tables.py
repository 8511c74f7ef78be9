"""The pyarrow schema of every warehouse table: the single source of truth for names and types.

Every Parquet file is written from these schemas (never inferred), the DuckDB views read those
files, the README documents these columns and a test checks that it does. Each field carries a
`description` in its metadata; `describe(schema)` returns them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

import pyarrow as pa

#: Version of the table layout, stored in each Parquet file's metadata.
SCHEMA_VERSION: Final[str] = "6"  # 3: lineage on every table; 4: sentence_entities; 5: incremental state, entity views; 6: entity_keys.chunk, a typed ingest_date in the files


def _field(name: str, type_: pa.DataType, description: str, *, nullable: bool = False) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"description": description})


def _versions(what: str) -> list[pa.Field]:
    """The two version columns of lineage, for a table whose rows `what` (e.g. "wrote the row")."""
    return [
        _field("pipeline_version", pa.string(), f"newsetl version of the run that {what} (runs.pipeline_version)"),
        _field("model_version", pa.string(), f"spaCy pipeline and version of the run that {what} (runs.model_version)"),
    ]


def _input_sha256(*, nullable: bool = False) -> pa.Field:
    if nullable:
        return _field("input_sha256", pa.string(), "SHA-256 of the input file's bytes; null when the file could not be read", nullable=True)
    return _field("input_sha256", pa.string(), "SHA-256 of the input file's bytes, as in documents.input_sha256 (lineage)")


#: The column the lake adds to every row it stores: the run's UTC date, which also names the
#: file's folder (`<table>/YYYY-MM-DD/`). Rows are built without it; the lake adds it as it writes.
INGEST_DATE: Final[pa.Field] = _field("ingest_date", pa.date32(), "UTC date of the run that wrote the row; also the name of the file's folder (<table>/YYYY-MM-DD/)")


_UTC = pa.timestamp("us", tz="UTC")
_LOCAL = pa.timestamp("us")

DOCUMENTS: Final[pa.Schema] = pa.schema(
    [
        _field("doc_id", pa.string(), "stable id: first 20 hex digits of the SHA-256 of the decoded text"),
        _field("source_path", pa.string(), "path of the input file as it was found (symlinks not resolved)"),
        _field("title", pa.string(), "headline, from the first line that is not furniture", nullable=True),
        _field("subtitle", pa.string(), "standfirst printed under the headline", nullable=True),
        _field("published_at", _LOCAL, "publication time as printed by the source (no time zone)", nullable=True),
        _field("updated_at", _LOCAL, "last-update time as printed by the source (no time zone)", nullable=True),
        _field("page_date", pa.date32(), "the page's own date line, kept apart from the article's dates", nullable=True),
        _field("author", pa.string(), "author from a byline or a 'Write to ... at ...' line", nullable=True),
        _field("dateline", pa.string(), "place the story was filed from, e.g. ISTANBUL", nullable=True),
        _field("tags", pa.list_(pa.string()), "topic tags from a tag line", nullable=True),
        _field("source_name", pa.string(), "publication name when stated (an HTML page's site name)", nullable=True),
        _field("source_url", pa.string(), "address of the page (a WARC record's target, an HTML page's canonical URL)", nullable=True),
        _field("body", pa.string(), "cleaned article body, paragraphs separated by a blank line"),
        _field("n_chars_raw", pa.int64(), "characters in the decoded input"),
        _field("n_chars_body", pa.int64(), "characters in body"),
        _field("encoding", pa.string(), "encoding the input was decoded from; utf-8-repaired: UTF-8 with a few invalid bytes, each replaced by U+FFFD"),
        _field("language", pa.string(), "ISO 639-1 language of the body (py3langid); only 'en' is annotated"),
        _field("run_id", pa.string(), "run that loaded the document"),
        _field("ingested_at", _UTC, "when the run loaded the document (UTC)"),
        _field("input_sha256", pa.string(), "SHA-256 of the input file's bytes (lineage)"),
        _field("duplicate_of", pa.string(), "doc_id of the first copy when this is an exact or near-duplicate (not annotated)", nullable=True),
        _field("pipeline_version", pa.string(), "newsetl version that loaded the row; a new one reprocesses the document"),
        _field("model_version", pa.string(), "spaCy pipeline and version that annotated it; a new one reprocesses the document"),
    ]
)

SENTENCES: Final[pa.Schema] = pa.schema(
    [
        _field("doc_id", pa.string(), "document the sentence belongs to"),
        _field("sentence_id", pa.int32(), "0-based position of the sentence in the document"),
        _field("start_char", pa.int32(), "offset of the first character in documents.body (0-based)"),
        _field("end_char", pa.int32(), "offset one past the last character in documents.body"),
        _field("run_id", pa.string(), "run that wrote the row"),
        _input_sha256(),
        *_versions("wrote the row"),
    ]
)

MENTIONS: Final[pa.Schema] = pa.schema(
    [
        _field("doc_id", pa.string(), "document the mention is in"),
        _field("mention_id", pa.int32(), "0-based position of the mention in the document"),
        _field("sentence_id", pa.int32(), "sentence containing the mention"),
        _field("start_char", pa.int32(), "offset of the first character in documents.body (0-based)"),
        _field("end_char", pa.int32(), "offset one past the last character; body[start_char:end_char] == text"),
        _field("text", pa.string(), "the mention as written"),
        _field("label", pa.string(), "spaCy entity label of this mention (PERSON, GPE, ORG, ...)"),
        _field("entity_id", pa.string(), "canonical entity the mention resolves to (entities.entity_id)"),
        _field("run_id", pa.string(), "run that wrote the row"),
        _field("entity_key", pa.string(), "matching key after in-document resolution (entity_keys.alias_key)"),
        _field("full_name", pa.bool_(), "the mention as written is a name of two words or more (titles, 'the' and dots folded away); full names vote for their entity's label"),
        _input_sha256(),
        *_versions("wrote the row"),
    ]
)

QUOTES: Final[pa.Schema] = pa.schema(
    [
        _field("doc_id", pa.string(), "document the quotation is in"),
        _field("quote_id", pa.int32(), "0-based position of the quotation in the document"),
        _field("sentence_id", pa.int32(), "sentence where the quotation starts"),
        _field("start_char", pa.int32(), "offset of the quoted text in documents.body, quotation marks excluded"),
        _field("end_char", pa.int32(), "offset one past the quoted text; body[start_char:end_char] == text"),
        _field("text", pa.string(), "the quoted words"),
        _field("speaker", pa.string(), "the attribution as written (Mr Cavusoglu, he, the source)", nullable=True),
        _field("speaker_entity_id", pa.string(), "entity the speaker resolves to; null when unattributed or unnamed", nullable=True),
        _field("speaker_key", pa.string(), "entity key of the speaker's mention (entity_keys.alias_key); null when unattributed or unnamed", nullable=True),
        _field("run_id", pa.string(), "run that wrote the row"),
        _input_sha256(),
        *_versions("wrote the row"),
    ]
)

REMOVED_LINES: Final[pa.Schema] = pa.schema(
    [
        _field("doc_id", pa.string(), "document the line was removed from"),
        _field("line_no", pa.int32(), "1-based line number in the decoded input"),
        _field("text", pa.string(), "the removed line"),
        _field("reason", pa.string(), "why it was removed (see RemovalReason)"),
        _field("run_id", pa.string(), "run that wrote the row"),
        _input_sha256(),
        *_versions("wrote the row"),
    ]
)

QUARANTINE: Final[pa.Schema] = pa.schema(
    [
        _field("source_path", pa.string(), "path of the input file as it was found"),
        _field("stage", pa.string(), "stage that rejected it (extract, clean, annotate, load)"),
        _field("reason", pa.string(), "reason code (see QuarantineReason)"),
        _field("detail", pa.string(), "human-readable explanation"),
        _field("doc_id", pa.string(), "content id when the file could be decoded", nullable=True),
        _field("run_id", pa.string(), "run that rejected it"),
        _field("quarantined_at", _UTC, "when (UTC)"),
        _input_sha256(nullable=True),
        *_versions("rejected it"),
    ]
)

RUNS: Final[pa.Schema] = pa.schema(
    [
        _field("run_id", pa.string(), "run id: UTC start time and a random suffix, sortable"),
        _field("started_at", _UTC, "start (UTC)"),
        _field("finished_at", _UTC, "end (UTC); null while running", nullable=True),
        _field("status", pa.string(), "running, completed or failed"),
        _field("n_input", pa.int64(), "input files found"),
        _field("n_loaded", pa.int64(), "documents loaded by this run"),
        _field("n_skipped", pa.int64(), "files already loaded by an earlier run, unchanged"),
        _field("n_quarantined", pa.int64(), "files set aside with a reason"),
        _field("n_duplicates", pa.int64(), "loaded documents that copy an earlier one (exact or near), not annotated"),
        _field("n_mentions", pa.int64(), "mentions loaded by this run"),
        _field("entity_density", pa.float64(), "mentions per 1,000 characters of annotated body", nullable=True),
        _field("extract_s", pa.float64(), "seconds spent extracting"),
        _field("clean_s", pa.float64(), "seconds spent cleaning"),
        _field("annotate_s", pa.float64(), "seconds spent annotating (spaCy)"),
        _field("quality_s", pa.float64(), "seconds spent in data-quality checks"),
        _field("load_s", pa.float64(), "seconds spent writing Parquet and refreshing views"),
        _field("model", pa.string(), "spaCy pipeline used, with its version (the same as model_version, kept for existing queries)"),
        _field("pipeline_version", pa.string(), "newsetl version"),
        _field("error", pa.string(), "why a failed run failed", nullable=True),
        _field("model_version", pa.string(), "spaCy pipeline and version, as in the model_version column of every table"),
    ]
)

DQ_RESULTS: Final[pa.Schema] = pa.schema(
    [
        _field("run_id", pa.string(), "run the check belongs to"),
        _field("stage", pa.string(), "stage whose output was checked"),
        _field("table_name", pa.string(), "the frame that was checked (documents, mentions, ...)"),
        _field("expectation", pa.string(), "great_expectations expectation type"),
        _field("column_name", pa.string(), "column checked, when the expectation has one", nullable=True),
        _field("critical", pa.bool_(), "whether a failure stops the run"),
        _field("success", pa.bool_(), "whether the expectation held"),
        _field("observed", pa.string(), "observed value or unexpected count, as JSON"),
        _field("checked_at", _UTC, "when (UTC)"),
        *_versions("ran the check"),
    ]
)

SIGNATURES: Final[pa.Schema] = pa.schema(
    [
        _field("doc_id", pa.string(), "an original document (not a copy) whose body has words"),
        _field("bands", pa.list_(pa.int64()), "its LSH band keys: a later body sharing one is a near-duplicate candidate"),
        _field("minhash", pa.binary(), "MinHash signature of the body's word shingles (little-endian uint32 per permutation)"),
        _field("run_id", pa.string(), "run that loaded the document"),
        _input_sha256(),
        *_versions("loaded the document"),
    ]
)

ENTITY_KEYS: Final[pa.Schema] = pa.schema(
    [
        _field("alias_key", pa.string(), "matching key of mentions (mentions.entity_key)"),
        _field("entity_id", pa.string(), "the canonical entity the key resolves to; the same in every row of the key"),
        _field("n_mentions", pa.int64(), "mentions of the key in the chunk"),
        _field("labels", pa.map_(pa.string(), pa.int64()), "mentions of the key in the chunk, by spaCy label"),
        _field("acronym", pa.bool_(), "the key was written as an acronym in the chunk (U.N., HTS)"),
        _field("short_forms", pa.list_(pa.string()), "keys of short forms the chunk's articles resolved to this key (hts for hayat tahrir al sham)"),
        _field("blocks", pa.list_(pa.string()), "the resolver's blocks of the key (its words, surname, initials, ...); set in the key's first row only", nullable=True),
        _field("fixed_name", pa.string(), "display name the alias file gives the key's entity", nullable=True),
        _field("fixed_label", pa.string(), "label the alias file gives the key's entity", nullable=True),
        _field("run_id", pa.string(), "run whose mentions the row counts"),
        _field("chunk", pa.int32(), "0-based chunk of the run whose mentions the row counts: a run resolves its keys chunk by chunk (--chunk-size), each against the lake and the chunks before it"),
        *_versions("wrote the row"),
    ]
)

#: Every table by name; the name is also the Parquet folder and the DuckDB view.
TABLES: Final[Mapping[str, pa.Schema]] = {
    "documents": DOCUMENTS,
    "sentences": SENTENCES,
    "mentions": MENTIONS,
    "quotes": QUOTES,
    "removed_lines": REMOVED_LINES,
    "quarantine": QUARANTINE,
    "runs": RUNS,
    "dq_results": DQ_RESULTS,
    "signatures": SIGNATURES,
    "entity_keys": ENTITY_KEYS,
}

ENTITIES: Final[pa.Schema] = pa.schema(
    [
        _field("entity_id", pa.string(), "stable id of the canonical entity"),
        _field("name", pa.string(), "display name: the alias file's, else the most frequent full surface form"),
        _field("label", pa.string(), "the alias file's label, else the label voted by the entity's full-name mentions"),
        _field("n_mentions", pa.int64(), "mentions of the entity across all loaded documents"),
        _field("n_documents", pa.int64(), "documents that mention the entity"),
    ]
)

ENTITY_ALIASES: Final[pa.Schema] = pa.schema(
    [
        _field("entity_id", pa.string(), "canonical entity (entities.entity_id)"),
        _field("alias", pa.string(), "a surface form as written in mentions.text"),
        _field("alias_key", pa.string(), "matching key the surface form resolved to; one key, one entity"),
        _field("n_mentions", pa.int64(), "mentions with this surface form and key"),
        _field("n_documents", pa.int64(), "documents with such a mention"),
    ]
)

SENTENCE_ENTITIES: Final[pa.Schema] = pa.schema(
    [
        _field("doc_id", pa.string(), "document the sentence is in"),
        _field("sentence_id", pa.int32(), "sentence (sentences.sentence_id)"),
        _field("entity_id", pa.string(), "canonical entity mentioned in the sentence (entities.entity_id)"),
        _field("name", pa.string(), "the entity's display name (entities.name)"),
        _field("label", pa.string(), "the entity's label (entities.label)"),
        _field("n_mentions", pa.int64(), "mentions of the entity in the sentence"),
    ]
)

#: Views computed from the tables rather than stored (aggregates over the mentions, so that a
#: run writes only its own rows), with their documented columns.
DERIVED: Final[Mapping[str, pa.Schema]] = {
    "entities": ENTITIES,
    "entity_aliases": ENTITY_ALIASES,
    "sentence_entities": SENTENCE_ENTITIES,
}


#: What one row of each table and derived view is, for the generated reference (docs/tables.md).
ABOUT: Final[Mapping[str, str]] = {
    "documents": "One row per loaded article (per version: the view shows the latest).",
    "sentences": "One row per sentence of a loaded article's body.",
    "mentions": (
        "One row per named-entity mention in a loaded article's body. `body[start_char:end_char] == text` "
        "(0-based, end exclusive; in SQL `substr(body, start_char + 1, end_char - start_char)`). The view's "
        "`entity_id` is the entity the mention's `entity_key` resolves to now (through `entity_keys`)."
    ),
    "quotes": (
        "One row per direct quotation in a loaded article's body. The view's `speaker_entity_id` is the "
        "entity `speaker_key` resolves to now."
    ),
    "removed_lines": "One row per non-blank input line the cleaner left out of the body.",
    "quarantine": "One row per input file that was not loaded, with the reason.",
    "runs": "One row per run of the flow.",
    "dq_results": "One row per data-quality expectation evaluated in a run.",
    "signatures": (
        "One row per loaded original whose body has words, written once as it loads: the state "
        "near-duplicates are found in. A run joins its new documents' band keys against these rows "
        "and never re-reads an old body."
    ),
    "entity_keys": (
        "One row per entity key and run that mentions it: the key -> entity map later runs keep. A run "
        "resolves only its own keys (and the stored keys sharing a block with them); a key keeps its "
        "entity until `newsetl resolve` re-resolves the lake. The view shows each key's latest row."
    ),
    "entities": "View: one row per canonical entity, computed from the mentions the views show.",
    "entity_aliases": "View: one row per surface form and key of an entity, computed from the mentions.",
    "sentence_entities": (
        "View: one row per sentence and entity it mentions; the pair and co-occurrence views self-join it."
    ),
}


class SchemaMismatch(ValueError):
    """Rows or a table do not fit the schema they are written with."""


def build_table(rows: Iterable[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """Build a table from row dicts with exactly `schema`'s columns.

    Missing keys become nulls (which fails for non-nullable fields); extra keys are an error.
    An empty iterable gives an empty table that still has the schema.

    Raises:
        SchemaMismatch: a row has an unknown column, a value of the wrong type, or a null in a
            non-nullable column. The message prints the expected schema.
    """
    rows = list(rows)
    names = set(schema.names)
    for i, row in enumerate(rows):
        extra = set(row) - names
        if extra:
            raise SchemaMismatch(f"row {i} has columns not in the schema: {sorted(extra)}\nexpected:\n{schema}")
    try:
        table = pa.Table.from_pylist(rows, schema=schema)
        table.validate(full=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as error:
        raise SchemaMismatch(f"{error}\nexpected:\n{schema}") from error
    for field in schema:
        if not field.nullable and table.column(field.name).null_count:
            raise SchemaMismatch(
                f"column {field.name!r} is not nullable but has "
                f"{table.column(field.name).null_count} nulls\nexpected:\n{schema}"
            )
    return table


def check_schema(table: pa.Table, schema: pa.Schema, *, name: str) -> None:
    """Raise SchemaMismatch, printing both schemas, when `table` does not have `schema`."""
    if not table.schema.equals(schema, check_metadata=False):
        raise SchemaMismatch(f"table {name!r} does not match its schema\nfound:\n{table.schema}\nexpected:\n{schema}")


def describe(schema: pa.Schema) -> dict[str, str]:
    """Column name to its description, in schema order."""
    return {f.name: (f.metadata or {}).get(b"description", b"").decode() for f in schema}
