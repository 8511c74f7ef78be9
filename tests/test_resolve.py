"""Cross-document resolution: blocking rules, precision cases, stable ids, the alias file, scores."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.aliases import DEFAULT_ALIASES, load_alias_rules, read_alias_file
from transforms.entities import entity_id, entity_key, is_acronym, resolve_in_document
from transforms.resolve import (
    AliasEntity,
    AliasFileError,
    AliasRules,
    KeyIndex,
    KeyStats,
    key_stats,
    parse_alias_rules,
    replay_runs,
    resolution_blocks,
    resolve_entities,
    resolve_run,
)
from transforms.scoring import bcubed_scores, pairwise_scores


def _stats(*mentions: tuple[str, ...]) -> dict[str, KeyStats]:
    """Stats of mentions given as (surface, label[, key an article resolved it to])."""
    return key_stats((m[2] if len(m) > 2 else entity_key(m[0]), m[1], m[0]) for m in mentions)


def _same(result: dict[str, str], *surfaces: str) -> bool:
    return len({result[entity_key(s)] for s in surfaces}) == 1


def test_spellings_titles_and_particles_of_one_person_resolve_together() -> None:
    result = resolve_entities(_stats(("Recep Tayyip Erdoğan", "PERSON"), ("Mr. Erdogan", "PERSON"), ("Erdogan", "ORG"),
                                     ("Erdogan", "PERSON"), ("Bashar al-Assad", "PERSON"), ("Bashar Assad", "PERSON")))
    assert _same(result, "Recep Tayyip Erdoğan", "Mr. Erdogan", "Erdogan")
    assert _same(result, "Bashar al-Assad", "Bashar Assad")
    assert not _same(result, "Erdogan", "Bashar Assad")


def test_two_people_who_share_a_name_are_never_merged() -> None:
    result = resolve_entities(_stats(("Bashar al-Assad", "PERSON"), ("Hafez al-Assad", "PERSON"), ("Assad", "PERSON"),
                                     ("Vladimir Putin", "PERSON"), ("Vladimir Smirnov", "PERSON"),
                                     ("Dareen Khalifa", "PERSON"), ("Khalifa Haftar", "PERSON")))
    assert len(set(result.values())) == 7, "an ambiguous surname stays on its own"


def test_a_typo_in_one_long_word_of_a_name_is_forgiven_but_not_in_short_words() -> None:
    result = resolve_entities(_stats(("Alexei Khlebnikov", "PERSON"), ("Alexei Khlebkikov", "PERSON"),
                                     ("Silvia Farina", "PERSON"), ("Sylvia Farina", "PERSON"),
                                     ("Kim Jong-un", "PERSON"), ("Kim Jong-il", "PERSON"), ("John Kerry", "PERSON"), ("John Terry", "PERSON"),
                                     ("David Davis", "PERSON"), ("David Davies", "PERSON"), ("Austria", "GPE"), ("Australia", "GPE")))
    assert _same(result, "Alexei Khlebnikov", "Alexei Khlebkikov") and _same(result, "Silvia Farina", "Sylvia Farina")
    assert not _same(result, "Kim Jong-un", "Kim Jong-il")
    assert not _same(result, "John Kerry", "John Terry") and not _same(result, "David Davis", "David Davies")
    assert not _same(result, "Austria", "Australia")


def test_an_acronym_joins_the_one_expansion_an_article_wrote_it_beside() -> None:
    # one article wrote "Hayat Tahrir Al Sham (HTS)" (resolved there), others only "HTS"
    result = resolve_entities(_stats(("Hayat Tahrir Al Sham", "ORG"), ("HTS", "ORG", "hayat tahrir al sham"), ("HTS", "ORG"),
                                     ("Government of National Accord", "ORG"), ("GNA", "ORG"), ("Gna", "PERSON")))
    assert _same(result, "Hayat Tahrir Al Sham", "HTS")
    assert not _same(result, "Government of National Accord", "GNA"), "matching initials alone are a coincidence (NHS)"
    two = resolve_entities(_stats(("Hayat Tahrir Al Sham", "ORG"), ("HTS", "ORG", "hayat tahrir al sham"), ("Hollywood Tennis Society", "ORG"),
                                  ("HTS", "ORG", "hollywood tennis society"), ("HTS", "ORG")))
    assert not _same(result, "Hayat Tahrir Al Sham", "Gna")
    assert len(set(two.values())) == 3, "two expansions: the acronym is not guessed"


def test_a_given_name_alone_is_no_surname() -> None:
    result = resolve_entities(_stats(("David Frost", "PERSON"), ("David", "PERSON"), ("Craig David", "PERSON")))
    assert not _same(result, "David", "Craig David") and not _same(result, "David", "David Frost")


def test_a_surname_that_is_mostly_a_place_does_not_join_a_person() -> None:
    result = resolve_entities(_stats(("George Washington", "PERSON"), ("Washington", "GPE"), ("Washington", "GPE")))
    assert not _same(result, "George Washington", "Washington")


def test_nationalities_join_their_plural() -> None:
    result = resolve_entities(_stats(("Syrian", "NORP"), ("Syrians", "NORP"), ("Sochi", "GPE"), ("Sochis", "ORG")))
    assert _same(result, "Syrian", "Syrians") and not _same(result, "Sochi", "Sochis")


def test_new_entities_take_the_id_of_their_canonical_key_in_any_order() -> None:
    mentions = [("Vladimir Putin", "PERSON"), ("Putin", "PERSON"), ("Russia", "GPE")]
    forward, backward = resolve_entities(_stats(*mentions)), resolve_entities(_stats(*reversed(mentions)))
    assert forward == backward
    assert forward["putin"] == forward["vladimir putin"] == entity_id("vladimir putin")


def test_ids_of_earlier_runs_never_change_and_new_names_join_them() -> None:
    run1 = [("Erdogan", "PERSON"), ("Assad", "PERSON"), ("Bashar al-Assad", "PERSON")]
    first = resolve_entities(_stats(*run1))
    assert first["erdogan"] == entity_id("erdogan")
    # the flow resolves all loaded mentions each run, earlier ones included
    second = resolve_entities(
        _stats(*run1, ("Recep Tayyip Erdogan", "PERSON"), ("Erdogan", "PERSON"), ("Hafez al-Assad", "PERSON"), ("Assad", "PERSON")),
        previous=first,
    )
    assert {k: second[k] for k in first} == first
    assert second["recep tayyip erdogan"] == first["erdogan"], "the full name joins the entity that was already there"
    assert second["hafez al assad"] != first["bashar al assad"]


def test_two_existing_entities_are_not_merged_by_a_new_bridging_name() -> None:
    previous = {"putin": "e-putin", "vladimir putin": "e-vp"}
    result = resolve_entities(_stats(("Putin", "PERSON"), ("Vladimir Putin", "PERSON")), previous=previous)
    assert result == previous


def test_the_alias_file_merges_and_splits_and_an_earlier_runs_id_stays_until_a_replay() -> None:
    rules = parse_alias_rules({"entities": [{"name": "United States", "label": "GPE", "aliases": ["US", "U.S.", "America"]}],
                               "separate": ["Assad"]})
    stats = _stats(("US", "GPE"), ("the U.S.", "GPE"), ("United States", "GPE"), ("America", "LOC"),
                   ("Bashar al-Assad", "PERSON"), ("Assad", "PERSON"))
    result = resolve_entities(stats, rules=rules)
    assert {result[k] for k in ("us", "united states", "america")} == {entity_id("united states")}
    assert result["assad"] == entity_id("assad") != result["bashar al assad"]
    # a key an earlier run resolved keeps its entity (`newsetl resolve` replays the lake with the file)
    assert resolve_entities(stats, previous={"us": "e-us"}, rules=rules)["us"] == "e-us"
    assert replay_runs([stats], rules=rules)["us"] == entity_id("united states")


def test_parse_alias_rules_accepts_the_documented_shape_and_an_empty_file() -> None:
    assert parse_alias_rules(None) == AliasRules()
    rules = parse_alias_rules({"entities": [{"name": "EU", "aliases": ["European Union"]}, {"name": "Europe", "aliases": ["EU"]}]})
    assert [(e.name, sorted(e.keys)) for e in rules.entities] == [("EU", ["european union"]), ("Europe", ["eu", "europe"])]


@pytest.mark.parametrize(
    "data",
    [
        ["US"],
        {"entity": []},
        {"entities": "nope"},
        {"entities": [{"aliases": ["US"]}]},
        {"entities": [{"name": "US", "aliases": "U.S."}]},
        {"entities": [{"name": "US", "label": 3}]},
        {"entities": [{"name": "US", "aliases": ["..."]}]},
        {"entities": [{"name": "US", "alias": ["U.S."]}]},
        {"separate": "Assad"},
        {"separate": ["..."]},
    ],
)
def test_a_malformed_alias_file_says_what_to_fix(data: object) -> None:
    with pytest.raises(AliasFileError, match="alias file"):
        parse_alias_rules(data)


def test_a_later_alias_file_overrides_an_earlier_one() -> None:
    default = AliasRules(entities=(AliasEntity("United Kingdom", "GPE", frozenset({"uk", "britain", "united kingdom"})),))
    user = parse_alias_rules({"entities": [{"name": "Great Britain", "aliases": ["Britain"]}], "separate": ["UK"]})
    both = default + user
    assert [(e.name, sorted(e.keys)) for e in both.entities] == [("United Kingdom", ["united kingdom"]), ("Great Britain", ["britain", "great britain"])]
    assert both.separate == {"uk"}


def test_the_default_alias_file_covers_the_country_acronyms() -> None:
    rules = read_alias_file(DEFAULT_ALIASES)
    result = resolve_entities(_stats(("US", "GPE"), ("U.S.", "GPE"), ("United States", "GPE"), ("UN", "ORG"), ("U.N.", "ORG"), ("UK", "GPE"),
                                     ("University of St Andrews", "ORG")), rules=rules)
    assert not _same(result, "USA", "University of St Andrews")
    assert _same(result, "US", "U.S.", "United States") and _same(result, "UN", "U.N.") and not _same(result, "US", "UN")


def test_alias_files_are_read_from_the_data_dir_or_the_setting(tmp_path: Path) -> None:
    assert load_alias_rules(tmp_path, None) == read_alias_file(DEFAULT_ALIASES)
    (tmp_path / "aliases.yaml").write_text("separate: [Assad]\n", encoding="utf-8")
    assert load_alias_rules(tmp_path, None).separate == {"assad"}
    with pytest.raises(AliasFileError, match="does not exist"):
        load_alias_rules(tmp_path, tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("entities: [unclosed\n", encoding="utf-8")
    with pytest.raises(AliasFileError, match="cannot read"):
        load_alias_rules(tmp_path, bad)


def test_resolve_in_document_handles_ends_of_names_typos_and_acronyms() -> None:
    mentions = [("recep tayyip erdogan", "PERSON"), ("tayyip erdogan", "PERSON"), ("alexei khlebkikov", "PERSON"),
                ("khlebnikov", "PERSON"), ("hayat tahrir al sham", "ORG"), ("hts", "ORG"), ("samer khlioui", "PERSON"), ("khlioui", "GPE")]
    assert resolve_in_document(mentions, acronyms=[False, False, False, False, False, True, False, False]) == [
        "recep tayyip erdogan", "recep tayyip erdogan", "alexei khlebkikov", "alexei khlebkikov",
        "hayat tahrir al sham", "hayat tahrir al sham", "samer khlioui", "samer khlioui"]
    assert resolve_in_document([("northwest syria", "ORG"), ("syria", "GPE"), ("hts", "ORG")]) == ["northwest syria", "syria", "hts"]


def test_is_acronym() -> None:
    assert [is_acronym(t) for t in ("HTS", "U.N.", "NATO", "Nato", "A", "ABCDEFG", "F-35")] == [True, True, True, False, False, False, False]


def test_scores_on_a_hand_worked_example() -> None:
    gold = ["a", "a", "a", "b", "b"]
    predicted = [1, 1, 2, 3, 3]
    pairwise = pairwise_scores(gold, predicted)
    assert (pairwise.precision, pairwise.recall) == (1.0, 0.5)  # 2 of 2 claimed pairs right; 2 of 4 gold pairs found
    bcubed = bcubed_scores(gold, predicted)
    assert bcubed.precision == 1.0 and bcubed.recall == pytest.approx((2 / 3 * 2 + 1 / 3 + 1 + 1) / 5)
    assert pairwise_scores([], []).f1 == 1.0 and bcubed_scores([], []).f1 == 1.0
    with pytest.raises(ValueError, match="same items"):
        pairwise_scores(["a"], [])
    with pytest.raises(ValueError, match="same items"):
        bcubed_scores(["a"], [])


names = st.sampled_from(["Putin", "Vladimir Putin", "Erdogan", "Recep Tayyip Erdogan", "Assad", "Bashar al-Assad",
                         "Hafez al-Assad", "HTS", "Hayat Tahrir Al Sham", "US", "United States", "Russia"])


@given(st.lists(st.tuples(names, st.sampled_from(["PERSON", "ORG", "GPE"])), max_size=30),
       st.lists(st.tuples(names, st.sampled_from(["PERSON", "ORG", "GPE"])), max_size=30))
def test_resolution_covers_every_key_and_keeps_earlier_ids(first: list[tuple[str, str]], later: list[tuple[str, str]]) -> None:
    one = resolve_entities(_stats(*first))
    assert set(one) == {entity_key(s) for s, _ in first}
    two = resolve_entities(_stats(*first, *later), previous=one)
    assert {k: two[k] for k in one} == one
    assert Counter(one.values()) or not first


# --- incremental resolution: a run's keys against the lake's ---------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("bashar al assad", "bashar assad"),  # the same words
        ("syrians", "syrian"),  # a nationality and its plural
        ("alexei khlebkikov", "alexei khlebnikov"),  # a typo in a long surname
        ("hts", "hayat tahrir al sham"),  # an acronym and its expansion
        ("putin", "vladimir putin"),  # a surname and the person it ends
        ("david", "david smith"),  # a given name (no surname of its own)
        ("john david", "david smith"),  # whether "david" is a surname depends on "david smith"
    ],
)
def test_keys_one_rule_may_join_share_a_block(a: str, b: str) -> None:
    assert set(resolution_blocks(a)) & set(resolution_blocks(b))


def test_unrelated_keys_share_no_block() -> None:
    assert not set(resolution_blocks("vladimir putin")) & set(resolution_blocks("idlib"))


def _history(*runs: dict[str, KeyStats]) -> list[dict[str, str]]:
    """Each run resolved in turn against the keys of the runs before it (as the flow does, with
    the lake's rows read by block); the ids after each run."""
    index, after = KeyIndex(), []
    for run in runs:
        index.add(run, resolve_run(run, index.known(run)))
        after.append({k: eid for k, (eid, _) in index.entries.items()})
    return after


def test_a_key_first_seen_in_a_later_run_joins_the_entity_it_names_and_ids_stay() -> None:
    first, second = _history(_stats(("Vladimir Putin", "PERSON"), ("Idlib", "GPE")),
                             _stats(("Putin", "PERSON"), ("Mr Putin", "PERSON"), ("Recep Tayyip Erdogan", "PERSON")))
    assert second["putin"] == first["vladimir putin"] == entity_id("vladimir putin")
    assert {k: second[k] for k in first} == first
    assert second["recep tayyip erdogan"] == entity_id("recep tayyip erdogan")


def test_a_run_into_an_empty_lake_resolves_as_all_its_keys_at_once() -> None:
    stats = _stats(("Vladimir Putin", "PERSON"), ("Putin", "PERSON"), ("Hayat Tahrir al-Sham", "ORG"), ("HTS", "ORG"), ("Syrians", "NORP"), ("Syrian", "NORP"))
    assert resolve_run(stats, {}) == resolve_entities(stats)


def test_keys_that_share_an_entity_count_as_one_when_a_surname_is_resolved() -> None:
    # "smith" ends one person only: John Smith, written two ways in earlier runs (one entity)
    known = {"john smith": ("e-smith", KeyStats(3, Counter(PERSON=3))), "jon smith": ("e-smith", KeyStats(1, Counter(PERSON=1)))}
    assert resolve_run(_stats(("Smith", "PERSON")), known) == {"smith": "e-smith"}


def test_a_replay_gives_the_ids_of_the_history_it_replays() -> None:
    runs = [_stats(("Vladimir Putin", "PERSON"), ("Erdogan", "PERSON")), _stats(("Putin", "PERSON"), ("Recep Tayyip Erdogan", "PERSON")),
            _stats(("HTS", "ORG"), ("Hayat Tahrir al-Sham", "ORG"), ("Erdogan", "PERSON"))]
    assert replay_runs(runs) == _history(*runs)[-1]


def test_an_initials_block_reaches_the_acronym_and_only_the_expansions_written_beside_one() -> None:
    # three names with the initials "hts": one an article wrote beside "HTS", two it never did
    index = KeyIndex()
    first = {
        "hayat tahrir al sham": KeyStats(2, Counter(ORG=2), short_forms={"hts"}),
        "harry t smith": KeyStats(1, Counter(PERSON=1)),
        "hull trades society": KeyStats(1, Counter(ORG=1)),
    }
    index.add(first, resolve_run(first, {}))
    assert set(index.known(_stats(("HTS", "ORG")))) == {"hayat tahrir al sham"}
    index.add(_stats(("HTS", "ORG")), resolve_run(_stats(("HTS", "ORG")), index.known(_stats(("HTS", "ORG")))))
    assert index.entries["hts"][0] == index.entries["hayat tahrir al sham"][0]
    # a later expansion finds the acronym, not the other names that share its initials
    assert set(index.known({"hanover tennis school": KeyStats(1, Counter(ORG=1))})) == {"hts", "hayat tahrir al sham"}
