"""glibc allocator tuning (`flows.runtime.warmup.tune_allocator`): each case runs in a fresh Python
process, since the settings last as long as the process that makes them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from flows.runtime.warmup import ALLOCATOR_SETTINGS

#: Allocates and frees arrays of 0.25 to 8 MiB, as spaCy's batches do, and prints the page
#: faults that took. With glibc's defaults most blocks are mapped from the kernel on allocation
#: and given back on free, so each one faults its pages in again.
CHURN = textwrap.dedent(
    """
    import random, resource
    import numpy as np

    rng = random.Random(0)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    kept = []
    for _ in range(300):
        kept.append(np.ones(rng.randint(1 << 18, 8 << 20) // 8))
        if len(kept) > 3:
            kept.pop(rng.randrange(len(kept)))
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """
)
TUNE = "from flows.runtime.warmup import tune_allocator; print(tune_allocator())\n"

glibc_only = pytest.mark.skipif(not (hasattr(os, "confstr") and "CS_GNU_LIBC_VERSION" in os.confstr_names), reason="glibc's allocator only")


def _python(code: str, **env: str) -> list[str]:
    """Run `code` in a fresh interpreter whose environment has none of the allocator's variables
    unless `env` sets them; its output lines."""
    base = {k: v for k, v in os.environ.items() if k not in ALLOCATOR_SETTINGS}
    done = subprocess.run([sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout.splitlines()


@glibc_only
def test_tuning_cuts_the_page_faults_of_freeing_and_reallocating_arrays() -> None:
    untuned = int(_python(CHURN)[-1])
    applied, tuned = _python(TUNE + CHURN)
    assert applied == str({name: value for name, (_, value) in ALLOCATOR_SETTINGS.items()})
    assert untuned > 10_000  # the churn does fault, or this test would show nothing
    assert int(tuned) * 4 < untuned


@glibc_only
def test_processes_started_after_tuning_inherit_it_through_the_environment() -> None:
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {CHURN!r}], check=True)\n"
    untuned = int(_python(child)[-1])
    tuned = int(_python(TUNE + child)[-1])
    assert tuned * 4 < untuned


@glibc_only
def test_an_allocator_setting_of_the_users_own_leaves_the_allocator_as_it_is() -> None:
    show = "import os; print(os.environ.get('MALLOC_ARENA_MAX'), os.environ.get('MALLOC_MMAP_THRESHOLD_'))\n"
    applied, environment, faults = _python(TUNE + show + CHURN, MALLOC_ARENA_MAX="4")
    assert applied == "{}"
    assert environment == "4 None"
    assert int(faults) > 10_000
