"""What a run processes: skipping by content hash and versions, exact copies, near-duplicates."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dataclasses import replace

from transforms.dedup import (
    BANDS,
    NEAR_DUPLICATE_THRESHOLD,
    NUM_PERM,
    ROWS,
    LoadedDoc,
    RunOriginals,
    band_keys,
    copy_id,
    lookup_ids,
    mark_near_duplicates,
    minhash,
    plan_run,
    shingles,
    similarity,
)
from transforms.extract import extract_document
from transforms.records import Cleaned, CleanDoc, RawDoc

V1 = ("0.1.0", "en_core_web_sm==3.8.0")


def _doc(text: str, path: str) -> RawDoc:
    doc = extract_document(path, text.encode("utf-8"))
    assert isinstance(doc, RawDoc)
    return doc


def _loaded(doc: RawDoc, versions: tuple[str, str] = V1, duplicate_of: str | None = None) -> LoadedDoc:
    return LoadedDoc(doc.doc_id, doc.source_path, versions[0], versions[1], duplicate_of)


def test_input_sha256_is_the_hash_of_the_file_bytes() -> None:
    # sha256 of b"abc", from FIPS 180-2
    assert _doc("abc", "a.txt").input_sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_a_loaded_document_with_the_same_versions_is_skipped() -> None:
    a, b = _doc("Alpha story text.", "in/a.txt"), _doc("Beta story text.", "in/b.txt")
    plan = plan_run([a, b], {a.doc_id: _loaded(a)}, versions=V1)
    assert plan.unchanged == [a]
    assert plan.process == [b] and b.duplicate_of is None


def test_a_new_pipeline_or_model_version_reprocesses_the_document() -> None:
    a = _doc("Alpha story text.", "in/a.txt")
    for versions in [("0.2.0", V1[1]), (V1[0], "en_core_web_sm==3.9.0")]:
        plan = plan_run([a], {a.doc_id: _loaded(a)}, versions=versions)
        assert plan.process == [a] and plan.unchanged == []


def test_the_same_content_under_another_path_is_an_exact_copy_with_its_own_id() -> None:
    a = _doc("Alpha story text.", "in/a.txt")
    copy = _doc("Alpha story text.", "in/copy-of-a.txt")
    plan = plan_run([a, copy], {}, versions=V1)
    assert [d.source_path for d in plan.process] == ["in/a.txt", "in/copy-of-a.txt"]
    assert plan.process[0].doc_id == a.doc_id
    assert plan.process[1].doc_id == copy_id(copy) != a.doc_id
    assert [d.duplicate_of for d in plan.process] == [None, a.doc_id]


def test_a_copy_in_a_later_chunk_of_the_run_points_at_the_first_file() -> None:
    a = _doc("Alpha story text.", "in/a.txt")
    copy = _doc("Alpha story text.", "in/z/copy-of-a.txt")
    first = plan_run([a], {}, versions=V1)
    assert first.first_paths == {a.doc_id: "in/a.txt"}
    later = plan_run([copy], {}, versions=V1, seen=first.first_paths)
    assert [(d.doc_id, d.duplicate_of) for d in later.process] == [(copy_id(copy), a.doc_id)]


def test_the_plan_looks_up_each_documents_own_id_and_its_id_as_a_copy() -> None:
    a = _doc("Alpha story text.", "in/a.txt")
    assert lookup_ids([a]) == sorted([a.doc_id, copy_id(a)])


def test_a_copy_of_a_loaded_document_points_at_it_and_is_skipped_once_loaded() -> None:
    a = _doc("Alpha story text.", "in/a.txt")
    moved = _doc("Alpha story text.", "in/moved-a.txt")
    plan = plan_run([moved], {a.doc_id: _loaded(a)}, versions=V1)
    assert [(d.doc_id, d.duplicate_of) for d in plan.process] == [(copy_id(moved), a.doc_id)]
    loaded = {a.doc_id: _loaded(a), copy_id(moved): LoadedDoc(copy_id(moved), "in/moved-a.txt", *V1, a.doc_id)}
    again = plan_run([a, moved], loaded, versions=V1)
    assert again.process == [] and again.unchanged == [a, moved]


def test_a_copy_of_a_near_duplicate_points_at_the_first_document() -> None:
    near = _doc("Alpha story text, edited.", "in/near.txt")
    copy = _doc("Alpha story text, edited.", "in/copy.txt")
    plan = plan_run([copy], {near.doc_id: _loaded(near, duplicate_of="first0000")}, versions=V1)
    assert [d.duplicate_of for d in plan.process] == ["first0000"]


def test_empty_input_gives_an_empty_plan() -> None:
    plan = plan_run([], {}, versions=V1)
    assert (plan.process, plan.unchanged, plan.first_paths) == ([], [], {})


WIRE = (
    "ANKARA (Reuters) - Turkey and Russia agreed on Thursday to a ceasefire in Syria's Idlib region, "
    "the two countries' leaders said after talks in Moscow, in a bid to halt fighting that has displaced "
    "nearly a million people and brought the two sides close to direct confrontation. Turkish President "
    "Tayyip Erdogan and Russian President Vladimir Putin said the truce would take effect at midnight, and "
    "that Turkish and Russian forces would hold joint patrols along a corridor on the M4 highway."
)


def test_shingles_are_five_word_windows_and_short_texts_one_shingle() -> None:
    assert shingles("One two three four five six") == {"one two three four five", "two three four five six"}
    assert shingles("Just three words") == {"just three words"}
    assert shingles("") == set()


def _clean(doc_id: str, body: str) -> CleanDoc:
    raw = RawDoc(f"in/{doc_id}.txt", doc_id, body, "utf-8", len(body))
    return CleanDoc(raw, Cleaned(body=body), language="en", signature=minhash(body))


def _copies(docs: list[CleanDoc]) -> dict[str, str]:
    return {d.doc_id: d.duplicate_of for d in docs if d.duplicate_of is not None}


SYNDICATED = WIRE.replace("ANKARA (Reuters) - ", "").replace("on Thursday", "on Thursday evening")
UNRELATED = "The pound fell to $1.20 against the dollar, a level last seen in 1985, traders said on Monday in London."


def test_the_lsh_bands_are_those_datasketch_chooses_for_the_threshold() -> None:
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=NEAR_DUPLICATE_THRESHOLD, num_perm=NUM_PERM)
    assert (lsh.b, lsh.r) == (BANDS, ROWS)


def test_a_syndicated_copy_with_an_edited_sentence_is_a_near_duplicate_of_the_loaded_original() -> None:
    lake = [("a", minhash(WIRE))]
    docs = mark_near_duplicates([_clean("b", SYNDICATED), _clean("c", UNRELATED), _clean("d", SYNDICATED)], lake, RunOriginals())  # type: ignore[list-item]
    assert _copies(docs) == {"b": "a", "d": "a"}
    assert similarity(minhash(WIRE), minhash(SYNDICATED)) > 0.7 > similarity(minhash(WIRE), minhash(UNRELATED))  # type: ignore[arg-type]


def test_near_duplicates_share_a_band_key_and_unrelated_texts_none() -> None:
    wire, syndicated, unrelated = (band_keys(minhash(t)) for t in (WIRE, SYNDICATED, UNRELATED))  # type: ignore[arg-type]
    assert len(wire) == BANDS and set(wire) & set(syndicated) and not set(wire) & set(unrelated)


def test_within_a_run_the_first_copy_is_the_original_across_chunks() -> None:
    run = RunOriginals()
    first = mark_near_duplicates([_clean("x", WIRE)], [], run)
    later = mark_near_duplicates([_clean("y", WIRE + " Reporting by staff.")], [], run)
    assert _copies(first) == {} and _copies(later) == {"y": "x"}


def test_the_earliest_loaded_original_wins_over_the_runs_own() -> None:
    run = RunOriginals()
    mark_near_duplicates([_clean("x", WIRE)], [], run)  # the run kept x in an earlier chunk
    lake = [("old", minhash(SYNDICATED)), ("older-copy", minhash(WIRE))]  # in load order
    docs = mark_near_duplicates([_clean("y", WIRE + " Reporting by staff.")], lake, run)  # type: ignore[list-item]
    assert _copies(docs) == {"y": "old"}


def test_a_reprocessed_document_does_not_copy_itself_exact_copies_and_wordless_bodies_are_left_alone() -> None:
    exact = replace(_clean("e", WIRE), duplicate_of="first")
    wordless = _clean("w", "!!! ...")
    assert wordless.signature is None
    docs = mark_near_duplicates([_clean("a", WIRE), exact, wordless], [("a", minhash(WIRE))], RunOriginals())  # type: ignore[list-item]
    assert _copies(docs) == {"e": "first"}


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(["Alpha story.", "Beta story.", "Gamma."]), max_size=4),
       st.permutations(["in/1.txt", "in/2.txt", "in/3.txt", "in/4.txt"]))
def test_a_plan_replayed_on_what_it_loaded_processes_nothing(texts: list[str], paths: list[str]) -> None:
    docs = [_doc(t, p) for t, p in zip(texts, paths)]
    first = plan_run(docs, {}, versions=V1)
    assert len(first.process) == len(docs) and len({d.doc_id for d in first.process}) == len(docs)
    loaded = {d.doc_id: LoadedDoc(d.doc_id, d.source_path, *V1, d.duplicate_of) for d in first.process}
    again = plan_run(docs, loaded, versions=V1)
    assert again.process == [] and again.unchanged == docs
