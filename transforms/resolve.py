"""Canonical entities across documents and runs: bulk clustering of entity keys, kept stable.

Pure functions over keys and counts; the flow reads and writes the alias map and the alias file.

How it works. Mentions are first reduced to their distinct keys (after `resolve_in_document`),
with counts, labels and whether they are written as acronyms, so the work grows with the number
of distinct names, not of mentions. Keys are then joined with a union-find, strongest evidence
first, and only inside small blocks (never all pairs):

1. the user's alias file ("United States": US, U.S., America),
2. the same comparison words ("Bashar Al Assad" and "Bashar Assad"), a nationality and its plural,
3. a typo in one long word of a multi-word name (block: the name with that word masked),
4. an acronym that spells the initials of exactly one organisation or place that some article
   wrote it beside (block: initials),
5. a surname, or the end of a name, that ends exactly one known person and is not a given
   name (block: last word).

Stability. A key that already has an entity id keeps it: every component of the union-find is
pinned to at most one id (a previous id, else an id the alias file fixes) and two components
with different pins are never joined; keys that already share an id start joined. A component
without a pin is a new entity, whose id is `entity_id` of its canonical key (most words, then
most mentions, then alphabetical), so the same names give the same ids in any order and on any
machine.

Incrementally. A run resolves only its own keys (`resolve_run`), against the keys it may join:
those sharing one of its keys' blocks (`resolution_blocks`: the words, a surname, initials, a
masked word, a plural). An initials block reaches only keys rule 4 can use (`reaches`): two-letter
initials are shared by a large share of all names, and would otherwise make every run read a
fixed share of the lake. The lake keeps every key's id and counts (`entity_keys`) and the flow
reads only the rows of those keys, so a run costs what its own names cost, not the lake's.
`replay_runs` re-resolves a history run by run the same way, from counts in memory: the same
documents give the same ids as the runs that loaded them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, Final

from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cdist

from transforms.entities import TYPO_MIN_LENGTH, compare_tokens, entity_id, entity_key, initials, is_acronym

#: A word of a multi-word name may differ by one edit (same first letter) when both spellings
#: are this long; for the last word (the surname: Kerry and Terry, Davis and Davies are two
#: people) the bar is TYPO_MIN_LENGTH.
FUZZY_MIN_LENGTH: Final[int] = 6
#: A surname alone joins a person only when at least this share of its mentions are PERSON.
SURNAME_PERSON_SHARE: Final[float] = 0.5


class AliasFileError(ValueError):
    """The alias file does not have the documented shape; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class AliasEntity:
    """An entity the user fixes: its display name, optional label and the keys of its aliases."""

    name: str
    label: str | None
    keys: frozenset[str]

    @property
    def entity_id(self) -> str:
        return entity_id(entity_key(self.name))


@dataclass(frozen=True, slots=True)
class AliasRules:
    """What the alias file says: entities to merge under a name, keys to keep on their own."""

    entities: tuple[AliasEntity, ...] = ()
    separate: frozenset[str] = frozenset()

    def __add__(self, other: AliasRules) -> AliasRules:
        """Both rule sets; for a key named in both, `other` (the later file) wins."""
        taken = {k for e in other.entities for k in e.keys} | other.separate
        mine = tuple(
            AliasEntity(e.name, e.label, e.keys - taken) for e in self.entities if e.entity_id not in {o.entity_id for o in other.entities}
        )
        return AliasRules(entities=mine + other.entities, separate=(self.separate - taken) | other.separate)


def parse_alias_rules(data: Any, *, source: str = "") -> AliasRules:
    """Alias rules from the parsed YAML/JSON of an alias file.

    Shape: ``{"entities": [{"name": str, "label": str (optional), "aliases": [str, ...]}],
    "separate": [str, ...]}``; both keys are optional and an empty file (None) gives no rules.
    Names and aliases are compared by `entity_key`, so case, accents, dots and titles do not
    matter. A key listed under two entities goes to the later one.

    Raises:
        AliasFileError: the data is not of that shape, or a name has no letters or digits.
    """
    source = f"alias file {source}".strip()
    if data is None:
        return AliasRules()
    if not isinstance(data, Mapping) or set(data) - {"entities", "separate"}:
        raise AliasFileError(f"{source}: expected a mapping with keys 'entities' and/or 'separate', got {data!r:.200}")
    entities: dict[str, AliasEntity] = {}
    owner: dict[str, str] = {}
    items = data.get("entities") or []
    if not isinstance(items, list):
        raise AliasFileError(f"{source}: 'entities' must be a list of mappings with 'name', optional 'label' and 'aliases'")
    for i, item in enumerate(items):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or set(item) - {"name", "label", "aliases"}:
            raise AliasFileError(f"{source}: entities[{i}] must be a mapping with 'name' (text), optional 'label' and 'aliases' (list of text)")
        aliases = item.get("aliases") or []
        label = item.get("label")
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases) or not (label is None or isinstance(label, str)):
            raise AliasFileError(f"{source}: entities[{i}] ({item['name']}): 'aliases' must be a list of text and 'label' text")
        keys = {entity_key(text) for text in [item["name"], *aliases]}
        if not entity_key(item["name"]) or "" in keys:
            raise AliasFileError(f"{source}: entities[{i}] ({item['name']!r}): names and aliases need letters or digits")
        ent = AliasEntity(item["name"], label, frozenset(keys))
        for key in keys:
            owner[key] = ent.entity_id
        entities[ent.entity_id] = ent
    separate = data.get("separate") or []
    if not isinstance(separate, list) or not all(isinstance(s, str) and entity_key(s) for s in separate):
        raise AliasFileError(f"{source}: 'separate' must be a list of names")
    return AliasRules(
        entities=tuple(AliasEntity(e.name, e.label, frozenset(k for k in e.keys if owner[k] == eid)) for eid, e in entities.items()),
        separate=frozenset(entity_key(s) for s in separate),
    )


@dataclass(slots=True)
class KeyStats:
    """What the resolver knows of one key: mentions, labels, whether it is written as an
    acronym, and the keys of short forms an article resolved to it ("hts" for "hayat tahrir al
    sham" when an article wrote both)."""

    n_mentions: int = 0
    labels: Counter[str] = field(default_factory=Counter)
    acronym: bool = False
    short_forms: AbstractSet[str] = frozenset()  # shared while empty, as most keys' are: a run holds every key's


def key_stats(mentions: Iterable[tuple[str, str, str]], *, into: dict[str, KeyStats] | None = None) -> dict[str, KeyStats]:
    """Distinct keys of (resolved key, label, text as written) mentions with their counts,
    added to `into` when given (and returned). Each distinct text is keyed once (`entity_key`,
    `is_acronym`), so this is one pass."""
    stats: dict[str, KeyStats] = {} if into is None else into
    seen: dict[str, tuple[str, bool]] = {}
    for key, label, text in mentions:
        s = stats.get(key)
        if s is None:
            s = stats[key] = KeyStats()
        s.n_mentions += 1
        s.labels[label] += 1
        if text not in seen:
            seen[text] = (entity_key(text), is_acronym(text))
        raw, acronym = seen[text]
        if raw != key:
            s.short_forms = s.short_forms | {raw}
        elif acronym:
            s.acronym = True
    return stats


class _UnionFind:
    """Union-find over key indices where a component carries at most one pinned entity id."""

    def __init__(self, n: int, pins: Sequence[str | None]) -> None:
        self.parent = list(range(n))
        self.pin = list(pins)

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> bool:
        """Join the components of a and b unless they are pinned to different ids."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        pa, pb = self.pin[ra], self.pin[rb]
        if pa is not None and pb is not None and pa != pb:
            return False
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.pin[ra] = pa if pa is not None else pb
        return True


def _is_person(s: KeyStats) -> bool:
    return s.labels["PERSON"] >= SURNAME_PERSON_SHARE * s.n_mentions


def _is_mostly(s: KeyStats, label: str) -> bool:
    return s.n_mentions > 0 and s.labels[label] * 2 > s.n_mentions


def resolve_entities(
    stats: Mapping[str, KeyStats],
    *,
    previous: Mapping[str, str] | None = None,
    rules: AliasRules | None = None,
) -> dict[str, str]:
    """Entity id of every key in `stats` (and of every key in `previous` and the alias file).

    `previous` is the key -> entity id map of earlier runs (`entity_keys`): those keys keep
    their ids (an alias-file edit reaches them when `newsetl resolve` replays the lake); keys
    that share an id start joined. `rules` are the user's alias file. Empty input gives an
    empty map.
    """
    previous = previous or {}
    rules = rules or AliasRules()
    fixed = {k: e.entity_id for e in rules.entities for k in e.keys}
    fixed.update({k: entity_id(k) for k in rules.separate})
    keys = sorted(set(stats) | set(previous) | set(fixed))
    index = {k: i for i, k in enumerate(keys)}
    empty = KeyStats()
    st = [stats.get(k, empty) for k in keys]
    uf = _UnionFind(len(keys), [previous.get(k) or fixed.get(k) for k in keys])
    separate = {index[k] for k in rules.separate}

    def join(a: int, b: int) -> None:
        if a not in separate and b not in separate:
            uf.union(a, b)

    # 0. keys an earlier run gave one id are one entity
    first_of: dict[str, int] = {}
    for k, pinned in previous.items():
        if k in index:
            uf.union(first_of.setdefault(pinned, index[k]), index[k])

    # 1. the alias file
    for ent in rules.entities:
        listed = sorted(index[k] for k in ent.keys)
        for other in listed[1:]:
            uf.union(listed[0], other)
    # 2. the same comparison words
    words = [compare_tokens(k) for k in keys]
    by_words: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, w in enumerate(words):
        by_words[w].append(i)
    for group in by_words.values():
        for other in group[1:]:
            join(group[0], other)
    # 2b. a nationality and its plural ("Syrians" and "Syrian")
    for i, k in enumerate(keys):
        j = index.get(k[:-1]) if k.endswith("s") else None
        if j is not None and _is_mostly(st[i], "NORP") and _is_mostly(st[j], "NORP"):
            join(i, j)
    # 3. one misspelt word in a multi-word name: block on the name with that word masked
    masked: dict[tuple[int, tuple[str, ...]], list[int]] = defaultdict(list)
    for i, w in enumerate(words):
        if len(w) >= 2:
            for pos, word in enumerate(w):
                if len(word) >= (TYPO_MIN_LENGTH if pos == len(w) - 1 else FUZZY_MIN_LENGTH) and word.isalpha():
                    masked[(pos, w[:pos] + w[pos + 1 :])].append(i)
    for (pos, _), group in masked.items():
        variants = sorted({words[i][pos] for i in group})
        if len(variants) < 2:
            continue
        distances = cdist(variants, variants, scorer=Levenshtein.distance, score_cutoff=1)
        first: dict[str, int] = {}
        for i in group:
            first.setdefault(words[i][pos], i)
        for a, b in zip(*(distances <= 1).nonzero()):
            if a < b and variants[a][0] == variants[b][0]:
                join(first[variants[a]], first[variants[b]])
    # 4. acronyms: block on initials; join an acronym with its one non-person expansion that
    #    some article wrote it beside (initials alone are too often a coincidence: NHS)
    by_initials: dict[str, set[int]] = defaultdict(set)
    for i, k in enumerate(keys):
        if initials(k) and not _is_person(st[i]) and initials(k) in st[i].short_forms:
            by_initials[initials(k)].add(i)
    for i, k in enumerate(keys):
        if st[i].acronym and len(words[i]) == 1:
            roots = {uf.find(j) for j in by_initials.get(k, ())}
            if len(roots) == 1:
                join(i, roots.pop())
    # 5. a surname (or the end of a name) that ends exactly one person: block on the last word
    #    (a given name alone, "David", "Tom", is no surname)
    persons_by_last: dict[str, list[int]] = defaultdict(list)
    given_names: set[str] = set()
    for i, w in enumerate(words):
        if len(w) >= 2 and st[i].labels["PERSON"] > 0 and _is_person(st[i]):
            persons_by_last[w[-1]].append(i)
            given_names.add(w[0])
    for i, w in enumerate(words):
        if not st[i].n_mentions or not _is_person(st[i]) or st[i].acronym or (len(w) == 1 and w[0] in given_names):
            continue
        longer = [j for j in persons_by_last.get(w[-1], ()) if len(words[j]) > len(w) and words[j][-len(w) :] == w]
        roots = {uf.find(j) for j in longer}
        if len(roots) == 1:
            join(i, roots.pop())

    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(keys)):
        members[uf.find(i)].append(i)
    result: dict[str, str] = {}
    for root, group in members.items():
        eid = uf.pin[root]
        if eid is None:
            canonical = min(group, key=lambda i: (-len(keys[i].split()), -st[i].n_mentions, keys[i]))
            eid = entity_id(keys[canonical])
        for i in group:
            result[keys[i]] = eid
    return result


def resolution_blocks(key: str) -> tuple[str, ...]:
    """The blocks of a key: two keys that `resolve_entities` may join, or whose joining one
    may depend on the other, share a block. The words ("w:"), the key and its singular ("n:",
    nationalities and their plurals), each long word masked ("m:", a typo in it), the initials
    or the acronym itself ("i:"), the last word ("l:", a surname and the persons it ends) and
    the first and last words as given names ("g:", a surname that is someone's first name)."""
    words = compare_tokens(key)
    blocks = {"w:" + " ".join(words), "n:" + key, "l:" + words[-1], "g:" + words[0], "g:" + words[-1]} if words else {"n:" + key}
    if key.endswith("s"):
        blocks.add("n:" + key[:-1])
    if len(words) >= 2:
        for pos, word in enumerate(words):
            if len(word) >= (TYPO_MIN_LENGTH if pos == len(words) - 1 else FUZZY_MIN_LENGTH) and word.isalpha():
                blocks.add(f"m:{pos}:" + " ".join(words[:pos] + ("_",) + words[pos + 1 :]))
    spelt = initials(key) or (key if len(words) == 1 else "")
    if spelt:
        blocks.add("i:" + spelt)
    return tuple(sorted(blocks))


def reaches(block: str, key: str, stats: KeyStats) -> bool:
    """Whether a key sharing `block` with `key` (counts `stats`, summed over runs) may depend on
    it. Every block but initials reaches every key that holds it; an initials block ("i:")
    reaches the acronym itself and the expansions some article wrote a short form beside, the
    only keys rule 4 joins (an expansion joins only if its initials are among its short forms).
    `warehouse/queries/known_keys.sql` applies the same test to the lake's rows."""
    return not block.startswith("i:") or block == "i:" + key or bool(stats.short_forms)


def merge_stats(a: KeyStats, b: KeyStats) -> KeyStats:
    """Both counts of one key (two runs' rows, or the lake's and a run's)."""
    return KeyStats(a.n_mentions + b.n_mentions, a.labels + b.labels, a.acronym or b.acronym, a.short_forms | b.short_forms)


def resolve_run(
    run: Mapping[str, KeyStats],
    known: Mapping[str, tuple[str, KeyStats]],
    *,
    rules: AliasRules | None = None,
) -> dict[str, str]:
    """Entity id of every key of a run's mentions.

    Input: the run's keys with their counts; `known`, key -> (entity id, counts so far) of the
    lake's keys among the run's keys and those sharing a block with them (`resolution_blocks`);
    the alias rules. A known key keeps its id; a new key joins a known entity or starts its own,
    by the rules of `resolve_entities` applied to both sets. Empty input gives {}.
    """
    stats = {k: s for k, (_, s) in known.items()}
    for k, s in run.items():
        stats[k] = merge_stats(stats[k], s) if k in stats else s
    entity_of = resolve_entities(stats, previous={k: eid for k, (eid, _) in known.items()}, rules=rules)
    return {k: entity_of[k] for k in run}


class KeyIndex:
    """The lake's keys in memory, as `entity_keys` holds them: for `replay_runs` and tests.
    `known(keys)` gives what the flow reads from the lake for a run with those keys."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, KeyStats]] = {}
        self.by_block: dict[str, set[str]] = defaultdict(set)

    def known(self, keys: Iterable[str]) -> dict[str, tuple[str, KeyStats]]:
        keys = list(keys)
        wanted = set(keys) | {
            k for key in keys for block in resolution_blocks(key) for k in self.by_block.get(block, ())
            if reaches(block, k, self.entries[k][1])
        }
        return {k: self.entries[k] for k in wanted if k in self.entries}

    def add(self, run: Mapping[str, KeyStats], entity_of: Mapping[str, str]) -> None:
        for k, s in run.items():
            if k in self.entries:
                self.entries[k] = (self.entries[k][0], merge_stats(self.entries[k][1], s))
            else:
                self.entries[k] = (entity_of[k], s)
                for block in resolution_blocks(k):
                    self.by_block[block].add(k)


def replay_runs(runs: Iterable[Mapping[str, KeyStats]], *, rules: AliasRules | None = None) -> dict[str, str]:
    """Re-resolve a history: each run's keys, in run order, against the keys of the runs
    before it, as each run resolved them when it loaded (`resolve_run`). Returns key -> entity
    id for every key; no runs give {}."""
    index = KeyIndex()
    for run in runs:
        index.add(run, resolve_run(run, index.known(run), rules=rules))
    return {k: eid for k, (eid, _) in index.entries.items()}


def alias_names(rules: AliasRules) -> tuple[dict[str, str], dict[str, str]]:
    """Display names and labels the alias file fixes, by entity id."""
    names = {e.entity_id: e.name for e in rules.entities}
    labels = {e.entity_id: e.label for e in rules.entities if e.label}
    return names, labels
