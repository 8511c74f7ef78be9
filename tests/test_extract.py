"""Decoding, content ids, rejections and duplicate handling of the extract stage."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from flows.sources import InputNotFound, discover, read_document, read_documents
from schemas import QuarantineReason, Stage
from transforms.extract import content_id, decode_bytes, extract_document
from transforms.records import RawDoc, Rejection

ARTICLE = "Rain in Spain\n\nThe rain in Spain falls mainly on the plain, forecasters said on Tuesday.\n"


def _doc(data: bytes, path: str = "a.txt") -> RawDoc:
    result = extract_document(path, data)
    assert isinstance(result, RawDoc), result
    return result


def _rejection(data: bytes) -> Rejection:
    result = extract_document("a.txt", data)
    assert isinstance(result, Rejection), result
    assert result.stage is Stage.EXTRACT
    return result


def test_utf8_is_decoded_as_is() -> None:
    doc = _doc("Erdoğan’s visit costs £5\n".encode())
    assert (doc.text, doc.encoding) == ("Erdoğan’s visit costs £5\n", "utf-8")


def test_windows_1252_keeps_pound_sign_and_curly_quotes() -> None:
    doc = _doc("“Prices rose to £5,” he said.\n".encode("cp1252"))
    assert doc.text == "“Prices rose to £5,” he said.\n"
    assert doc.encoding == "cp1252"


def test_utf16_with_bom_is_decoded() -> None:
    doc = _doc("Café society\n".encode("utf-16"))
    assert (doc.text, doc.encoding) == ("Café society\n", "utf-16")


def test_crlf_and_nul_bytes_are_normalised() -> None:
    doc = _doc(b"Title\r\n\r\nBody text\x00 here.\r\n")
    assert doc.text == "Title\n\nBody text here.\n"


def test_doc_id_is_a_stable_hash_of_the_decoded_text() -> None:
    # the same text in two encodings is the same document
    assert _doc(ARTICLE.encode("utf-8")).doc_id == _doc(ARTICLE.encode("utf-16")).doc_id == content_id(ARTICLE)
    assert content_id(ARTICLE) == hashlib.sha256(ARTICLE.encode("utf-8")).hexdigest()[:20]
    assert content_id(ARTICLE) != content_id(ARTICLE + " ")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", QuarantineReason.EMPTY),
        (b" \n\t\n  ", QuarantineReason.EMPTY),
        (bytes(range(256)) * 8, QuarantineReason.BINARY),
        (b"\x00\x01\x02\x00" * 64, QuarantineReason.BINARY),
        ("Plain text in UTF-16 without a byte-order mark".encode("utf-16-le"), QuarantineReason.BINARY),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", QuarantineReason.UNSUPPORTED_FORMAT),
        (b"\x1f\x8b\x08\x00truncated", QuarantineReason.UNREADABLE),
        (b"PK\x03\x04\x14\x00\x00\x00", QuarantineReason.UNSUPPORTED_FORMAT),
        (b"WARC/1.0\r\nWARC-Type: warcinfo\r\n", QuarantineReason.UNSUPPORTED_FORMAT),
    ],
)
def test_unusable_inputs_are_rejected_with_a_reason(data: bytes, reason: QuarantineReason) -> None:
    assert _rejection(data).reason is reason


def test_bbc_latin1_article_keeps_its_pound_sign(shared: Path) -> None:
    path = shared / "corpora" / "bbc" / "sport" / "199.txt"
    doc = _doc(path.read_bytes(), str(path))
    assert doc.encoding in {"cp1252", "latin-1"}
    assert "£" in doc.text and "\ufffd" not in doc.text


def test_discover_walks_folders_follows_links_once_and_keeps_found_paths(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("a")
    (tmp_path / "b name ü.txt").write_text("b")
    os.symlink(tmp_path / "sub" / "a.txt", tmp_path / "link.txt")
    os.symlink(tmp_path / "sub", tmp_path / "sub-link")
    os.symlink(tmp_path, tmp_path / "sub" / "loop")
    found = discover([tmp_path])
    names = sorted(os.path.relpath(p, tmp_path) for p in found)
    assert names == ["b name ü.txt", "link.txt", "sub/a.txt"] or names == ["b name ü.txt", "link.txt", "sub-link/a.txt"]


def test_discover_names_a_missing_input(tmp_path: Path) -> None:
    with pytest.raises(InputNotFound, match="nope"):
        discover([tmp_path / "nope"])


def test_read_document_rejects_too_large_and_unreadable_files(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 2048)
    result = read_document(str(big), max_bytes=1024)
    assert isinstance(result, Rejection) and result.reason is QuarantineReason.TOO_LARGE
    assert "--max-file-mb" in result.detail
    os.symlink(tmp_path / "missing.txt", tmp_path / "broken.txt")
    result = read_document(str(tmp_path / "broken.txt"), max_bytes=1024)
    assert isinstance(result, Rejection) and result.reason is QuarantineReason.UNREADABLE


def test_a_named_pipe_given_as_input_is_quarantined_without_being_opened(tmp_path: Path) -> None:
    import threading

    pipe = tmp_path / "feed"
    os.mkfifo(pipe)
    results: list[object] = []
    reader = threading.Thread(target=lambda: results.extend(read_documents(str(pipe), max_bytes=1000)), daemon=True)
    reader.start()
    reader.join(10)  # opening a pipe with no writer blocks forever
    assert not reader.is_alive(), "read_documents opened the pipe"
    assert [(r.reason, r.detail) for r in results] == [(QuarantineReason.NOT_A_REGULAR_FILE, "a named pipe (FIFO), not a regular file: not opened")]  # type: ignore[attr-defined]


def test_utf8_with_a_stray_byte_is_repaired_not_read_as_latin1() -> None:
    text, encoding = decode_bytes("Café rents rose to £2,000.".encode() + b" \xff end")
    assert (text, encoding) == ("Café rents rose to £2,000. \ufffd end", "utf-8-repaired")
    assert decode_bytes("Caf\u00e9 \u00a32,000".encode("cp1252")) == ("Café £2,000", "cp1252")  # no valid UTF-8: another encoding
