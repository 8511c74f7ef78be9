"""How a run splits its work: shards per worker, worker processes for large inputs, and the
spaCy components a run does not need left out."""

from __future__ import annotations

from pathlib import Path

import spacy

from flows.nlp import load_pipeline
from flows.pipeline import MAX_SHARD_DOCS, shards
from flows.settings import DEFAULT_MODEL, SAMPLE_CORPUS
from flows.sources import count_files


def test_shards_shrink_towards_the_end_and_keep_every_item_in_order() -> None:
    items = list(range(2065))
    got = shards(items, size=None, workers=2)
    assert [x for shard in got for x in shard] == items
    sizes = [len(s) for s in got]
    # a quarter of what is left (2 workers), rounded up: 2065/4 is over the cap of 512, then
    # 1553/4, 1164/4, 873/4; down to the floor of 32, and the 19 left at the end
    assert sizes[:4] == [512, 389, 291, 219]
    assert all(a >= b for a, b in zip(sizes, sizes[1:]))
    assert sizes[-4:] == [32, 32, 32, 19]
    assert len(got) < 25  # few tasks
    assert max(len(s) for s in shards(list(range(100_000)), size=None, workers=2)) == MAX_SHARD_DOCS


def test_few_items_make_one_shard_and_a_set_size_wins() -> None:
    assert shards([1, 2, 3], size=None, workers=4) == [[1, 2, 3]]
    assert shards([], size=None, workers=2) == []
    assert shards(list(range(5)), size=2, workers=8) == [[0, 1], [2, 3], [4]]


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
