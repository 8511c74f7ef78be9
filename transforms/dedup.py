"""Which inputs a run processes, and which documents copy an earlier one (exactly or nearly).

Pure: the flow reads what the lake holds and passes it in as values.

A document is keyed by its content hash (`doc_id`). A run skips an input whose document is already
loaded with the same pipeline and model version, and processes it again when either differs. The
first file with a given content is the document; a later file with the same content (another
path) is an exact copy, kept as a document of its own with `doc_id = content_id(path + text)` and
`duplicate_of` naming the first. Near-duplicates (syndicated copies of one wire story, with other
furniture or a few edited words) are found by MinHash over word shingles of the cleaned body;
copies of either kind are loaded but not annotated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final

from transforms.extract import content_id
from transforms.records import RawDoc

if TYPE_CHECKING:  # datasketch imports scipy (about 1 s): imported where signatures are made
    from datasketch import LeanMinHash

#: Words per shingle: long enough that two unrelated articles share few shingles.
SHINGLE_WORDS: Final[int] = 5
#: MinHash permutations; 128 estimates a Jaccard similarity within about +-0.09.
NUM_PERM: Final[int] = 128
#: Estimated Jaccard similarity of shingle sets from which a body is a near-duplicate.
NEAR_DUPLICATE_THRESHOLD: Final[float] = 0.7
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

    process: documents to load, in input order; an exact copy carries its own doc_id.
    unchanged: inputs loaded before with the same versions (skipped).
    exact_copies: doc_id of an exact copy -> doc_id of the first document with that content.
    """

    process: list[RawDoc] = field(default_factory=list)
    unchanged: list[RawDoc] = field(default_factory=list)
    exact_copies: dict[str, str] = field(default_factory=dict)


def copy_id(doc: RawDoc) -> str:
    """doc_id of an exact copy: the content hash of its path and text, unique per file."""
    return content_id(f"{doc.source_path}\x00{doc.text}")


def plan_run(docs: Sequence[RawDoc], loaded: Mapping[str, LoadedDoc], *, versions: tuple[str, str]) -> RunPlan:
    """Decide what a run does with each decoded input.

    Input: documents in input order; doc_id -> LoadedDoc of the lake's documents; the run's
    (pipeline_version, model_version). Output: a RunPlan. Empty input gives an empty plan.
    """
    plan = RunPlan()
    first_path = {doc_id: d.source_path for doc_id, d in loaded.items()}
    for doc in docs:
        original = first_path.setdefault(doc.doc_id, doc.source_path)
        target, first = doc, None
        if original != doc.source_path:
            target = replace(doc, doc_id=copy_id(doc))
            earlier = loaded.get(doc.doc_id)
            first = (earlier.duplicate_of if earlier else None) or doc.doc_id
        previous = loaded.get(target.doc_id)
        if previous is not None and (previous.pipeline_version, previous.model_version) == versions:
            plan.unchanged.append(doc)
            continue
        plan.process.append(target)
        if first is not None:
            plan.exact_copies[target.doc_id] = first
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
    from datasketch import MinHash

    template = MinHash(num_perm=NUM_PERM, seed=_SEED)
    return template.permutations, template.scheme


def minhash(text: str) -> LeanMinHash:
    """The MinHash signature of a text's shingles (same seed everywhere, so signatures compare),
    in datasketch's compact form, which pickles small (clean tasks return them)."""
    from datasketch import LeanMinHash, MinHash

    permutations, scheme = _permutations()
    signature = MinHash(num_perm=NUM_PERM, seed=_SEED, permutations=permutations, scheme=scheme)
    signature.update_batch([s.encode("utf-8") for s in sorted(shingles(text))])
    return LeanMinHash(signature)


def find_near_duplicates(
    candidates: Sequence[tuple[str, str]],
    earlier: Iterable[tuple[str, str]],
    *,
    threshold: float = NEAR_DUPLICATE_THRESHOLD,
    signatures: Mapping[str, LeanMinHash] | None = None,
) -> dict[str, str]:
    """Which candidate bodies nearly copy an earlier body or a preceding candidate.

    Input: (doc_id, body) of this run's documents in input order, and of documents already
    loaded (not copies themselves); `signatures` may hold the candidates' `minhash` already
    (computed where the bodies were cleaned), by doc_id. Output: doc_id -> doc_id of the first
    document it copies (earliest loaded, then input order). A document never copies itself;
    empty bodies copy nothing.
    """
    from datasketch import MinHashLSH

    signatures = signatures or {}
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    remembered: dict[str, LeanMinHash] = {}
    order: dict[str, int] = {}

    def remember(doc_id: str, signature: LeanMinHash) -> None:
        if doc_id not in order:
            lsh.insert(doc_id, signature)
            remembered[doc_id] = signature
            order[doc_id] = len(order)

    for doc_id, body in earlier:
        if body.strip():
            remember(doc_id, minhash(body))
    copies: dict[str, str] = {}
    for doc_id, body in candidates:
        if not body.strip():
            continue
        signature = signatures[doc_id] if doc_id in signatures else minhash(body)
        hits = [h for h in lsh.query(signature) if h != doc_id and signature.jaccard(remembered[h]) >= threshold]
        if hits:
            copies[doc_id] = min(hits, key=order.__getitem__)
        else:
            remember(doc_id, signature)
    return copies
