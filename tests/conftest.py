"""Shared fixtures. Tests run Prefect against its ephemeral API in a private PREFECT_HOME."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Before Prefect or great_expectations are imported anywhere.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="newsetl-prefect-")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["GX_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
for var in ("NEWSETL_DATA_DIR", "NEWSETL_MODEL", "NEWSETL_BATCH_SIZE", "NEWSETL_MAX_FILE_MB"):
    os.environ.pop(var, None)

import pytest  # noqa: E402

from flows.settings import SAMPLE_CORPUS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def seeds() -> dict[str, str]:
    """The five bundled seed articles: file name -> text."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(SAMPLE_CORPUS.glob("*.txt"))}


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared beside the checkout; tests that need it skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


@pytest.fixture(scope="session", autouse=True)
def prefect_server() -> object:
    """One real Prefect API server for the session, stopped before pytest closes its streams."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def loaded(tmp_path_factory: pytest.TempPathFactory, prefect_server: object) -> Path:
    """A data dir loaded once, through the CLI, from the bundled sample corpus."""
    from flows.cli import main

    data_dir = tmp_path_factory.mktemp("warehouse")
    assert main(["run", "--data-dir", str(data_dir)]) == 0
    return data_dir
