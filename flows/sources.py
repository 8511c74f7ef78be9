"""Find input files and read them: the file-system side of the extract stage."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from schemas import QuarantineReason, Stage
from transforms.extract import extract_document
from transforms.records import RawDoc, Rejection


class InputNotFound(FileNotFoundError):
    """An input path given on the command line does not exist."""


def discover(inputs: Sequence[str | Path]) -> list[str]:
    """Every regular file under `inputs` (files or folders), as the paths where they were found.

    Folders are walked recursively, following symbolic links to folders but never entering a
    folder twice (link loops); symbolic links to files are listed under their own path, and
    broken links are listed too (extract quarantines them as unreadable). Order is sorted and
    stable; a path found twice is listed once.

    Raises:
        InputNotFound: an input does not exist; the message names it.
    """
    found: list[str] = []
    for item in inputs:
        path = Path(item)
        if not path.exists() and not path.is_symlink():
            raise InputNotFound(f"input not found: {path} (give files or folders of articles)")
        if path.is_dir():
            found.extend(_walk(path))
        else:
            found.append(str(path))
    return list(dict.fromkeys(found))


def _walk(root: Path) -> Iterable[str]:
    seen: set[tuple[int, int]] = set()
    out: list[str] = []
    for folder, dirnames, filenames in os.walk(root, followlinks=True):
        stat = os.stat(folder)
        if (stat.st_dev, stat.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((stat.st_dev, stat.st_ino))
        dirnames.sort()
        for name in filenames:
            path = os.path.join(folder, name)
            if os.path.isfile(path) or os.path.islink(path):
                out.append(path)
    return sorted(out)


def read_document(path: str, *, max_bytes: int) -> RawDoc | Rejection:
    """Read and decode one input file, or say why not (too large, unreadable, not text)."""
    try:
        size = os.stat(path).st_size
    except OSError as error:
        return Rejection(path, Stage.EXTRACT, QuarantineReason.UNREADABLE, f"cannot open: {error.strerror or error}")
    if size > max_bytes:
        return Rejection(
            path,
            Stage.EXTRACT,
            QuarantineReason.TOO_LARGE,
            f"{size / 1048576:.1f} MB is over the {max_bytes / 1048576:.1f} MB limit (raise it with --max-file-mb)",
        )
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        return Rejection(path, Stage.EXTRACT, QuarantineReason.UNREADABLE, f"cannot read: {error.strerror or error}")
    return extract_document(path, data)
