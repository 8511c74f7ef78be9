"""The warm fork server's exit (`flows.runtime.forkwarm`): when the process that started it exits, it
ends at once, without the interpreter's teardown, while the workers forked from it and any other
process importing the module exit as usual. Each case runs in a fresh Python process."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent

needs_fork_server = pytest.mark.skipif(
    "forkserver" not in multiprocessing.get_all_start_methods(), reason="the platform has no fork server"
)

#: Preloaded by the fork server before flows.runtime.forkwarm: an exit handler registered before
#: forkwarm's, which writes its marker file only if the fork server's exit gets that far.
PROBE = textwrap.dedent(
    """
    import atexit, os

    def _mark():
        with open(os.environ["PROBE_MARKER"], "w") as out:
            out.write("the fork server ran its exit handlers to the end")

    atexit.register(_mark)
    """
)

#: Starts the fork server (preloading the probe, then flows.runtime.forkwarm with no pipeline to
#: load), runs a child that exits with status 3, prints the child's status and the fork
#: server's pid, and exits.
PARENT = textwrap.dedent(
    """
    import multiprocessing, sys
    from multiprocessing import forkserver

    def child():
        sys.exit(3)

    if __name__ == "__main__":
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["newsetl_exit_probe", "flows.runtime.forkwarm"])
        process = context.Process(target=child)
        process.start()
        process.join()
        print(process.exitcode, forkserver._forkserver._forkserver_pid, flush=True)
    """
)


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NEWSETL_FORK_SERVER_MODEL"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT), env.get("PYTHONPATH", "")])
    env["PROBE_MARKER"] = str(tmp_path / "marker")
    return env


@needs_fork_server
def test_the_fork_server_exits_at_once_when_its_parent_does_and_its_children_keep_their_status(tmp_path: Path) -> None:
    (tmp_path / "newsetl_exit_probe.py").write_text(PROBE, encoding="utf-8")
    (tmp_path / "parent.py").write_text(PARENT, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(tmp_path / "parent.py")], env=_environment(tmp_path), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    child_status, fork_server_pid = (int(word) for word in done.stdout.split())
    assert child_status == 3  # a forked child's own exit status, not the fork server's exit handler
    try:
        psutil.Process(fork_server_pid).wait(timeout=60)
    except psutil.NoSuchProcess:
        pass  # already gone
    assert not (tmp_path / "marker").exists(), "the fork server ran the exit handlers registered before flows.runtime.forkwarm's"


def test_importing_forkwarm_elsewhere_leaves_the_exit_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "newsetl_exit_probe.py").write_text(PROBE, encoding="utf-8")
    code = "import newsetl_exit_probe, flows.runtime.forkwarm, sys; sys.exit(5)"
    done = subprocess.run([sys.executable, "-c", code], env=_environment(tmp_path), capture_output=True, text=True, timeout=120)
    assert done.returncode == 5, done.stderr
    assert (tmp_path / "marker").exists()  # every exit handler ran
