"""glibc allocator tuning (`flows.runtime.warmup.tune_allocator`): each case runs in a fresh Python
process, since the settings last as long as the process that makes them. What they save (page
faults, kernel time) is measured in benchmarks/RESULTS.md, not here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.runtime.warmup import ALLOCATOR_SETTINGS

TUNE = "from flows.runtime.warmup import tune_allocator; print(tune_allocator())\n"
SHOW = "import os, sys; print(json.dumps({n: os.environ.get(n) for n in sorted(names)}))\n"

glibc_only = pytest.mark.skipif(not (hasattr(os, "confstr") and "CS_GNU_LIBC_VERSION" in os.confstr_names), reason="glibc's allocator only")


def _python(code: str, **env: str) -> list[str]:
    """Run `code` in a fresh interpreter whose environment has none of the allocator's variables
    unless `env` sets them; its output lines."""
    base = {k: v for k, v in os.environ.items() if k not in ALLOCATOR_SETTINGS}
    prelude = f"import json\nnames = {sorted(ALLOCATOR_SETTINGS)!r}\n"
    done = subprocess.run([sys.executable, "-c", prelude + code], env={**base, **env}, capture_output=True, text=True, timeout=180, check=True)
    return done.stdout.splitlines()


@glibc_only
def test_tuning_applies_every_setting_and_exports_it_to_the_processes_that_follow() -> None:
    child = f"import subprocess; subprocess.run([sys.executable, '-c', {('import json, os; names = ' + repr(sorted(ALLOCATOR_SETTINGS)) + chr(10) + SHOW)!r}], check=True)\n"
    applied, here, inherited = _python(TUNE + SHOW + child)
    expected = {name: value for name, (_, value) in ALLOCATOR_SETTINGS.items()}
    assert applied == str(expected)  # glibc accepted each (mallopt returned 1)
    assert json.loads(here) == json.loads(inherited) == {name: str(value) for name, value in expected.items()}


@glibc_only
def test_prefects_temporary_server_keeps_glibcs_defaults(tmp_path: Path) -> None:
    # Only processes that run spaCy are tuned: the server starts with the variables removed.
    code = TUNE + (
        "from flows.runtime.server import start_api\n"
        "api = start_api(); api.wait()\n"
        "environ = dict(e.split('=', 1) for e in open(f'/proc/{api.process.pid}/environ').read().split(chr(0)) if '=' in e)\n"
        "api.stop()\n"
        "print(json.dumps({n: environ.get(n) for n in sorted(names)}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    base = {k: v for k, v in env.items() if k not in ALLOCATOR_SETTINGS} | {"PREFECT_HOME": str(tmp_path / "prefect-home")}
    prelude = f"import json\nnames = {sorted(ALLOCATOR_SETTINGS)!r}\n"
    done = subprocess.run([sys.executable, "-c", prelude + code], env=base, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    applied, server = done.stdout.splitlines()[-2:]
    assert applied != "{}"
    assert json.loads(server) == {name: None for name in ALLOCATOR_SETTINGS}


@glibc_only
def test_an_allocator_setting_of_the_users_own_leaves_the_allocator_as_it_is() -> None:
    applied, environment = _python(TUNE + SHOW, MALLOC_ARENA_MAX="4")
    assert applied == "{}"
    assert json.loads(environment) == {name: "4" if name == "MALLOC_ARENA_MAX" else None for name in ALLOCATOR_SETTINGS}
