"""Decode raw bytes into text safely and give each document a stable content id.

Pure: the flow reads the bytes; these functions only look at them.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from typing import Final

from schemas.reasons import QuarantineReason, Stage
from transforms.html import extract_html
from transforms.records import RawDoc, Rejection

#: Leading bytes of formats that are not text inputs, and what to call them in the detail.
_MAGIC: Final[tuple[tuple[bytes, str], ...]] = (
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive (or DOCX/XLSX)"),
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"\xd0\xcf\x11\xe0", "Microsoft Office document"),
    (b"{\\rtf", "RTF document"),
)

_HTML_STARTS: Final[tuple[str, ...]] = ("<!doctype html", "<html", "<?xml", "<head", "<body")
_HTML_SUFFIXES: Final[tuple[str, ...]] = (".html", ".htm", ".xhtml", ".html.gz", ".htm.gz")
GZIP_MAGIC: Final[bytes] = b"\x1f\x8b"
WARC_MAGIC: Final[bytes] = b"WARC/"

#: Share of control characters (other than tab and newline) above which decoded text is binary.
MAX_CONTROL_RATIO: Final[float] = 0.01

#: Share of NUL characters above which decoded text is binary (or UTF-16 without a BOM).
MAX_NUL_RATIO: Final[float] = 0.1
_ALLOWED_CONTROLS: Final[frozenset[str]] = frozenset("\t\n\r\f\v\x00")
#: Characters of Unicode category Cc (U+0000-U+001F, U+007F-U+009F) but _ALLOWED_CONTROLS.
_CONTROLS: Final[re.Pattern[str]] = re.compile(
    "[" + "".join(re.escape(chr(c)) for c in [*range(0x20), *range(0x7F, 0xA0)] if chr(c) not in _ALLOWED_CONTROLS) + "]"
)

DOC_ID_HEX: Final[int] = 20


def content_id(text: str) -> str:
    """Stable id of a decoded text: the first 20 hex digits of its UTF-8 SHA-256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:DOC_ID_HEX]


def control_char_ratio(text: str) -> float:
    """Share of characters that are control characters other than whitespace (tab, newline,
    carriage return, form feed) and NUL; 0 for ''."""
    if not text:
        return 0.0
    return len(_CONTROLS.findall(text)) / len(text)


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode bytes to text, trying in order: a BOM's encoding, UTF-8, UTF-8 with its invalid
    bytes replaced (when its valid non-ASCII characters are at least as many: "utf-8-repaired"),
    Windows-1252, Latin-1.

    Returns (text, encoding). Latin-1 decodes any byte string, so this never fails; whether the
    result is text is `control_char_ratio`'s call.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="replace")
    n_invalid = text.count("\ufffd") - data.count("\ufffd".encode())
    if sum(1 for ch in text if ord(ch) > 127) - text.count("\ufffd") >= n_invalid:
        return text, "utf-8-repaired"  # UTF-8 with a stray byte or two, not another encoding
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def normalize_text(text: str) -> str:
    """Normalise decoded text: NFC, newlines as \\n, NUL bytes and a stray BOM removed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").replace("\ufeff", "")
    return unicodedata.normalize("NFC", text)


def gunzip(data: bytes, *, max_bytes: int) -> bytes:
    """Decompress gzip data (all members), refusing more than `max_bytes` of output.

    Raises:
        ValueError: the data is truncated or corrupt, or inflates past `max_bytes`; the message
            says which.
    """
    out = bytearray()
    while data:
        inflater = zlib.decompressobj(wbits=31)
        try:
            out += inflater.decompress(data, max_bytes + 1 - len(out))
        except zlib.error as error:
            raise ValueError(f"corrupt gzip data ({error})") from error
        if len(out) > max_bytes:
            raise ValueError(f"decompresses to more than {max_bytes / 1048576:.1f} MB (raise it with --max-file-mb)")
        if not inflater.eof:
            raise ValueError("truncated gzip data: the stream ends before its end marker")
        data = inflater.unused_data.lstrip(b"\x00")
    return bytes(out)


def looks_like_html(source_path: str, text: str) -> bool:
    """An HTML page: it starts like one, or its name says so and it has a tag near the start."""
    head = text.lstrip()[:1024].lower()
    if head.startswith(_HTML_STARTS):
        return True
    return source_path.lower().endswith(_HTML_SUFFIXES) and "<" in head and ">" in head


def extract_document(source_path: str, data: bytes, *, max_bytes: int = 50 * 1048576, url: str | None = None) -> RawDoc | Rejection:
    """Turn one input file's bytes into a RawDoc, or a Rejection saying why not.

    Plain text is decoded as it is. gzip data is decompressed first (at most `max_bytes`).
    An HTML page goes through main-text extraction (transforms.html): the document's text is
    the headline and the main text, `page` the page's metadata, and `doc_id` the hash of the
    decoded page. `url` is the page's address when known (a WARC record's target).

    Rejections: empty or whitespace-only input (`empty`), a known non-text format
    (`unsupported_format`), a truncated or corrupt gzip file (`unreadable`), text that decodes
    to control characters (`binary`), an HTML page with no article text (`empty_body`).
    """

    input_sha256 = hashlib.sha256(data).hexdigest()

    def reject(reason: QuarantineReason, detail: str) -> Rejection:
        return Rejection(source_path, Stage.EXTRACT, reason, detail, input_sha256=input_sha256)

    if not data.strip():
        return reject(QuarantineReason.EMPTY, f"the file has {len(data)} bytes and no text")
    if data.startswith(GZIP_MAGIC):
        try:
            inner = gunzip(data, max_bytes=max_bytes)
        except ValueError as error:
            return reject(QuarantineReason.UNREADABLE, f"gzip-compressed file not read: {error}")
        if inner.startswith(GZIP_MAGIC):
            return reject(QuarantineReason.UNSUPPORTED_FORMAT, "gzip file inside a gzip file")
        inner_path = source_path[:-3] if source_path.lower().endswith(".gz") else source_path
        result = extract_document(inner_path, inner, max_bytes=max_bytes, url=url)
        if isinstance(result, Rejection):
            return Rejection(source_path, result.stage, result.reason, f"{result.detail} (inside gzip)", result.doc_id, input_sha256)
        return RawDoc(source_path=source_path, doc_id=result.doc_id, text=result.text, encoding=result.encoding,
                      n_bytes=len(data), page=result.page, input_sha256=input_sha256)
    if data.startswith(WARC_MAGIC):
        return reject(QuarantineReason.UNSUPPORTED_FORMAT, "WARC archive given as bytes; name it .warc or .warc.gz")
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return reject(QuarantineReason.UNSUPPORTED_FORMAT, f"{kind}; newsetl reads text, HTML, gzip and WARC")
    raw_text, encoding = decode_bytes(data)
    if looks_like_html(source_path, raw_text):
        page = normalize_text(raw_text)
        text, meta = extract_html(page, url=url)
        if not text.strip():
            return Rejection(source_path, Stage.EXTRACT, QuarantineReason.EMPTY_BODY,
                             "HTML page with no headline and no article text (navigation only?)", content_id(page), input_sha256)
        return RawDoc(source_path=source_path, doc_id=content_id(page), text=normalize_text(text), encoding=encoding,
                      n_bytes=len(data), page=meta, input_sha256=input_sha256)
    # NUL bytes inside otherwise readable text are dropped; mostly-NUL data is binary.
    ratio = control_char_ratio(raw_text)
    if ratio > MAX_CONTROL_RATIO:
        return reject(QuarantineReason.BINARY, f"{ratio:.1%} of the characters are control characters")
    nul_ratio = raw_text.count("\x00") / len(raw_text)
    if nul_ratio > MAX_NUL_RATIO:
        return reject(QuarantineReason.BINARY, f"{nul_ratio:.1%} of the characters are NUL bytes (binary, or UTF-16 without a byte-order mark)")
    text = normalize_text(raw_text)
    if not text.strip():
        return reject(QuarantineReason.EMPTY, "the file has only whitespace")
    return RawDoc(
        source_path=source_path, doc_id=content_id(text), text=text, encoding=encoding, n_bytes=len(data),
        input_sha256=input_sha256,
    )
