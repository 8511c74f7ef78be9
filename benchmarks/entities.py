"""Entity resolution benchmark: time and peak memory at 1x and 4x the BBC corpus, and the
resolution and quote-attribution scores on the seed articles against the hand-written gold.

    .venv/bin/python -m benchmarks.entities [--corpus ../shared/corpora/bbc] [--scales 1 4]

What is measured, exactly:

1. spaCy runs once over the corpus (extract, clean, annotate as the flow does, in-document
   resolution included), in this process; its time and the process's peak RSS are printed.
2. For each scale k, a fresh subprocess loads those mentions and makes k copies with distinct
   doc ids and distinct names: copy c > 0 appends a letter to every word of every mention text
   and key ("Vladimir Putin" -> "Vladimirx Putinx"), so 4x has four times the mentions AND four
   times the distinct names to resolve. It then runs exactly what the load stage runs for
   entities when the whole corpus is one run into an empty lake: key_stats and resolve_run
   (with the default alias file); names and counts are DuckDB views, not this step. Printed: wall time of that step, the tracemalloc
   peak of that step, and the subprocess's peak RSS (which includes the Python start and the
   mention list itself).
3. The seed scores: the five seed articles through the same functions, scored against
   tests/fixtures/entity_gold.json and quote_gold.json.

Not part of `make test` (`make bench-entities` runs it). Timings on a shared machine are noisy;
the ratio 4x/1x is measured side by side in one run.
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def _annotate(paths: list[Path]) -> list[Any]:
    from flows.nlp import load_pipeline
    from flows.settings import DEFAULT_MODEL
    from flows.sources import read_document
    from transforms.annotate import annotate_documents
    from transforms.clean import clean_document
    from transforms.records import CleanDoc, RawDoc

    cleaned = []
    for path in paths:
        raw = read_document(str(path), max_bytes=50 * 1024 * 1024)
        doc = clean_document(raw) if isinstance(raw, RawDoc) else raw
        if isinstance(doc, CleanDoc):
            cleaned.append(doc)
    return list(annotate_documents(load_pipeline(DEFAULT_MODEL), cleaned, batch_size=64))


def _mention_tuples(annotated: list[Any]) -> list[tuple[str, str, str, str]]:
    return [(a.doc.doc_id, m.text, m.label, m.entity_key) for a in annotated for m in a.mentions]


def _resolve(mentions: list[dict[str, Any]]) -> dict[str, str]:
    from flows.aliases import DEFAULT_ALIASES, read_alias_file
    from transforms.resolve import key_stats, resolve_run

    stats = key_stats((m["entity_key"], m["label"], m["text"]) for m in mentions)
    return resolve_run(stats, {}, rules=read_alias_file(DEFAULT_ALIASES))


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM; ru_maxrss would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _suffix(text: str, letter: str) -> str:
    return " ".join(word + letter for word in text.split(" "))


def run_scale(mentions_file: Path, scale: int) -> dict[str, Any]:
    """Step 2 for one scale (runs in its own process)."""
    base = pickle.loads(mentions_file.read_bytes())
    letters = "xyzwvutsrq"
    mentions = [
        {
            "doc_id": f"{doc_id}#{copy}",
            "text": text if copy == 0 else _suffix(text, letters[copy - 1]),
            "label": label,
            "entity_key": key if copy == 0 else _suffix(key, letters[copy - 1]),
        }
        for copy in range(scale)
        for doc_id, text, label, key in base
    ]
    start = time.perf_counter()
    entity_of = _resolve(mentions)
    seconds = time.perf_counter() - start
    del entity_of
    tracemalloc.start()  # a second pass for memory: tracing slows Python code down
    entity_of = _resolve(mentions)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "scale": scale,
        "mentions": len(mentions),
        "keys": len(entity_of),
        "entities": len(set(entity_of.values())),
        "seconds": round(seconds, 2),
        "traced_peak_mb": round(peak / 2**20, 1),
        "peak_rss_mb": _peak_rss_mb(),
    }


def seed_scores() -> dict[str, Any]:
    """Step 3: pairwise and B-cubed scores of the seed clusters, and quote attribution."""
    from flows.settings import SAMPLE_CORPUS
    from transforms.scoring import bcubed_scores, pairwise_scores

    annotated = _annotate(sorted(SAMPLE_CORPUS.glob("*.txt")))
    rows = [{"doc_id": d, "text": t, "label": lab, "entity_key": k} for d, t, lab, k in _mention_tuples(annotated)]
    entity_of = _resolve(rows)
    gold_clusters = json.loads((FIXTURES / "entity_gold.json").read_text(encoding="utf-8"))["clusters"]
    gold_of = {text: name for name, texts in gold_clusters.items() for text in texts}
    gold = [gold_of.get(r["text"], r["text"]) for r in rows]
    predicted = [entity_of[r["entity_key"]] for r in rows]
    named = [(g, p) for g, p in zip(gold, predicted) if g in gold_clusters]
    out: dict[str, Any] = {"mentions": len(rows)}
    for name, scores in (
        ("pairwise", pairwise_scores(gold, predicted)),
        ("bcubed", bcubed_scores(gold, predicted)),
        ("pairwise_gold_clusters_only", pairwise_scores([g for g, _ in named], [p for _, p in named])),
    ):
        out[name] = {"precision": round(scores.precision, 4), "recall": round(scores.recall, 4), "f1": round(scores.f1, 4)}

    votes: dict[str, Counter[str]] = {}
    for g, p in zip(gold, predicted):
        votes.setdefault(p, Counter())[g] += 1
    gold_name = {eid: c.most_common(1)[0][0] for eid, c in votes.items()}
    quote_gold = json.loads((FIXTURES / "quote_gold.json").read_text(encoding="utf-8"))
    total = right = claimed = claimed_right = n_quotes = 0
    for a in annotated:
        body = a.doc.cleaned.body
        expected = quote_gold.get(Path(a.doc.source_path).name, [])
        for q in a.quotes:
            n_quotes += 1
            text = body[q.start_char : q.end_char]
            speaker = gold_name[entity_of[a.mentions[q.speaker_mention].entity_key]] if q.speaker_mention is not None else None
            gold_speaker = next((s for first, s in expected if text.startswith(first)), "<not in gold>")
            if gold_speaker is not None:
                total += 1
                right += speaker == gold_speaker
            if speaker is not None:
                claimed += 1
                claimed_right += speaker == gold_speaker
    out["quotes"] = {
        "found": n_quotes,
        "gold": sum(len(v) for k, v in quote_gold.items() if not k.startswith("_")),
        "gold_attributed": total,
        "gold_attributed_right": right,
        "attributed_by_us": claimed,
        "attributed_by_us_right": claimed_right,
    }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = next((p for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared") if p.is_dir()), ROOT.parent / "shared")
    parser.add_argument("--corpus", type=Path, default=default / "corpora" / "bbc", help="default: ../shared/corpora/bbc")
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--mentions-cache", type=Path, help="pickle of the corpus mentions: read when it exists, else written (skips spaCy next time)")
    parser.add_argument("--scale-worker", nargs=2, metavar=("MENTIONS_FILE", "SCALE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scale_worker:
        sys.stdout.write(json.dumps(run_scale(Path(args.scale_worker[0]), int(args.scale_worker[1]))) + "\n")
        return 0

    sys.stdout.write("seed scores: " + json.dumps(seed_scores(), indent=2) + "\n")
    if not args.corpus.is_dir():
        sys.stdout.write(f"corpus {args.corpus} not found: scale measurements skipped\n")
        return 0
    if args.mentions_cache and args.mentions_cache.is_file():
        mentions = pickle.loads(args.mentions_cache.read_bytes())
        sys.stdout.write(f"mentions read from {args.mentions_cache}: {len(mentions)} (spaCy not run)\n")
    else:
        paths = sorted(p for p in args.corpus.rglob("*.txt") if p.name != "README.TXT")
        start = time.perf_counter()
        mentions = _mention_tuples(_annotate(paths))
        spacy_seconds = time.perf_counter() - start
        sys.stdout.write(
            f"corpus {args.corpus}: {len(paths)} files, {len(mentions)} mentions; extract+clean+annotate (spaCy) "
            f"{spacy_seconds:.1f} s, peak RSS of this process {_peak_rss_mb():.0f} MB\n"
        )
        if args.mentions_cache:
            args.mentions_cache.write_bytes(pickle.dumps(mentions))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        mentions_file = Path(tmp) / "mentions.pickle"
        mentions_file.write_bytes(pickle.dumps(mentions))
        for scale in args.scales:
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.entities", "--scale-worker", str(mentions_file), str(scale)],
                cwd=ROOT, check=True, capture_output=True, text=True,
            ).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
    sys.stdout.write(f"{'scale':>5} {'mentions':>9} {'keys':>8} {'entities':>8} {'resolve s':>9} {'traced peak MB':>14} {'peak RSS MB':>11}\n")
    for r in results:
        sys.stdout.write(
            f"{r['scale']:>5} {r['mentions']:>9} {r['keys']:>8} {r['entities']:>8} {r['seconds']:>9} {r['traced_peak_mb']:>14} {r['peak_rss_mb']:>11}\n"
        )
    if len(results) >= 2:
        first, last = results[0], results[-1]
        sys.stdout.write(
            f"ratio {last['scale']}x/{first['scale']}x: time {last['seconds'] / first['seconds']:.2f}, "
            f"traced peak {last['traced_peak_mb'] / first['traced_peak_mb']:.2f}\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
