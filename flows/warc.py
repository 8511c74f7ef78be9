"""WARC archives read record by record, each either whole or with the reason it is not.

An archive is a sequence of records, each a block of `WARC/1.x` header lines with its
`Content-Length`, then that many bytes; a `.warc.gz` compresses each record as a gzip member of
its own. Crawls produce archives cut short, damaged in the middle or holding one enormous record,
so the reader here frames the records itself instead of trusting a parser that stops quietly or
returns a record cut short: a record is `whole` only when all its bytes were there, a damaged
one is reported with its number and reading goes on at the next record it can find, and no
record costs more memory than `keep` bytes however large it is (the rest is read and dropped).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from typing import BinaryIO

#: The most header bytes a record may have (WARC headers; HTTP headers are part of the block).
HEADER_LIMIT = 64 * 1024
_CHUNK = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b\x08"


@dataclass(frozen=True, slots=True)
class Record:
    """One record: its `number` in the archive (from 1), WARC `headers` (names lowercased),
    the first `keep` bytes of its `block` and the block's whole `size`; `problem` says why
    the record is not whole (None when it is)."""

    number: int
    headers: dict[str, str]
    block: bytes
    size: int
    problem: str | None = None


def records(handle: BinaryIO, *, compressed: bool, keep: int) -> Iterator[Record]:
    """The records of the archive open in `handle` (binary), in order."""
    if not compressed:
        yield from _framed(handle, keep=keep, first=1)
        return
    number = 0
    for member, size, problem in _members(handle, keep=keep + HEADER_LIMIT):
        if problem is not None:
            number += 1
            yield Record(number, {}, b"", 0, problem)
            continue
        if size > len(member):  # over the limit: its headers, and its size (more than `keep`)
            headers, _ = _headers(BytesIO(member))
            if isinstance(headers, dict):
                number += 1
                yield Record(number, headers, b"", size)
                continue
        for record in _framed(BytesIO(member), keep=keep, first=number + 1):
            number = record.number
            yield record


def _framed(handle: BinaryIO, *, keep: int, first: int) -> Iterator[Record]:
    number = first - 1
    while True:
        headers, problem = _headers(handle)
        if headers is None and problem is None:
            return  # the end, between records
        number += 1
        if not isinstance(headers, dict):
            yield Record(number, {}, b"", 0, problem)
            if not _resync(handle):
                return
            continue
        try:
            length = int(headers.get("content-length", ""))
        except ValueError:
            yield Record(number, headers, b"", 0, f"malformed: Content-Length {headers.get('content-length')!r}")
            if not _resync(handle):
                return
            continue
        block, size = _block(handle, length, keep=keep)
        short = f"truncated: {size:,} of its {length:,} bytes are there" if size < length else None
        yield Record(number, headers, block, size, short)
        if short:
            return


def _headers(handle: BinaryIO) -> tuple[dict[str, str] | None, str | None]:
    """The next record's WARC headers; (None, None) at the end of the archive; (None, why)
    when they are not WARC headers or are cut short."""
    line = handle.readline(HEADER_LIMIT)
    while line in (b"\r\n", b"\n"):  # the blank lines that end the previous record
        line = handle.readline(HEADER_LIMIT)
    if not line:
        return None, None
    if not line.startswith(b"WARC/"):
        return None, f"malformed: starts with {line[:40]!r}, not a WARC version line"
    headers: dict[str, str] = {}
    read = len(line)
    while True:
        line = handle.readline(HEADER_LIMIT)
        read += len(line)
        if not line:
            return None, "truncated: its headers are cut short"
        if line in (b"\r\n", b"\n"):
            return headers, None
        if read > HEADER_LIMIT:
            return None, f"malformed: over {HEADER_LIMIT // 1024} KB of headers"
        name, _, value = line.decode("utf-8", errors="replace").partition(":")
        headers[name.strip().lower()] = value.strip()


def _block(handle: BinaryIO, length: int, *, keep: int) -> tuple[bytes, int]:
    """The first `keep` bytes of a block of `length` bytes and how many of them there were."""
    kept = handle.read(min(length, keep))
    size = len(kept)
    while size < length:
        chunk = handle.read(min(_CHUNK, length - size))
        if not chunk:
            break
        size += len(chunk)
    return kept, size


def _resync(handle: BinaryIO) -> bool:
    """Move `handle` to the start of the next line that begins a record; False at the end."""
    while line := handle.readline(HEADER_LIMIT):
        if line.startswith(b"WARC/1."):
            handle.seek(-len(line), 1)
            return True
    return False


def _members(handle: BinaryIO, *, keep: int) -> Iterator[tuple[bytes, int, str | None]]:
    """Each gzip member of the file: its first `keep` inflated bytes, its inflated size, and a
    problem when it is cut short or corrupt. After a corrupt one, reading goes on at the next
    gzip header found in the file."""
    pending = b""
    while True:
        inflater = zlib.decompressobj(wbits=31)
        kept, size, started = bytearray(), 0, False
        while True:
            if not pending:
                pending = handle.read(_CHUNK)
                if not pending:
                    out = inflater.decompress(b"", _CHUNK) if started else b""
                    while out:  # what the inflater still holds
                        kept += out[: max(keep - len(kept), 0)]
                        size += len(out)
                        out = inflater.decompress(b"", _CHUNK)
                    if started and not inflater.eof:
                        yield bytes(kept), size, "truncated: the archive ends inside this record"
                    elif started:
                        yield bytes(kept), size, None
                    return
            try:
                out = inflater.decompress(pending, _CHUNK)
            except zlib.error as error:
                yield b"", 0, f"corrupt compressed data ({error}); reading goes on at the next record found"
                pending = _next_member(handle, pending[1:])
                break
            started = True
            kept += out[: max(keep - len(kept), 0)]
            size += len(out)
            if inflater.eof:
                yield bytes(kept), size, None
                pending = inflater.unused_data
                break
            pending = inflater.unconsumed_tail


def _next_member(handle: BinaryIO, data: bytes) -> bytes:
    """`data` and what follows in `handle`, from the next gzip header on (b"" at the end)."""
    while True:
        found = data.find(_GZIP_MAGIC)
        if found >= 0:
            return data[found:]
        more = handle.read(_CHUNK)
        if not more:
            return b""
        data = data[-(len(_GZIP_MAGIC) - 1):] + more
