"""What a run has done so far, chunk after chunk: the counts of its summary and run checks, and
the little state its later chunks need (first paths, kept originals).

Pure bookkeeping, kept out of the flow: the flow adds each chunk's records and reads the
totals. Its size follows the run's originals (about 1 KB a document), not
its text.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from schemas.reasons import QuarantineReason, Stage
from transforms.dedup import RunOriginals
from transforms.records import AnnotatedDoc, CleanDoc, Rejection


class Document(Protocol):
    """What every stage's record says of its document."""

    @property
    def doc_id(self) -> str: ...

    @property
    def source_path(self) -> str: ...

    @property
    def input_sha256(self) -> str: ...


D = TypeVar("D", bound=Document)


def set_aside(
    docs: Sequence[D], quarantined: Mapping[str, tuple[QuarantineReason, str]], *, stage: Stage
) -> tuple[list[D], list[Rejection]]:
    """Split a stage's documents by a gate's verdict: those it kept, in order, and a rejection
    for each one it quarantined (doc_id -> reason and detail). Nothing quarantined keeps all."""
    if not quarantined:
        return list(docs), []
    kept = [d for d in docs if d.doc_id not in quarantined]
    rejected = [
        Rejection(d.source_path, stage, quarantined[d.doc_id][0], quarantined[d.doc_id][1], d.doc_id, d.input_sha256 or None)
        for d in docs
        if d.doc_id in quarantined
    ]
    return kept, rejected


@dataclass(slots=True)
class RunTally:
    """The running totals of one run.

    n_skipped: inputs already loaded with the run's versions; n_loaded: documents loaded
    (n_duplicates of them copies); n_annotated documents with n_mentions mentions over
    annotated_chars characters of body; quarantined: reason -> (count, the first path).
    first_paths: doc_id -> first path of the run's inputs (`plan_run`'s `seen`); originals: the
    run's originals (near-duplicates).
    """

    n_skipped: int = 0
    n_loaded: int = 0
    n_duplicates: int = 0
    n_annotated: int = 0
    n_mentions: int = 0
    annotated_chars: int = 0
    quarantined: dict[str, tuple[int, str]] = field(default_factory=dict)
    first_paths: dict[str, str] = field(default_factory=dict)
    originals: RunOriginals = field(default_factory=RunOriginals)

    @property
    def n_quarantined(self) -> int:
        return sum(n for n, _ in self.quarantined.values())

    @property
    def entity_density(self) -> float | None:
        """Mentions per 1,000 annotated characters (None when nothing was annotated)."""
        return 1000 * self.n_mentions / self.annotated_chars if self.annotated_chars else None

    def reject(self, rejections: Iterable[Rejection]) -> None:
        for r in rejections:
            n, path = self.quarantined.get(r.reason.value, (0, r.source_path))
            self.quarantined[r.reason.value] = (n + 1, path)

    def load(self, documents: Collection[CleanDoc], annotated: Iterable[AnnotatedDoc]) -> None:
        """Count a chunk's loaded documents and their annotations."""
        self.n_loaded += len(documents)
        self.n_duplicates += sum(1 for d in documents if d.duplicate_of is not None)
        for a in annotated:
            self.n_annotated += 1
            self.n_mentions += len(a.mentions)
            self.annotated_chars += len(a.doc.cleaned.body)
