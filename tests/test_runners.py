"""How a run splits its work: shards per worker, a window of tasks in flight, worker processes
for large inputs, and the spaCy components a run does not need
left out."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import spacy
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

from flows.nlp import load_pipeline
from flows.pipeline import MAX_SHARD_DOCS, MIN_SHARD_DOCS, _gather, even_shards, shards
from flows.tasks import Opaque
from flows.settings import DEFAULT_MODEL, SAMPLE_CORPUS
from flows.sources import count_files


def test_shards_shrink_towards_the_end_and_keep_every_item_in_order() -> None:
    items = list(range(2065))
    got = shards(items, size=None, workers=2)
    assert [x for shard in got for x in shard] == items
    sizes = [len(s) for s in got]
    # a quarter of what is left (2 workers), rounded up: 2065/4 is over the cap of 512, then
    # 1553/4, 1164/4, 873/4; down to the floor of 16, the last 64 in four shards of 16
    assert sizes[:4] == [512, 389, 291, 219]
    assert all(a >= b for a, b in zip(sizes, sizes[1:]))
    assert sizes[-5:] == [22, 16, 16, 16, 16]
    assert len(got) < 25  # few tasks
    assert max(len(s) for s in shards(list(range(100_000)), size=None, workers=2)) == MAX_SHARD_DOCS


def test_few_items_make_one_shard_and_a_set_size_wins() -> None:
    assert shards([1, 2, 3], size=None, workers=4) == [[1, 2, 3]]
    assert shards([], size=None, workers=2) == []
    assert shards(list(range(5)), size=2, workers=8) == [[0, 1], [2, 3], [4]]


def test_even_shards_split_in_twice_as_many_tasks_as_workers_within_the_bounds() -> None:
    items = list(range(1000))
    got = even_shards(items, size=None, workers=2)
    assert [x for shard in got for x in shard] == items
    assert [len(s) for s in got] == [250, 250, 250, 250]
    assert [len(s) for s in even_shards(items, size=None, workers=1)] == [500, 500]
    # 2,225 documents on 2 workers: 4 shards would be over the cap of 512, so 6 (3 each)
    assert [len(s) for s in even_shards(list(range(2225)), size=None, workers=2)] == [371] * 5 + [370]
    # large runs: capped, and still a multiple of the workers
    large = even_shards(list(range(10_000)), size=None, workers=2)
    assert len(large) == 20 and max(len(s) for s in large) <= MAX_SHARD_DOCS
    # never below the floor for small ones
    assert [len(s) for s in even_shards(list(range(40)), size=None, workers=2)] == [MIN_SHARD_DOCS, MIN_SHARD_DOCS, 8]
    assert even_shards([], size=None, workers=2) == []
    assert even_shards(list(range(5)), size=2, workers=8) == [[0, 1], [2, 3], [4]]


def test_an_opaque_value_is_one_dask_token_of_its_own_and_travels_whole() -> None:
    import pickle

    from dask.base import tokenize

    docs = [{"doc_id": "a", "text": "x" * 1000}]
    first, second = Opaque(docs), Opaque(docs)
    assert tokenize(first) == tokenize(first)
    assert tokenize(first) != tokenize(second)  # two batches never share a Dask task key
    copy = pickle.loads(pickle.dumps(first))
    assert copy.value == docs and tokenize(copy) == tokenize(first)


@task(cache_policy=NO_CACHE)
def _first_doc_id(batch: Opaque[list[dict[str, str]]]) -> str:
    return batch.value[0]["doc_id"]


def test_a_task_receives_the_opaque_value_it_was_sent() -> None:
    @flow(task_runner=ThreadPoolTaskRunner(max_workers=2))
    def run() -> str:
        return _first_doc_id.submit(Opaque([{"doc_id": "d1"}])).result()

    assert run() == "d1"


def test_count_files_counts_and_stops_at_the_limit(tmp_path: Path) -> None:
    for i in range(7):
        (tmp_path / f"{i}.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("x")
    assert count_files([tmp_path], stop_at=100) == 8
    assert count_files([tmp_path], stop_at=3) == 3
    assert count_files([SAMPLE_CORPUS, tmp_path / "0.txt"], stop_at=100) == 6


def test_the_shared_tok2vec_is_left_out_and_entities_do_not_change() -> None:
    nlp = load_pipeline(DEFAULT_MODEL)
    assert "tok2vec" not in nlp.pipe_names and "parser" not in nlp.pipe_names
    full = spacy.load(DEFAULT_MODEL)  # as shipped: tok2vec, tagger, parser, ..., ner
    assert "tok2vec" in full.pipe_names
    text = (SAMPLE_CORPUS / sorted(p.name for p in SAMPLE_CORPUS.iterdir())[0]).read_text(encoding="utf-8")
    ner_only = spacy.load(DEFAULT_MODEL, exclude=["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer"])
    ents = [(e.start_char, e.end_char, e.label_) for e in full(text).ents]
    assert len(ents) > 20
    assert [(e.start_char, e.end_char, e.label_) for e in ner_only(text).ents] == ents


_IN_FLIGHT = {"now": 0, "most": 0}
_LOCK = threading.Lock()


@task(cache_policy=NO_CACHE)
def _slow_batch(batch: list[int]) -> tuple[list[int], list[int]]:
    with _LOCK:
        _IN_FLIGHT["now"] += 1
        _IN_FLIGHT["most"] = max(_IN_FLIGHT["most"], _IN_FLIGHT["now"])
    time.sleep(0.05 * (batch[0] % 3))  # finish out of order
    with _LOCK:
        _IN_FLIGHT["now"] -= 1
    return [x * 10 for x in batch], []


def test_gather_keeps_a_window_of_tasks_in_flight_and_results_in_order() -> None:
    counted: list[int] = []

    class Progress:
        def advance(self, n: int) -> None:
            counted.append(n)

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=8))
    def run() -> list[tuple[list[int], list[int]]]:
        return _gather(_slow_batch.submit, shards(list(range(16)), size=2, workers=1), Progress(), ahead=2,  # type: ignore[arg-type]
                       keep=lambda result: ([x + 1 for x in result[0]], result[1]))

    _IN_FLIGHT.update(now=0, most=0)
    results = run()
    assert [x for docs, _ in results for x in docs] == [x * 10 + 1 for x in range(16)]
    assert _IN_FLIGHT["most"] == 2  # never all eight batches at once, though 8 threads were free
    assert sorted(counted) == [2] * 8


def test_the_extract_stage_runs_in_the_flow_process_under_a_process_pool_not_under_threads() -> None:
    # Reading files costs less than a pool task's start-up and the documents' trip back to the
    # flow; threads keep their batches (they share the flow's process already).
    from flows.pipeline import _extracts_here

    @flow(task_runner=ProcessPoolTaskRunner(max_workers=1))
    def on_processes() -> bool:
        return _extracts_here()

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=2))
    def on_threads() -> bool:
        return _extracts_here()

    assert on_processes() is True
    assert on_threads() is False
    assert _extracts_here() is False  # outside a flow run


def test_a_dask_scheduler_is_on_this_machine_only_at_a_loopback_or_in_process_address() -> None:
    from flows.pipeline import on_this_machine

    for address in ("tcp://127.0.0.1:8786", "tcp://127.0.1.1:40123", "tcp://localhost:8786", "tcp://[::1]:8786", "127.0.0.1:8786", "inproc://10.0.0.5/1234/1"):
        assert on_this_machine(address), address
    for address in ("tcp://10.0.0.5:8786", "tls://scheduler.example.org:8786", "tcp://192.168.1.20:8786", "tcp://[2001:db8::1]:8786", "", None):
        assert not on_this_machine(address), address


def test_the_runtime_wing_was_written_for_prefect_3_8_8() -> None:
    # flows/runtime/ uses Prefect internals where no public API does the job: the
    # multiprocessing attribute of prefect.task_runners (runners._ForkServerPool: Prefect 3.8
    # hard-codes the "spawn" context), and PREFECT__SERVER_EPHEMERAL / PREFECT__SERVER_FINAL (server._spawn_temporary_server).
    # On a Prefect upgrade, check each against the new release, then change the version here.
    import prefect

    assert prefect.__version__ == "3.8.8"
