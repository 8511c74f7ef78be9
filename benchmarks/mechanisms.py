"""Each runtime mechanism (`flows.runtime.MECHANISMS`) with and without, side by side in one run.

A round runs `newsetl run` once with every mechanism on and once with each switched off
(NEWSETL_RUNTIME_OFF), in an order that rotates from round to round, each into a fresh data dir;
`--repeat` rounds. Three settings, since a mechanism matters where a run spends its time:

- `sample`: the bundled sample (5 articles, the flow's own process): start-up and exit, what an
  hourly run of a few new articles pays;
- `pool`: `--docs` BBC articles in a process pool of two workers;
- `dask`: the same on a local Dask cluster of two workers.

Per mechanism it prints the ratio of the run's wall time (and peak memory) without it over the
run with all on in the same round: the median and the spread of the rounds. Above 1 the
mechanism saves time. Figures go to `benchmarks/RESULTS.md`.

With `--fresh-home` each run has a new PREFECT_HOME, as a first run on a machine, a run in a
fresh container, or a test does (Prefect then builds its database from scratch).

Usage: `make bench-mechanisms` (or `python -m benchmarks.mechanisms [--docs N] [--repeat N]
[--settings sample,pool,dask] [--mechanisms a,b] [--fresh-home]`). Needs ../shared/corpora/bbc
for `pool` and `dask`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from pathlib import Path

from benchmarks.throughput import BBC, newsetl_run
from flows.runtime import OFF_VARIABLE

SAMPLE = Path(__file__).resolve().parent.parent / "flows" / "sample_corpus"

#: The mechanisms that can matter in each setting (the others do nothing there).
SETTINGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "sample": (("--processes", "1"), ("server", "blocks", "warmup", "quickexit")),
    "pool": (("--processes", "2"), ("server", "blocks", "forkserver", "warmup", "quickexit")),
    "dask": (("--dask", "--workers", "2"), ("server", "forkserver", "quickexit", "daskconfig")),
}


def measure(inputs: Path, options: tuple[str, ...], mechanism: str, *, fresh_home: bool) -> tuple[float, float]:
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="newsetl-prefect-home-") as home:
        os.environ[OFF_VARIABLE] = mechanism
        if fresh_home:  # Prefect's home (its database) new for this run, as on a first run or in a fresh container
            os.environ["PREFECT_HOME"] = home
        try:
            print(f"  {mechanism or 'all on':<11}", end="", flush=True)
            seconds, peak = newsetl_run(inputs, *options)
            print(f"  {seconds:6.1f} s {peak:7.0f} MiB")
            return seconds, peak
        finally:
            os.environ.clear()
            os.environ.update(saved)


def setting(name: str, inputs: Path, *, repeat: int, only: set[str] | None, fresh_home: bool) -> None:
    options, mechanisms = SETTINGS[name]
    mechanisms = tuple(m for m in mechanisms if only is None or m in only)
    configs = ["", *mechanisms]
    rounds: list[dict[str, tuple[float, float]]] = []
    for r in range(repeat):
        print(f"{name}, round {r + 1} of {repeat}")
        shift = r * len(configs) // repeat
        order = configs[shift:] + configs[:shift]
        rounds.append({config: measure(inputs, options, config, fresh_home=fresh_home) for config in order})
    base = [round_[""] for round_ in rounds]
    print(f"\n{name} ({' '.join(options)}): all on {statistics.median(s for s, _ in base):.1f} s "
          f"(spread {min(s for s, _ in base):.1f} to {max(s for s, _ in base):.1f}), "
          f"{statistics.median(m for _, m in base):.0f} MiB")
    print(f"  {'off':<11} {'time off/on: median (spread)':<32} {'peak memory off/on':<20}")
    for mechanism in mechanisms:
        time_ratios = [round_[mechanism][0] / round_[""][0] for round_ in rounds]
        memory_ratios = [round_[mechanism][1] / round_[""][1] for round_ in rounds]
        print(f"  {mechanism:<11} {_figure(time_ratios):<32} {_figure(memory_ratios):<20}")
    print()


def _figure(ratios: list[float]) -> str:
    return f"{statistics.median(ratios):.2f} ({min(ratios):.2f} to {max(ratios):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=BBC)
    parser.add_argument("--docs", type=int, default=300, help="BBC articles per run in the pool and dask settings (default 300)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per setting (default 3)")
    parser.add_argument("--settings", default=",".join(SETTINGS), help=f"comma-separated, of {', '.join(SETTINGS)}")
    parser.add_argument("--mechanisms", help="comma-separated: measure only these (default: every one that can matter in a setting)")
    parser.add_argument("--fresh-home", action="store_true", help="a new PREFECT_HOME for each run (Prefect's first run on a machine)")
    args = parser.parse_args()
    names = args.settings.split(",")
    only = set(args.mechanisms.split(",")) if args.mechanisms else None
    with tempfile.TemporaryDirectory(prefix="newsetl-mechanisms-") as tmp:
        articles = Path(tmp) / "articles"
        if set(names) - {"sample"}:
            if not args.corpus.is_dir():
                raise SystemExit(f"no corpus at {args.corpus}: give --corpus DIR or --settings sample")
            paths = sorted(args.corpus.rglob("*.txt"))
            for path in paths[:: max(1, len(paths) // args.docs)][: args.docs]:  # every section of the corpus
                target = articles / path.relative_to(args.corpus)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        for name in names:
            setting(name, SAMPLE if name == "sample" else articles, repeat=args.repeat, only=only, fresh_home=args.fresh_home)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
