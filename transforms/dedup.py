"""Which inputs a run processes, and which documents copy an earlier one (exactly or nearly).

Pure: the flow looks up what the lake holds about the run's documents and passes it in as values.

A document is keyed by its content hash (`doc_id`). A run skips an input whose document is already
loaded with the same pipeline and model version, and processes it again when either differs. The
first file with a given content is the document; a later file with the same content (another
path) is an exact copy, kept as a document of its own with `doc_id = content_id(path + text)` and
`duplicate_of` naming the first. Near-duplicates (syndicated copies of one wire story, with other
furniture or a few edited words) are found by MinHash over word shingles of the cleaned body,
banded for locality-sensitive hashing: a body is compared only with the bodies that share one of
its band keys, which the lake keeps for every original it loaded (`signatures`), so old bodies
are never read again. Copies of either kind are loaded but not annotated.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Final

import numpy as np

from transforms.extract import content_id
from transforms.records import CleanDoc, RawDoc

#: Words per shingle: long enough that two unrelated articles share few shingles.
SHINGLE_WORDS: Final[int] = 5
#: MinHash permutations; 128 estimates a Jaccard similarity within about +-0.09.
NUM_PERM: Final[int] = 128
#: Estimated Jaccard similarity of shingle sets from which a body is a near-duplicate.
NEAR_DUPLICATE_THRESHOLD: Final[float] = 0.7
#: LSH bands and rows per band: what datasketch's MinHashLSH chooses for the threshold and
#: NUM_PERM (weighing false positives and negatives equally; a test holds them equal).
BANDS: Final[int] = 14
ROWS: Final[int] = 9
_SEED: Final[int] = 20261121
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class LoadedDoc:
    """What the lake holds about one loaded document (its latest row)."""

    doc_id: str
    source_path: str
    pipeline_version: str
    model_version: str
    duplicate_of: str | None = None


@dataclass(frozen=True, slots=True)
class RunPlan:
    """The inputs of a run split into those to process and those already loaded.

    process: documents to load, in input order; an exact copy carries its own doc_id and
        `duplicate_of`.
    unchanged: inputs loaded before with the same versions (skipped).
    first_paths: doc_id -> path of the first file with that content among these inputs, for the
        plans of the run's later inputs (`seen`).
    """

    process: list[RawDoc] = field(default_factory=list)
    unchanged: list[RawDoc] = field(default_factory=list)
    first_paths: dict[str, str] = field(default_factory=dict)


def copy_id(doc: RawDoc) -> str:
    """doc_id of an exact copy: the content hash of its path and text, unique per file."""
    return content_id(f"{doc.source_path}\x00{doc.text}")


def lookup_ids(docs: Iterable[RawDoc]) -> list[str]:
    """The doc_ids `plan_run` needs the lake's rows of: each document's own and its id as a copy."""
    return sorted({i for doc in docs for i in (doc.doc_id, copy_id(doc))})


def plan_run(
    docs: Sequence[RawDoc],
    loaded: Mapping[str, LoadedDoc],
    *,
    versions: tuple[str, str],
    seen: Mapping[str, str] | None = None,
) -> RunPlan:
    """Decide what a run does with each decoded input.

    Input: documents in input order; doc_id -> LoadedDoc of the lake's documents among
    `lookup_ids(docs)`; the run's (pipeline_version, model_version); `seen`, doc_id -> first path
    of the run's earlier inputs (the `first_paths` of earlier plans). Output: a RunPlan. Empty
    input gives an empty plan.
    """
    plan = RunPlan()
    first_path = {**(seen or {}), **{doc_id: d.source_path for doc_id, d in loaded.items()}}
    for doc in docs:
        original = first_path.get(doc.doc_id)
        if original is None:
            original = first_path[doc.doc_id] = plan.first_paths[doc.doc_id] = doc.source_path
        target = doc
        if original != doc.source_path:
            earlier = loaded.get(doc.doc_id)
            target = replace(doc, doc_id=copy_id(doc), duplicate_of=(earlier.duplicate_of if earlier else None) or doc.doc_id)
        previous = loaded.get(target.doc_id)
        if previous is not None and (previous.pipeline_version, previous.model_version) == versions:
            plan.unchanged.append(doc)
        else:
            plan.process.append(target)
    return plan


def shingles(text: str, *, size: int = SHINGLE_WORDS) -> set[str]:
    """The set of `size`-word shingles of `text` (lower-cased words); a text shorter than `size`
    words is one shingle; '' gives an empty set."""
    words = _WORD.findall(text.lower())
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


@lru_cache(maxsize=1)
def _permutations() -> tuple[Any, str]:
    """The permutations (and hashing scheme) every signature uses: drawn once, not per text."""
    from datasketch import MinHash  # imports scipy (about 1 s): only where signatures are made

    template = MinHash(num_perm=NUM_PERM, seed=_SEED)
    return template.permutations, template.scheme


def minhash(text: str) -> bytes | None:
    """The MinHash signature of a text's shingles (same seed everywhere, so signatures compare)
    as NUM_PERM little-endian uint32 values; None for a text without words."""
    from datasketch import MinHash

    words = shingles(text)
    if not words:
        return None
    permutations, scheme = _permutations()
    signature = MinHash(num_perm=NUM_PERM, seed=_SEED, permutations=permutations, scheme=scheme)
    signature.update_batch([s.encode("utf-8") for s in sorted(words)])
    return np.asarray(signature.hashvalues, dtype="<u4").tobytes()  # datasketch's values fit 32 bits


def band_keys(signature: bytes) -> list[int]:
    """The signature's BANDS band keys: a signed 64-bit hash of each band's index and values.
    Two signatures share a key when (barring a hash collision) one band is equal in both."""
    keys = []
    for band in range(BANDS):
        chunk = signature[band * ROWS * 4 : (band + 1) * ROWS * 4]
        digest = hashlib.blake2b(band.to_bytes(2, "little") + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return keys


def similarity(a: bytes, b: bytes) -> float:
    """The Jaccard similarity two signatures estimate: the share of equal values."""
    return float(np.mean(np.frombuffer(a, dtype="<u4") == np.frombuffer(b, dtype="<u4")))


@dataclass(slots=True)
class RunOriginals:
    """The originals a run has kept so far (its earlier chunks), for the near-duplicates of its
    later ones: band key -> doc_ids in input order, and each one's signature. About 1 KB a
    document."""

    by_band: dict[int, list[int]] = field(default_factory=dict)
    kept: list[tuple[str, bytes]] = field(default_factory=list)

    def add(self, doc_id: str, signature: bytes) -> None:
        for key in band_keys(signature):
            self.by_band.setdefault(key, []).append(len(self.kept))
        self.kept.append((doc_id, signature))

    def candidates(self, signature: bytes) -> Iterator[tuple[str, bytes]]:
        """The originals sharing a band with `signature`, in input order, each once."""
        found = sorted({i for key in band_keys(signature) for i in self.by_band.get(key, ())})
        return (self.kept[i] for i in found)


def mark_near_duplicates(
    docs: Sequence[CleanDoc],
    earlier: Sequence[tuple[str, bytes]],
    run: RunOriginals,
    *,
    threshold: float = NEAR_DUPLICATE_THRESHOLD,
) -> list[CleanDoc]:
    """Mark the documents whose body nearly copies an earlier one.

    Input: cleaned documents in input order (exact copies carry `duplicate_of` already); the
    lake's originals that share a band key with any of them, as (doc_id, signature) in load
    order; the run's originals so far. Output: the documents, each near-duplicate with
    `duplicate_of` the first document it copies (the earliest loaded, then the run's first);
    the others are added to `run`. A document never copies itself (a reprocessed one finds its
    own signature in the lake); a body without words copies nothing. Empty input gives [].
    """
    lake_bands: dict[int, list[tuple[str, bytes]]] = {}
    for doc_id, signature in earlier:
        for key in band_keys(signature):
            lake_bands.setdefault(key, []).append((doc_id, signature))
    order = {doc_id: i for i, (doc_id, _) in enumerate(earlier)}
    out = []
    for doc in docs:
        if doc.duplicate_of is not None or doc.signature is None:
            out.append(doc)
            continue
        shared = {hit for key in band_keys(doc.signature) for hit in lake_bands.get(key, ())}
        hits = [doc_id for doc_id, sig in sorted(shared, key=lambda h: order[h[0]]) if doc_id != doc.doc_id and similarity(doc.signature, sig) >= threshold]
        if not hits:
            hits = [doc_id for doc_id, sig in run.candidates(doc.signature) if doc_id != doc.doc_id and similarity(doc.signature, sig) >= threshold]
        if hits:
            out.append(replace(doc, duplicate_of=hits[0]))
        else:
            run.add(doc.doc_id, doc.signature)
            out.append(doc)
    return out
