"""HTML, gzip and WARC inputs: extraction, metadata and every rejection."""

from __future__ import annotations

import gzip
import io
from datetime import datetime
from pathlib import Path

import pytest

from flows.sources import read_documents
from schemas import QuarantineReason, Stage
from transforms.clean import clean_document
from transforms.extract import extract_document, gunzip
from transforms.records import CleanDoc, RawDoc, Rejection

PAGE = """<!DOCTYPE html>
<html><head>
<title>Storm closes ports on the south coast</title>
<meta property="og:site_name" content="Coastal Herald">
<meta name="author" content="Jane Doe">
<meta property="article:published_time" content="2020-02-07T17:53:00">
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li><a href="/sport">Sport</a></li></ul></nav>
<article>
<h1>Storm closes ports on the south coast</h1>
<p>A storm brought winds of up to 90 mph to the south coast on Monday, closing roads and ports from Dover to Plymouth.</p>
<p>Ferry operators cancelled all crossings until Tuesday morning, and coastguards warned people to stay away from the seafront.</p>
<p>Sign up to our daily email</p>
<p>The Met Office said the worst of the weather would pass by midnight, but more rain was expected later in the week.</p>
</article>
<footer><p>Copyright 2020 Coastal Herald. All rights reserved.</p></footer>
</body></html>
"""

BODY = (
    "A storm brought winds of up to 90 mph to the south coast on Monday, closing roads and ports from Dover to Plymouth.\n\n"
    "Ferry operators cancelled all crossings until Tuesday morning, and coastguards warned people to stay away from the seafront.\n\n"
    "The Met Office said the worst of the weather would pass by midnight, but more rain was expected later in the week."
)


def _clean(doc: RawDoc | Rejection) -> CleanDoc:
    assert isinstance(doc, RawDoc), doc
    result = clean_document(doc)
    assert isinstance(result, CleanDoc), result
    return result


def test_html_page_gives_the_article_body_and_the_page_metadata() -> None:
    doc = extract_document("storm.html", PAGE.encode())
    cleaned = _clean(doc).cleaned
    assert cleaned.body == BODY
    assert cleaned.title == "Storm closes ports on the south coast"
    assert cleaned.author == "Jane Doe"
    assert cleaned.source_name == "Coastal Herald"
    assert cleaned.published_at == datetime(2020, 2, 7, 17, 53)
    assert [r.reason.value for r in cleaned.removed if r.text == "Sign up to our daily email"] == ["newsletter_prompt"]


def test_gzip_html_is_the_same_document_as_the_page() -> None:
    plain = extract_document("storm.html", PAGE.encode())
    packed = extract_document("storm.html.gz", gzip.compress(PAGE.encode()))
    assert isinstance(plain, RawDoc) and isinstance(packed, RawDoc)
    assert (packed.doc_id, packed.text) == (plain.doc_id, plain.text)
    assert packed.n_bytes < plain.n_bytes


def test_gzip_text_article_is_decoded() -> None:
    doc = extract_document("a.txt.gz", gzip.compress("Rain in Spain\n\nThe rain falls mainly on the plain.\n".encode("cp1252")))
    assert isinstance(doc, RawDoc) and doc.text.startswith("Rain in Spain") and doc.page is None


def test_truncated_gzip_is_quarantined_as_unreadable_with_the_reason() -> None:
    data = gzip.compress(PAGE.encode())[:-40]
    result = extract_document("storm.html.gz", data)
    assert isinstance(result, Rejection)
    assert (result.stage, result.reason) == (Stage.EXTRACT, QuarantineReason.UNREADABLE)
    assert "truncated" in result.detail


def test_corrupt_gzip_and_gzip_bombs_are_refused() -> None:
    with pytest.raises(ValueError, match="corrupt"):
        gunzip(b"\x1f\x8b\x08\x00" + b"\xff" * 40, max_bytes=1000)
    with pytest.raises(ValueError, match="more than"):
        gunzip(gzip.compress(b"a" * 10_000), max_bytes=1000)
    assert gunzip(gzip.compress(b"one") + gzip.compress(b"two"), max_bytes=1000) == b"onetwo"


def test_navigation_only_html_is_quarantined_as_empty_body() -> None:
    doc = extract_document("nav.html", b"<!DOCTYPE html><html><body><nav>Home</nav></body></html>")
    assert isinstance(doc, RawDoc)
    result = clean_document(doc)
    assert isinstance(result, Rejection) and result.reason is QuarantineReason.EMPTY_BODY


def test_html_with_no_text_at_all_is_quarantined_as_empty_body() -> None:
    result = extract_document("blank.html", b"<html><head></head><body><div></div></body></html>")
    assert isinstance(result, Rejection)
    assert (result.stage, result.reason) == (Stage.EXTRACT, QuarantineReason.EMPTY_BODY)


def test_a_gzip_inside_a_gzip_is_unsupported() -> None:
    result = extract_document("x.gz", gzip.compress(gzip.compress(b"text")))
    assert isinstance(result, Rejection) and result.reason is QuarantineReason.UNSUPPORTED_FORMAT


def _warc(tmp_path: Path, name: str, *, compress: bool) -> Path:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    path = tmp_path / name
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=compress)
        for url, body, ctype in [
            ("https://example.com/storm", PAGE.encode(), "text/html; charset=utf-8"),
            ("https://example.com/logo.png", b"\x89PNG\r\n\x1a\n....", "image/png"),
            ("https://example.com/nav", b"<html><body><nav>Home</nav></body></html>", "text/html"),
        ]:
            headers = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers))
    return path


@pytest.mark.parametrize(("name", "compress"), [("crawl.warc", False), ("crawl.warc.gz", True)])
def test_warc_gives_one_document_per_html_response_with_its_url(tmp_path: Path, name: str, compress: bool) -> None:
    results = read_documents(str(_warc(tmp_path, name, compress=compress)), max_bytes=1 << 20)
    assert [r.source_path for r in results] == ["https://example.com/storm", "https://example.com/nav"]
    cleaned = _clean(results[0]).cleaned
    assert cleaned.body == BODY and cleaned.source_url == "https://example.com/storm"
    nav = results[1]
    assert isinstance(nav, RawDoc) and isinstance(clean_document(nav), Rejection)


def test_truncated_warc_keeps_what_was_read_and_says_why_it_stopped(tmp_path: Path) -> None:
    path = _warc(tmp_path, "crawl.warc.gz", compress=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 60])
    results = read_documents(str(path), max_bytes=1 << 20)
    assert isinstance(results[0], RawDoc)
    assert isinstance(results[-1], Rejection) and results[-1].reason is QuarantineReason.UNREADABLE


def test_warc_record_over_the_size_limit_is_too_large(tmp_path: Path) -> None:
    results = read_documents(str(_warc(tmp_path, "crawl.warc", compress=False)), max_bytes=200)
    assert isinstance(results[0], Rejection) and results[0].reason is QuarantineReason.TOO_LARGE


def _pages(tmp_path: Path, name: str, *, compress: bool, sizes: tuple[int, ...] = (0, 0, 0)) -> tuple[Path, list[int]]:
    """A WARC of one HTML response per size (that many more bytes of padding in its page), and
    where each record starts in the file."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    path, starts = tmp_path / name, []
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=compress)
        for i, padding in enumerate(sizes):
            starts.append(handle.tell())
            page = PAGE.replace("Storm", f"Storm {i}").encode() + b" " * padding
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(f"https://example.com/{i}", "response", payload=io.BytesIO(page), http_headers=headers))
    return path, starts


def _outcome(results: list[RawDoc | Rejection]) -> list[tuple[str, str]]:
    return [(r.source_path, r.reason.value if isinstance(r, Rejection) else "loaded") for r in results]


@pytest.mark.parametrize("compress", [False, True])
def test_a_warc_cut_short_loads_whole_records_only_and_names_the_cut_one(tmp_path: Path, compress: bool) -> None:
    path, starts = _pages(tmp_path, "cut.warc" + ".gz" * compress, compress=compress)
    data = path.read_bytes()
    path.write_bytes(data[: starts[2] + (len(data) - starts[2]) // 2])
    results = read_documents(str(path), max_bytes=1 << 20)
    assert [o for _, o in _outcome(results)] == ["loaded", "loaded", "unreadable"]
    assert "record 3" in results[2].detail and "truncated" in results[2].detail  # type: ignore[union-attr]


@pytest.mark.parametrize("compress", [False, True])
def test_a_damaged_record_in_the_middle_is_quarantined_with_its_number_and_the_next_loads(tmp_path: Path, compress: bool) -> None:
    path, starts = _pages(tmp_path, "middle.warc" + ".gz" * compress, compress=compress)
    data = bytearray(path.read_bytes())
    at = starts[1] + (20 if compress else 0)  # inside the second record's compressed data, or its version line
    data[at : at + 8] = b"GARBAGE!"
    path.write_bytes(bytes(data))
    results = read_documents(str(path), max_bytes=1 << 20)
    assert _outcome(results) == [
        ("https://example.com/0", "loaded"), (f"{path}#record-2", "unreadable"), ("https://example.com/2", "loaded")
    ]
    assert "WARC record 2" in results[1].detail  # type: ignore[union-attr]


def test_a_huge_compressed_record_is_too_large_without_holding_it_in_memory(tmp_path: Path) -> None:
    import tracemalloc

    path, _ = _pages(tmp_path, "bomb.warc.gz", compress=True, sizes=(0, 200 << 20, 0))
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        results = read_documents(str(path), max_bytes=1 << 20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert _outcome(results) == [
        ("https://example.com/0", "loaded"), ("https://example.com/1", "too_large"), ("https://example.com/2", "loaded")
    ]
    assert peak < 20 << 20, f"{peak / 1048576:.0f} MB held to read a 200 MB record over a 1 MB limit"


def test_warc_with_no_html_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.warc"
    path.write_bytes(b"")
    results = read_documents(str(path), max_bytes=1 << 20)
    assert [r.reason for r in results if isinstance(r, Rejection)] == [QuarantineReason.EMPTY]


def test_benchmark_page_goes_through_html_extraction(shared: Path) -> None:
    page = next(iter(sorted((shared / "benchmarks" / "article-extraction" / "html").glob("*.html.gz"))))
    results = read_documents(str(page), max_bytes=50 << 20)
    assert len(results) == 1
    cleaned = _clean(results[0]).cleaned
    assert cleaned.title and len(cleaned.body) > 500
