"""Extraction benchmark: how well newsetl keeps article text and drops the rest.

Run with `make bench-extraction` (or `.venv/bin/python -m benchmarks.extraction`). Not a test:
it prints figures, side by side, measured in one run. Three parts:

1. Seeds: the five bundled seed articles against the hand labels in
   tests/fixtures/seed_labels.json (every non-blank line not listed under "boilerplate" is
   body). Prints the share of body tokens kept and of boilerplate tokens removed.
2. HTML: the 91 pages of ../shared/benchmarks/article-extraction, scored with the benchmark's
   metric (benchmarks/metric.py) for newsetl (trafilatura, then newsetl's line cleaner) and for
   trafilatura alone (`trafilatura.extract(html, include_comments=False)`, as the public
   benchmark runs it) on the same pages.
3. Text only: the same pages rendered to whole-page text with inscriptis, then cleaned with
   newsetl's line cleaner and no HTML at all; the raw page text is scored too.
4. Wire copy: the agency-layout stories of tests/fixtures/wire (headline, byline, dateline,
   then results, tables and short paragraphs): the share of body lines, and of the named
   entities spaCy finds in them, still in the cleaned body.
5. Clean articles: the 2,225 BBC articles of ../shared/corpora/bbc have no boilerplate but a
   headline on line 1, so every other token is body: prints the share of them kept (with
   source furniture learned per folder, as a run would).

Fair comparison. The ground truth is the article body as a person wrote it down: it leaves out
the headline on all but a couple of pages (checked: the first words of the page's title start
the ground truth on 2 of 91 pages), and also the standfirst, captions and bylines. newsetl keeps
the headline in `documents.title`, not in the body, so its body is scored as it is. trafilatura
alone is scored on its own output, as in the published benchmark; because that output sometimes
begins with the headline, the script also prints trafilatura with a leading headline line
removed, so the gain of the cleaner is not just the headline.

The pages are a development set: the cleaner's rules are categories of page furniture, never a
site's literal text, and the figures are meant to hold on pages we do not have.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.metric import Scores, evaluate, tokenize

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEED_LABELS = ROOT / "tests" / "fixtures" / "seed_labels.json"
SEEDS = ROOT / "flows" / "sample_corpus"

TARGETS = {"seed_body_kept": 0.995, "seed_boilerplate_removed": 0.97, "html_f1": 0.96, "text_f1": 0.90, "wire_entities_kept": 0.99}
WIRE = ROOT / "tests" / "fixtures" / "wire"


def wire_figures() -> tuple[int, int, int, int]:
    """(body lines kept, body lines, named entities of the body lines still in the cleaned body,
    named entities of the body lines) over the wire stories, in both layouts."""
    from flows.nlp import load_pipeline
    from flows.settings import Settings
    from transforms.clean import clean_text

    nlp = load_pipeline(Settings.load().model)
    labels = {k: v for k, v in json.loads((WIRE / "labels.json").read_text(encoding="utf-8")).items() if not k.startswith("_")}
    lines_kept = n_lines = ents_kept = n_ents = 0
    for name, label in labels.items():
        text = (WIRE / name).read_text(encoding="utf-8")
        body = [line.strip() for line in text.splitlines() if line.strip() and line.strip() not in label["not_body"]]
        for layout in (text, text.replace("\n", "\n\n")):
            kept = set(clean_text(layout).body.split("\n\n"))
            n_lines += len(body)
            lines_kept += sum(line in kept for line in body)
            for line, doc in zip(body, nlp.pipe(body)):
                n_ents += len(doc.ents)
                ents_kept += len(doc.ents) if line in kept else 0
    return lines_kept, n_lines, ents_kept, n_ents



def seed_figures() -> tuple[float, float, int, int]:
    """(share of body tokens kept, share of boilerplate tokens removed, body tokens, boilerplate tokens)."""
    from transforms.clean import clean_text

    labels = json.loads(SEED_LABELS.read_text(encoding="utf-8"))
    body_total = body_kept = junk_total = junk_removed = 0
    for name, label in labels.items():
        if name.startswith("_"):
            continue
        text = (SEEDS / name).read_text(encoding="utf-8")
        boiler = {int(k) for k in label["boilerplate"]}
        removed = {r.line_no for r in clean_text(text).removed}
        for no, line in enumerate(text.split("\n"), start=1):
            n = len(tokenize(line))
            if not line.strip():
                continue
            if no in boiler:
                junk_total += n
                junk_removed += n if no in removed else 0
            else:
                body_total += n
                body_kept += n if no not in removed else 0
    return body_kept / body_total, junk_removed / junk_total, body_total, junk_total


def bbc_kept(root: Path) -> tuple[int, int, int]:
    """(body tokens kept, body tokens, documents) over the BBC corpus; line 1 is the headline."""
    from transforms.clean import clean_text
    from transforms.extract import decode_bytes, normalize_text
    from transforms.furniture import furniture_for, learn_furniture

    docs = []
    for path in sorted(root.rglob("*.txt")):
        text, _ = decode_bytes(path.read_bytes())
        docs.append((str(path), normalize_text(text)))
    learned = learn_furniture(docs)
    kept = total = 0
    for path_name, text in docs:
        lines = [line for line in text.split("\n") if line.strip()]
        body = sum(len(tokenize(line)) for line in lines[1:])
        total += body
        kept += min(body, len(tokenize(clean_text(text, furniture=furniture_for(path_name, learned)).body)))
    return kept, total, len(docs)


def _pages(pages_dir: Path) -> list[tuple[str, str, str]]:
    truth = json.loads((pages_dir / "ground-truth.json").read_text(encoding="utf-8"))
    out = []
    for key in sorted(truth):
        html = gzip.decompress((pages_dir / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8")
        out.append((key, html, truth[key].get("articleBody") or ""))
    return out


def _run(name: str, pages: list[tuple[str, str, str]], predict: Callable[[str], str]) -> tuple[Scores, float, dict[str, str]]:
    start = time.perf_counter()
    predictions = {key: predict(html) for key, html, _ in pages}
    seconds = time.perf_counter() - start
    return evaluate((truth, predictions[key]) for key, _, truth in pages), seconds, predictions


def _rs_trafilatura(python: Path, pages_dir: Path, pages: list[tuple[str, str, str]]) -> dict[str, tuple[Scores, float]]:
    """rs-trafilatura alone and followed by newsetl's line cleaner, on the same pages (it runs
    in `python`, a 3.12 interpreter: benchmarks/rs_extract.py)."""
    import subprocess
    import tempfile

    from transforms.clean import clean_text
    from transforms.html import extract_html

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rs.json"
        done = subprocess.run([str(python), str(Path(__file__).with_name("rs_extract.py")), str(pages_dir), str(out)],
                              capture_output=True, text=True, check=True)
        predicted = json.loads(out.read_text(encoding="utf-8"))
    seconds = float(done.stderr.strip().split()[-1])
    alone = evaluate((truth, predicted[key]["text"]) for key, _, truth in pages)
    cleaned = evaluate((truth, clean_text(predicted[key]["text"], page=extract_html(html)[1]).body) for key, html, truth in pages)
    return {"rs-trafilatura alone": (alone, seconds), "rs-trafilatura + line cleaner": (cleaned, seconds)}


def _drop_headline(text: str, title: str | None) -> str:
    lines = text.split("\n")
    if title and lines and " ".join(lines[0].split()).casefold() == " ".join(title.split()).casefold():
        lines = lines[1:]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=SHARED, help=f"the shared folder (default: {SHARED})")
    parser.add_argument("--dump", type=Path, help="write every prediction to this JSON file, for inspection")
    parser.add_argument("--rs-python", type=Path, help="a Python 3.12 with rs-trafilatura installed: score it too (see benchmarks/rs_extract.py)")
    args = parser.parse_args(argv)
    pages_dir = args.shared / "benchmarks" / "article-extraction"

    kept, removed, n_body, n_junk = seed_figures()
    print("seeds (5 articles, hand labels in tests/fixtures/seed_labels.json)")
    print(f"  body tokens kept          {kept:7.2%}  of {n_body}  (target >= {TARGETS['seed_body_kept']:.1%})")
    print(f"  boilerplate tokens removed {removed:6.2%}  of {n_junk}  (target >= {TARGETS['seed_boilerplate_removed']:.0%})")
    lines_kept, n_lines, ents_kept, n_ents = wire_figures()
    print(f"wire copy ({WIRE.relative_to(ROOT)}: the team's own stories, tuned on; one newline and blank-line layouts)")
    print(f"  body lines kept           {lines_kept / n_lines:7.2%}  of {n_lines}")
    print(f"  named entities kept       {ents_kept / n_ents:7.2%}  of {n_ents}  (target >= {TARGETS['wire_entities_kept']:.0%})")

    if not pages_dir.is_dir():
        print(f"\n{pages_dir} is not present: HTML and text-only parts skipped")
        return 0

    import trafilatura
    from inscriptis import get_text

    from transforms.clean import clean_text
    from transforms.html import extract_html

    pages = _pages(pages_dir)
    dump: dict[str, dict[str, str]] = {}

    def newsetl_html(html: str) -> str:
        text, meta = extract_html(html)
        return clean_text(text, page=meta).body

    def traf_alone(html: str) -> str:
        return trafilatura.extract(html, include_comments=False) or ""

    def traf_no_headline(html: str) -> str:
        return _drop_headline(traf_alone(html), trafilatura.extract_metadata(html).title if trafilatura.extract_metadata(html) else None)

    def page_text(html: str) -> str:
        return get_text(html)

    def newsetl_text(html: str) -> str:
        return clean_text(get_text(html)).body

    print(f"\nHTML: {len(pages)} pages of {pages_dir}, article-extraction metric (4-token shingles)")
    print(f"  {'extractor':<44} {'precision':>9} {'recall':>7} {'F1':>7} {'seconds':>8}")
    results = {}
    for name, predict in (
        ("newsetl (trafilatura + line cleaner)", newsetl_html),
        ("trafilatura alone", traf_alone),
        ("trafilatura alone, leading headline removed", traf_no_headline),
        ("whole-page text (inscriptis), raw", page_text),
        ("whole-page text (inscriptis) + line cleaner", newsetl_text),
    ):
        scores, seconds, predictions = _run(name, pages, predict)
        results[name] = scores
        for key, text in predictions.items():
            dump.setdefault(key, {})[name] = text
        print(f"  {name:<44} {scores.precision:9.3f} {scores.recall:7.3f} {scores.f1:7.3f} {seconds:8.1f}")
        if name == "trafilatura alone, leading headline removed":
            print("  text only:")

    html_f1 = results["newsetl (trafilatura + line cleaner)"].f1
    traf_f1 = results["trafilatura alone"].f1
    if args.rs_python:
        rs_scores = _rs_trafilatura(args.rs_python, pages_dir, pages)
        print(f"  rs-trafilatura ({args.rs_python}), HTML:")
        for name, (scores, seconds) in rs_scores.items():
            print(f"  {name:<44} {scores.precision:9.3f} {scores.recall:7.3f} {scores.f1:7.3f} {seconds:8.1f}")
    text_f1 = results["whole-page text (inscriptis) + line cleaner"].f1
    print("\ntargets")
    print(f"  seeds body kept >= 99.5%              {'met' if kept >= TARGETS['seed_body_kept'] else 'NOT met'}")
    print(f"  seeds boilerplate removed >= 97%      {'met' if removed >= TARGETS['seed_boilerplate_removed'] else 'NOT met'}")
    print(f"  HTML F1 >= 0.96 and > trafilatura     {'met' if html_f1 >= TARGETS['html_f1'] and html_f1 > traf_f1 else 'NOT met'} ({html_f1:.3f} vs {traf_f1:.3f})")
    print(f"  text-only F1 >= 0.90                  {'met' if text_f1 >= TARGETS['text_f1'] else 'NOT met'} ({text_f1:.3f})")
    bbc = args.shared / "corpora" / "bbc"
    if bbc.is_dir():
        kept_bbc, total_bbc, n_docs = bbc_kept(bbc)
        print(f"\nclean articles: {n_docs} BBC articles, body tokens kept {kept_bbc / total_bbc:.2%} of {total_bbc}")
    if args.dump:
        args.dump.write_text(json.dumps(dump, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
