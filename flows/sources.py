"""Find input files and read them: the file-system side of the extract stage."""

from __future__ import annotations

import io
import os
import stat
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from flows.warc import Record, records
from schemas import QuarantineReason, Stage
from transforms.extract import GZIP_MAGIC, WARC_MAGIC, extract_document
from transforms.records import RawDoc, Rejection


class InputNotFound(FileNotFoundError):
    """An input path given on the command line does not exist."""


def discover(inputs: Sequence[str | Path]) -> list[str]:
    """Every regular file under `inputs` (files or folders), as the paths where they were found.

    Folders are walked recursively, following symbolic links to folders but never entering a
    folder twice (link loops); symbolic links to files are listed under their own path, and
    broken links, named pipes, sockets, devices and folders that cannot be listed are listed too
    (extract quarantines them, without opening them). Order is sorted and
    stable; a path found twice is listed once.

    Raises:
        InputNotFound: an input does not exist; the message names it.
    """
    check_inputs(inputs)
    found: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found.extend(_walk(path))
        else:
            found.append(str(path))
    return list(dict.fromkeys(found))


def check_inputs(inputs: Sequence[str | Path]) -> None:
    """Raise InputNotFound naming the first input that does not exist (a broken link exists)."""
    for item in inputs:
        path = Path(item)
        if not path.exists() and not path.is_symlink():
            raise InputNotFound(f"input not found: {path} (give files or folders of articles)")


def count_files(inputs: Sequence[str | Path], *, stop_at: int) -> int:
    """How many files `inputs` hold, counting no further than `stop_at` (a cheap look ahead of
    `discover`, which sorts the whole tree)."""
    count = 0
    for item in inputs:
        path = Path(item)
        if not path.is_dir():
            count += 1
        else:
            unlisted: list[OSError] = []  # a folder that cannot be listed is an input extract quarantines
            for _folder, _dirnames, filenames in os.walk(path, followlinks=True, onerror=unlisted.append):
                count += len(filenames)
                if count + len(unlisted) >= stop_at:
                    break
            count += len(unlisted)
        if count >= stop_at:
            return stop_at
    return count


def _walk(root: Path) -> Iterable[str]:
    seen: set[tuple[int, int]] = set()
    out: list[str] = []

    def unlisted(error: OSError) -> None:  # a folder that cannot be listed: extract says why
        out.append(str(error.filename))

    for folder, dirnames, filenames in os.walk(root, followlinks=True, onerror=unlisted):
        stat = os.stat(folder)
        if (stat.st_dev, stat.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((stat.st_dev, stat.st_ino))
        dirnames.sort()
        out.extend(os.path.join(folder, name) for name in filenames)  # pipes and devices too: extract says why not
    return sorted(out)


def read_document(path: str, *, max_bytes: int) -> RawDoc | Rejection:
    """Read and decode one input file (text, HTML, gzip), or say why not (too large, unreadable,
    not text). WARC archives hold many documents: see `read_documents`."""
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
    return extract_document(path, data, max_bytes=max_bytes)


_WARC_SUFFIXES = (".warc", ".warc.gz")
_KINDS = {stat.S_IFIFO: "a named pipe (FIFO)", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFDIR: "a folder"}


def _is_warc(path: str) -> bool:
    if path.lower().endswith(_WARC_SUFFIXES):
        return True
    try:
        with open(path, "rb") as handle:
            head = handle.read(64 * 1024)
    except OSError:
        return False
    if head.startswith(GZIP_MAGIC):
        try:  # only the first few KB: enough to see the WARC header of the first record
            head = zlib.decompressobj(wbits=31).decompress(head, 16)
        except zlib.error:
            return False
    return head.startswith(WARC_MAGIC)


def source_name(path: str) -> str:
    """The path as the tables keep it: as found, or, when the file system's name is not valid
    UTF-8, with its undecodable bytes written as escapes (caf\\xe9.txt), so nothing is lost."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", errors="backslashreplace")


def read_documents(path: str, *, max_bytes: int) -> list[RawDoc | Rejection]:
    """Read one input file into its documents: one for a text, HTML or gzip file, one per HTML
    response record for a WARC archive (`.warc`, `.warc.gz`), each with the record's target URL
    as its source. In a WARC the size limit applies to each record, not to the archive. Only a
    regular file is opened: a named pipe would block the run, a device never end."""
    name = source_name(path)
    if name != path:
        return [replace(r, source_path=name) if r.source_path == path else r for r in _read_documents(path, max_bytes=max_bytes)]
    return _read_documents(path, max_bytes=max_bytes)


def _read_documents(path: str, *, max_bytes: int) -> list[RawDoc | Rejection]:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = stat.S_IFREG  # read_document says why it cannot be read
    if stat.S_ISDIR(mode):
        try:
            os.listdir(path)
        except OSError as error:
            return [Rejection(path, Stage.EXTRACT, QuarantineReason.UNREADABLE,
                              f"a folder that cannot be listed ({error.strerror or error}): none of its files was read")]
    if not stat.S_ISREG(mode):
        kind = _KINDS.get(stat.S_IFMT(mode), "not a file")
        return [Rejection(path, Stage.EXTRACT, QuarantineReason.NOT_A_REGULAR_FILE, f"{kind}, not a regular file: not opened")]
    if not _is_warc(path):
        return [read_document(path, max_bytes=max_bytes)]
    out: list[RawDoc | Rejection] = []
    try:
        with open(path, "rb") as handle:
            compressed = handle.peek(len(GZIP_MAGIC))[: len(GZIP_MAGIC)] == GZIP_MAGIC
            for record in records(handle, compressed=compressed, keep=max_bytes):
                out.extend(_warc_document(path, record, max_bytes=max_bytes))
    except OSError as error:
        out.append(Rejection(path, Stage.EXTRACT, QuarantineReason.UNREADABLE, f"cannot read: {error.strerror or error}"))
    if not out:
        out.append(Rejection(path, Stage.EXTRACT, QuarantineReason.EMPTY, "WARC archive with no HTML response record"))
    return out


def _warc_document(path: str, record: Record, *, max_bytes: int) -> list[RawDoc | Rejection]:
    """The document of one WARC record: an HTML response loads, a damaged or too large record
    is quarantined with its number, any other record (request, metadata, image) is skipped."""
    url = record.headers.get("warc-target-uri") or f"{path}#record-{record.number}"
    where = f"WARC record {record.number} of {path}"
    if record.problem is not None:
        return [Rejection(url, Stage.EXTRACT, QuarantineReason.UNREADABLE, f"{where} is {record.problem}")]
    if record.headers.get("warc-type") != "response":
        return []
    if record.size > max_bytes:
        return [Rejection(url, Stage.EXTRACT, QuarantineReason.TOO_LARGE,
                          f"{where}: {record.size / 1048576:.1f} MB is over the {max_bytes / 1048576:.1f} MB limit (raise it with --max-file-mb)")]
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    head = "".join(f"{name}: {value}\r\n" for name, value in record.headers.items())
    raw = f"WARC/1.0\r\n{head}\r\n".encode() + record.block + b"\r\n\r\n"
    try:
        parsed = next(iter(ArchiveIterator(io.BytesIO(raw))))
        if parsed.http_headers is None:
            return []
        if "html" not in (parsed.http_headers.get_header("Content-Type") or "").lower():
            return []
        payload = parsed.content_stream().read()
    except (ArchiveLoadFailed, StopIteration, ValueError, EOFError) as error:
        return [Rejection(url, Stage.EXTRACT, QuarantineReason.UNREADABLE, f"{where} is malformed: {error}")]
    if not payload.strip():
        return [Rejection(url, Stage.EXTRACT, QuarantineReason.UNREADABLE, f"{where} has an empty body")]
    return [extract_document(url, payload, max_bytes=max_bytes, url=url)]
