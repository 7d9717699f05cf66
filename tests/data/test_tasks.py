"""Built-in tasks: determinism, gold alignments, length coverage, split hygiene, argument errors."""
from __future__ import annotations

import datetime
import functools
import random
import re

import pytest
from babel.dates import get_month_names

from attn.data.pairs import ParallelData
from attn.data.tasks import TASKS, get_task, load_task, toy_fr
from attn.data.tasks.dates import LOCALES
from attn.data.tasks.reverse import ALPHABET
from attn.data.text import tokenize_chars, tokenize_words
from tests.data.pairs_of import all_pairs, links_of

NAMES = sorted(TASKS)


@functools.lru_cache(maxsize=None)
def small(name: str, seed: int = 0, min_len: int | None = None, max_len: int | None = None,
          **options) -> ParallelData:
    """A few hundred pairs; cached because several tests read the same data."""
    return load_task(name, n_train=1200, n_valid=100, n_test=200, seed=seed,
                     min_len=min_len, max_len=max_len, **options)


# --- registry and loader --------------------------------------------------------------------------

def test_toy_fr_is_registered_with_its_documented_lengths():
    spec = get_task("toy-fr")
    assert (spec.level, spec.default_min_len, spec.default_max_len, spec.limits) == ("word", 3, 50, (3, 60))


@pytest.mark.parametrize("name", NAMES)
def test_task_defaults_lie_within_the_task_limits(name):
    spec = TASKS[name]
    assert spec.limits[0] <= spec.default_min_len <= spec.default_max_len <= spec.limits[1]
    assert spec.level in ("word", "char") and spec.description


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_gives_identical_data(name):
    a = load_task(name, n_train=200, n_valid=20, n_test=20, seed=7)
    b = load_task(name, n_train=200, n_valid=20, n_test=20, seed=7)
    assert (a.train, a.valid, a.test) == (b.train, b.valid, b.test)


@pytest.mark.parametrize("name", NAMES)
def test_different_seeds_give_different_data(name):
    assert small(name, seed=0).train != small(name, seed=1).train


@pytest.mark.parametrize("name", NAMES)
def test_split_sizes_match_the_request_and_level_matches_the_spec(name):
    data = small(name)
    assert (len(data.train), len(data.valid), len(data.test)) == (1200, 100, 200)
    assert data.level == TASKS[name].level and data.name == name and data.has_gold


@pytest.mark.parametrize("name", NAMES)
def test_no_source_appears_twice_or_in_two_splits(name):
    sources = [p.src for p in all_pairs(small(name))]
    assert len(sources) == len(set(sources))


@pytest.mark.parametrize("name", NAMES)
def test_generation_does_not_touch_the_global_random_state(name):
    random.seed(123)
    before = random.getstate()
    load_task(name, n_train=50, n_valid=5, n_test=5)
    assert random.getstate() == before


# --- lengths --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,lo,hi", [("toy-fr", None, None), ("toy-fr", 10, 20), ("toy-fr", 40, 60),
                                        ("reverse", None, None), ("reverse", 1, 100),
                                        ("dates", None, None), ("dates", 6, 60), ("dates", 30, 45)])
def test_source_lengths_stay_in_range_and_fill_both_end_quarters(name, lo, hi):
    data = small(name, min_len=lo, max_len=hi)
    lo, hi = data.report["min_len"], data.report["max_len"]
    lengths = [len(p.src) for p in all_pairs(data)]
    assert lo <= min(lengths) and max(lengths) <= hi
    quarter = max(1, (hi - lo + 1) // 4)
    assert any(n < lo + quarter for n in lengths), "shortest quarter is empty"
    assert any(n > hi - quarter for n in lengths), "longest quarter is empty"


def test_one_length_bound_alone_moves_the_other_default_out_of_its_way():
    data = load_task("reverse", n_train=20, n_valid=2, n_test=2, max_len=2)
    assert data.report["min_len"] == 2 and {len(p.src) for p in all_pairs(data)} == {2}


# --- gold alignments ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_gold_alignment_indices_are_in_range(name):
    for pair in all_pairs(small(name)):
        assert pair.align, pair
        assert all(0 <= t < len(pair.tgt) and 0 <= s < len(pair.src) for t, s in pair.align), pair


@pytest.mark.parametrize("name", ["toy-fr", "reverse"])
def test_every_target_token_has_a_gold_link(name):
    for pair in all_pairs(small(name)):
        assert set(links_of(pair)) == set(range(len(pair.tgt))), pair


def test_every_date_digit_has_a_gold_link_and_dashes_have_none():
    for pair in all_pairs(small("dates")):
        linked = set(links_of(pair))
        assert linked == {i for i, ch in enumerate(pair.tgt) if ch.isdigit()}, pair


def test_reverse_alignment_is_the_anti_diagonal():
    for pair in all_pairs(small("reverse")):
        n = len(pair.src)
        assert pair.tgt == pair.src[::-1]
        assert pair.align == frozenset((i, n - 1 - i) for i in range(n))


# --- toy-fr ---------------------------------------------------------------------------------------

def test_toy_fr_tokens_are_stable_under_tokenize_words():
    for pair in all_pairs(small("toy-fr")):
        assert tokenize_words(" ".join(pair.src)) == list(pair.src)
        assert tokenize_words(" ".join(pair.tgt)) == list(pair.tgt)


def test_toy_fr_the_cat_sat_on_the_mat_is_translated_with_split_elided_tokens():
    pairs = {" ".join(p.src): p for p in all_pairs(load_task("toy-fr", n_train=3000, n_valid=1,
                                                                 n_test=1, min_len=3, max_len=7))}
    sat = [p for text, p in pairs.items() if " sat " in text]
    assert sat, "no sentence with 'sat'"
    for pair in sat:  # "s'" "est" "assis" (or se sont assis/assises) all point at "sat"
        i = pair.src.index("sat")
        at_sat = [pair.tgt[t] for t, s in sorted(pair.align) if s == i]
        assert at_sat[0] in ("s'", "se") and at_sat[-1].startswith("assis"), (pair, at_sat)


def test_toy_fr_has_an_adjective_after_its_noun_with_crossing_links():
    post = {a[0] for a in toy_fr.ADJECTIVES if a[5] == "post"}
    found = 0
    for pair in all_pairs(small("toy-fr")):
        by_src = {}
        for t, s in pair.align:
            by_src.setdefault(s, []).append(t)
        for s, word in enumerate(pair.src[:-1]):
            if word in post:  # english "black cat": adjective at s, noun at s + 1
                adj_t, noun_t = by_src[s], by_src[s + 1]
                assert max(noun_t) < min(adj_t), (pair, word)  # french "chat noir": crossing
                found += 1
    assert found > 50


def test_toy_fr_adjectives_agree_in_gender_and_number():
    words = {w for p in all_pairs(small("toy-fr")) for w in p.tgt}
    assert {"noir", "noire", "noirs", "noires"} <= words


def test_toy_fr_has_contractions_aligned_to_two_source_tokens():
    seen = set()
    for pair in all_pairs(small("toy-fr")):
        for t, sources in links_of(pair).items():
            if pair.tgt[t] in ("du", "au", "des", "aux"):
                english = sorted(pair.src[s] for s in sources)
                assert len(sources) == 2 and "the" in english, (pair, t)
                seen.add(pair.tgt[t])
    assert {"du", "au", "des"} <= seen


def test_toy_fr_each_english_sentence_has_exactly_one_translation():
    rng, seen = random.Random(3), {}
    for _ in range(20000):
        pair = toy_fr.generate(rng, 3, 9)  # short sentences repeat often, so clashes would show
        assert seen.setdefault(pair.src, pair.tgt) == pair.tgt, (pair.src, seen[pair.src], pair.tgt)


def test_toy_fr_vocabulary_stays_small():
    data = small("toy-fr")
    src = {w for p in all_pairs(data) for w in p.src}
    tgt = {w for p in all_pairs(data) for w in p.tgt}
    assert len(src) < 200 and len(tgt) < 300
    assert 25 <= len(toy_fr.NOUNS) <= 35 and 10 <= len(toy_fr.ADJECTIVES) <= 15
    assert 15 <= len(toy_fr.VERBS) <= 20


# --- reverse --------------------------------------------------------------------------------------

def test_reverse_uses_only_the_first_n_symbols_of_the_alphabet():
    symbols = {tok for p in all_pairs(small("reverse", n_symbols=5)) for tok in p.src}
    assert symbols == set("abcde")
    assert ALPHABET == "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@pytest.mark.parametrize("value", [1, 63, "ten"])
def test_reverse_rejects_n_symbols_outside_2_to_62(value):
    with pytest.raises(ValueError, match=r"n_symbols.*2\.\.62"):
        load_task("reverse", n_train=10, n_valid=1, n_test=1, n_symbols=value)


def test_too_few_distinct_sources_for_the_requested_counts_raises():
    with pytest.raises(ValueError, match="distinct sources"):
        load_task("reverse", n_train=100, n_valid=10, n_test=10, min_len=1, max_len=3, n_symbols=2)


# --- dates ----------------------------------------------------------------------------------------

def test_dates_targets_parse_as_iso_dates_between_1950_and_2050():
    for pair in all_pairs(small("dates")):
        day = datetime.date.fromisoformat("".join(pair.tgt))
        assert 1950 <= day.year <= 2050 and len(pair.tgt) == 10


def test_dates_sources_are_single_nfc_characters():
    for pair in all_pairs(small("dates")):
        assert tokenize_chars("".join(pair.src)) == list(pair.src)


def test_dates_sources_use_babel_month_names_of_at_least_four_languages():
    wide = {loc: {n.lower() for n in get_month_names("wide", "format", loc).values()} for loc in LOCALES}
    text = "\n".join("".join(p.src).lower() for p in all_pairs(small("dates")))
    found = set()
    for loc in LOCALES:
        own = wide[loc] - set().union(*(wide[o] for o in LOCALES if o != loc))
        if any(re.search(rf"\b{re.escape(name)}\b", text) for name in own):
            found.add(loc)
    assert len(found) >= 4, found


def test_dates_one_to_one_links_join_equal_digits():
    """Where two target digits link to two different source characters, those are the same digits."""
    for pair in all_pairs(small("dates")):
        links = links_of(pair)
        for a, b in ((0, 1), (2, 3), (5, 6), (8, 9)):
            la, lb = links[a], links[b]
            if len(la) == len(lb) == 1 and la != lb:
                assert (pair.src[min(la)], pair.src[min(lb)]) == (pair.tgt[a], pair.tgt[b]), pair


def test_dates_month_names_link_every_character_of_the_name():
    months = {n.lower() for loc in LOCALES for width in ("wide", "abbreviated")
              for n in get_month_names(width, "format", loc).values()}
    named = 0
    for pair in all_pairs(small("dates")):
        month_links = links_of(pair)[5]
        if len(month_links) > 1:  # a name, not one or two digits
            linked = "".join(pair.src[s] for s in sorted(month_links)).lower()
            assert linked in months
            assert sorted(month_links) == list(range(min(month_links), max(month_links) + 1))
            named += 1
    assert named > 100


# --- argument errors ------------------------------------------------------------------------------

def test_unknown_task_lists_the_valid_names():
    with pytest.raises(ValueError) as err:
        load_task("no-such-task")
    for name in NAMES:
        assert name in str(err.value)


@pytest.mark.parametrize("kwargs,field,value", [
    ({"min_len": 2}, "min_len", "2"), ({"max_len": 61}, "max_len", "61"),
    ({"min_len": 0, "max_len": 10}, "min_len", "0"), ({"min_len": 20, "max_len": 10}, "min_len", "20"),
    ({"n_train": 0}, "n_train", "0"), ({"n_test": -1}, "n_test", "-1"),
])
def test_bad_arguments_raise_value_error_naming_field_value_and_range(kwargs, field, value):
    with pytest.raises(ValueError) as err:
        load_task("toy-fr", **kwargs)
    message = str(err.value)
    assert field in message and value in message
    if "len" in field:
        assert "3" in message and "60" in message


def test_unknown_option_is_rejected_with_the_allowed_options():
    with pytest.raises(ValueError, match="n_symbols"):
        load_task("reverse", n_train=10, n_valid=1, n_test=1, symbols=4)
    with pytest.raises(ValueError, match="no option"):
        load_task("toy-fr", n_train=10, n_valid=1, n_test=1, n_symbols=4)


def test_natural_length_distribution_favours_short_sentences_but_keeps_long_ones():
    from attn.data.tasks import load_task
    data = load_task("toy-fr", n_train=3000, n_valid=10, n_test=10, min_len=3, max_len=40, length_dist="natural")
    lengths = [len(p.src) for p in data.train]
    short = sum(n <= 10 for n in lengths)
    long = sum(n >= 31 for n in lengths)
    assert short > 2 * long > 0
    assert data.report["length_dist"] == "natural"


def test_unknown_length_distribution_is_refused_with_the_choices():
    import pytest
    from attn.data.tasks import load_task
    with pytest.raises(ValueError, match="uniform, natural"):
        load_task("reverse", n_train=10, n_valid=2, n_test=2, length_dist="zipf")
