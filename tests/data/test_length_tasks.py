"""Length-generalisation tasks (copy, sort, addition) and separate train/test length ranges."""
from __future__ import annotations

import functools
import hashlib
import json

import pytest

from attn.config import PRESETS, ConfigError, DataConfig, RunConfig, limits, replace
from attn.data.load import load_data
from attn.data.pairs import ParallelData
from attn.data.tasks import addition, get_task, load_task, sort
from tests.data.pairs_of import all_pairs, links_of

NEW_TASKS = ("copy", "sort", "addition")


@functools.lru_cache(maxsize=None)
def small(name: str, seed: int = 0, **kwargs) -> ParallelData:
    """A few hundred pairs; cached because several tests read the same data."""
    return load_task(name, n_train=800, n_valid=100, n_test=200, seed=seed, **kwargs)


def fingerprint(data: ParallelData) -> str:
    splits = [[[list(p.src), list(p.tgt), sorted(p.align)] for p in split]
              for split in (data.train, data.valid, data.test)]
    return hashlib.sha256(json.dumps(splits).encode()).hexdigest()


def operands(pair) -> tuple[str, str]:
    plus = pair.src.index("+")
    return "".join(pair.src[:plus]), "".join(pair.src[plus + 1:])


# --- registry -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NEW_TASKS)
def test_new_task_is_registered_with_a_description_and_defaults_inside_its_limits(name):
    spec = get_task(name)
    assert spec.level == "word" and spec.description.endswith(".")
    assert spec.limits[0] <= spec.default_min_len <= spec.default_max_len <= spec.limits[1]


@pytest.mark.parametrize("name", NEW_TASKS)
def test_new_task_is_deterministic_per_seed_and_differs_across_seeds(name):
    kwargs = {"min_len": 3, "max_len": 8, "test_min_len": 9, "test_max_len": 14}
    first = load_task(name, n_train=300, n_valid=30, n_test=60, seed=4, **kwargs)
    again = load_task(name, n_train=300, n_valid=30, n_test=60, seed=4, **kwargs)
    other = load_task(name, n_train=300, n_valid=30, n_test=60, seed=5, **kwargs)
    assert fingerprint(again) == fingerprint(first)
    assert other.train != first.train and other.test != first.test


@pytest.mark.parametrize("name,lo,hi", [(n, lo, hi) for n in NEW_TASKS for lo, hi in ((None, None), (3, 5),
                                                                                      (30, 60))])
def test_new_task_source_lengths_stay_in_range_and_reach_both_ends(name, lo, hi):
    data = small(name, min_len=lo, max_len=hi)
    lo, hi = data.report["min_len"], data.report["max_len"]
    lengths = {len(p.src) for p in all_pairs(data)}
    assert lo <= min(lengths) and max(lengths) <= hi
    assert lo in lengths and hi in lengths


@pytest.mark.parametrize("name", NEW_TASKS)
def test_new_task_gold_links_point_inside_both_sequences(name):
    for pair in all_pairs(small(name)):
        assert pair.align, pair
        assert all(0 <= t < len(pair.tgt) and 0 <= s < len(pair.src) for t, s in pair.align), pair


# --- copy -----------------------------------------------------------------------------------------

def test_copy_target_is_the_source_and_its_alignment_the_diagonal():
    for pair in all_pairs(small("copy")):
        assert pair.tgt == pair.src
        assert pair.align == frozenset((i, i) for i in range(len(pair.src)))


def test_copy_uses_only_the_first_n_symbols():
    assert {tok for p in all_pairs(small("copy", n_symbols=3)) for tok in p.src} == set("abc")


# --- sort -----------------------------------------------------------------------------------------

def test_sort_target_is_the_source_numbers_in_ascending_numeric_order():
    for pair in all_pairs(small("sort")):
        assert [int(x) for x in pair.tgt] == sorted(int(x) for x in pair.src), pair


def test_sort_links_each_target_to_one_source_holding_the_same_number_each_source_once():
    for pair in all_pairs(small("sort")):
        links = links_of(pair)
        assert set(links) == set(range(len(pair.tgt))) and all(len(s) == 1 for s in links.values()), pair
        sources = [min(links[t]) for t in range(len(pair.tgt))]
        assert sorted(sources) == list(range(len(pair.src))), pair
        assert all(pair.tgt[t] == pair.src[s] for t, s in enumerate(sources)), pair


def test_sort_resolves_equal_numbers_by_source_order():
    ties = 0
    for pair in all_pairs(small("sort", n_symbols=5)):
        links = links_of(pair)
        for t in range(len(pair.tgt) - 1):
            if pair.tgt[t] == pair.tgt[t + 1]:
                assert min(links[t]) < min(links[t + 1]), pair
                ties += 1
    assert ties > 100


def test_sort_docstring_example():
    pair = sort.pair_of([7, 3, 12, 3])
    assert pair.tgt == ("3", "3", "7", "12")
    assert pair.align == frozenset({(0, 1), (1, 3), (2, 0), (3, 2)})


@pytest.mark.parametrize("value", [1, 1001, "ten", True])
def test_sort_rejects_n_symbols_outside_2_to_1000(value):
    with pytest.raises(ValueError, match=r"n_symbols.*2\.\.1000"):
        load_task("sort", n_train=10, n_valid=1, n_test=1, n_symbols=value)


# --- addition -------------------------------------------------------------------------------------

def test_addition_target_is_the_integer_sum_without_leading_zeros():
    for pair in all_pairs(small("addition", min_len=3, max_len=60)):
        left, right = operands(pair)
        for digits in (left, right, "".join(pair.tgt)):
            assert digits.isdigit() and (digits == "0" or not digits.startswith("0")), pair
        assert int("".join(pair.tgt)) == int(left) + int(right), pair
        assert pair.src.count("+") == 1 and all(len(tok) == 1 for tok in pair.src + pair.tgt)


def test_addition_links_join_digits_of_the_same_place_value_and_only_those():
    for pair in all_pairs(small("addition")):
        left, right = operands(pair)
        place_of_src = {i: len(left) - 1 - i for i in range(len(left))}
        place_of_src |= {len(left) + 1 + i: len(right) - 1 - i for i in range(len(right))}
        for t, s in pair.align:
            assert s in place_of_src, (pair, s)  # never the "+"
            assert place_of_src[s] == len(pair.tgt) - 1 - t, (pair, t, s)
        for t in range(len(pair.tgt)):  # each operand that has the place contributes its digit
            place = len(pair.tgt) - 1 - t
            expected = (place < len(left)) + (place < len(right))
            assert len(links_of(pair).get(t, ())) == expected, (pair, t)


def test_addition_has_carries_out_and_operands_of_unequal_lengths():
    pairs = all_pairs(small("addition"))
    carried = [p for p in pairs if len(p.tgt) > max(map(len, operands(p)))]
    assert carried and all(0 not in links_of(p) for p in carried)  # the final carry has no link
    assert any(len(operands(p)[0]) > len(operands(p)[1]) for p in pairs)
    assert any(len(operands(p)[0]) < len(operands(p)[1]) for p in pairs)


def test_addition_docstring_example():
    pair = addition.pair_of(347, 58)
    assert pair.src == tuple("347+58") and pair.tgt == ("4", "0", "5")
    assert pair.align == frozenset({(0, 0), (1, 1), (1, 4), (2, 2), (2, 5)})
    assert addition.pair_of(9, 9).align == frozenset({(1, 0), (1, 2)})


def test_addition_rejects_lengths_below_three_tokens():
    with pytest.raises(ValueError, match=r"min_len = 2 .*3\.\.100"):
        load_task("addition", n_train=10, n_valid=1, n_test=1, min_len=2)


# --- train short, test long: load_task ------------------------------------------------------------

@pytest.mark.parametrize("name", ["copy", "sort", "addition", "reverse", "toy-fr"])
@pytest.mark.parametrize("dist", ["uniform", "natural"])
def test_train_and_valid_stay_in_the_training_range_and_test_in_the_test_range(name, dist):
    data = load_task(name, n_train=600, n_valid=50, n_test=150, min_len=4, max_len=10,
                     test_min_len=11, test_max_len=25, length_dist=dist)
    assert all(4 <= len(p.src) <= 10 for p in data.train + data.valid)
    test_lengths = {len(p.src) for p in data.test}
    assert min(test_lengths) >= 11 and max(test_lengths) <= 25 and {11, 25} <= test_lengths
    r = data.report
    assert (r["min_len"], r["max_len"], r["test_min_len"], r["test_max_len"]) == (4, 10, 11, 25)


@pytest.mark.parametrize("name", NEW_TASKS)
def test_an_overlapping_test_range_still_gives_test_sources_unseen_in_training(name):
    few_symbols = {} if name == "addition" else {"n_symbols": 4}  # short sources repeat often
    data = load_task(name, n_train=1500, n_valid=50, n_test=300, min_len=3, max_len=6, test_max_len=20,
                     **few_symbols)
    seen = {p.src for p in data.train + data.valid}
    assert not seen & {p.src for p in data.test}
    assert any(len(p.src) <= 6 for p in data.test) and any(len(p.src) > 6 for p in data.test)


@pytest.mark.parametrize("name,lo,hi,dist", [("toy-fr", 3, 40, "natural"), ("reverse", 3, 12, "uniform"),
                                             ("dates", None, None, "uniform"), ("sort", None, None, "natural")])
def test_a_test_range_equal_to_the_training_range_changes_nothing(name, lo, hi, dist):
    plain = load_task(name, n_train=300, n_valid=30, n_test=60, min_len=lo, max_len=hi, length_dist=dist)
    r = plain.report
    explicit = load_task(name, n_train=300, n_valid=30, n_test=60, min_len=lo, max_len=hi, length_dist=dist,
                         test_min_len=r["min_len"], test_max_len=r["max_len"])
    assert (explicit.train, explicit.valid, explicit.test) == (plain.train, plain.valid, plain.test)
    assert (r["test_min_len"], r["test_max_len"]) == (r["min_len"], r["max_len"])


def test_one_test_bound_alone_takes_the_training_end_or_moves_it_out_of_the_way():
    def test_range(**kwargs):
        r = load_task("copy", n_train=50, n_valid=5, n_test=20, min_len=3, max_len=8, **kwargs).report
        return r["test_min_len"], r["test_max_len"]
    assert test_range(test_max_len=30) == (3, 30)
    assert test_range(test_min_len=5) == (5, 8)
    assert test_range(test_min_len=12) == (12, 12)


@pytest.mark.parametrize("kwargs,field,value,allowed", [
    ({"max_len": 20, "test_max_len": 10}, "test_max_len", "10", "20..100"),
    ({"test_max_len": 101}, "test_max_len", "101", "1..100"),
    ({"test_min_len": 0}, "test_min_len", "0", "1..100"),
    ({"max_len": 10, "test_min_len": 30, "test_max_len": 20}, "test_min_len", "30", "test_max_len"),
])
def test_load_task_refuses_bad_test_ranges_naming_field_value_and_range(kwargs, field, value, allowed):
    with pytest.raises(ValueError) as err:
        load_task("copy", n_train=10, n_valid=1, n_test=1, **kwargs)
    message = str(err.value)
    assert f"{field} = {value}" in message and allowed in message and "'copy'" in message


# --- train short, test long: DataConfig and load_data ---------------------------------------------

def test_load_data_passes_the_test_range_to_the_task():
    cfg = DataConfig(task="addition", n_train=300, n_valid=20, n_test=50, min_len=3, max_len=7,
                     test_min_len=12, test_max_len=16)
    data = load_data(cfg)
    assert all(len(p.src) <= 7 for p in data.train) and all(12 <= len(p.src) <= 16 for p in data.test)
    assert data.test == load_task("addition", n_train=300, n_valid=20, n_test=50, min_len=3, max_len=7,
                                  test_min_len=12, test_max_len=16).test


@pytest.mark.parametrize("kwargs,field,value,allowed", [
    ({"max_len": 20, "test_max_len": 10}, "data.test_max_len", "10", "allowed 20.."),
    ({"test_max_len": 0}, "data.test_max_len", "0", "1.."),
    ({"test_min_len": 0}, "data.test_min_len", "0", "1.."),
    ({"test_min_len": "5"}, "data.test_min_len", "'5'", "1.."),
    ({"test_min_len": 30, "test_max_len": 20}, "data.test_min_len", "30", "test_max_len"),
    ({"task": "corpus", "corpus": "x.tsv", "test_max_len": 20}, "data.test_max_len", "20", "built-in tasks"),
])
def test_data_config_refuses_bad_test_ranges_naming_field_value_and_range(kwargs, field, value, allowed):
    with pytest.raises(ConfigError) as err:
        DataConfig(**kwargs)
    message = str(err.value)
    assert f"{field} = {value}" in message and allowed in message


def test_data_config_test_lengths_stop_at_the_global_limit():
    most = limits()["max_len"]
    assert DataConfig(task="copy", max_len=10, test_max_len=most).test_max_len == most
    with pytest.raises(ConfigError, match=rf"data.test_max_len = {most + 1} .*1\.\.{most}"):
        DataConfig(task="copy", test_max_len=most + 1)


# --- what stored runs depend on: cache keys and the lecture data ----------------------------------

def test_run_keys_of_configs_without_test_ranges_are_those_stored_before_test_ranges_existed():
    # Computed at commit 31927a5, before DataConfig had test_min_len/test_max_len: the cache of every
    # stored run is found by these keys, so they may never change by accident.
    assert PRESETS["lecture"].key() == "044282aeee972996"
    assert PRESETS["tiny"].key() == "e99e5b24c2d00a8e"
    assert RunConfig().key() == "b280933df93a9e6c"


def test_a_test_range_changes_the_run_key_and_survives_the_stored_dict():
    base = PRESETS["tiny"]
    longer = replace(base, data=replace(base.data, test_max_len=24))
    assert longer.key() != base.key()
    assert replace(base, data=replace(base.data, test_min_len=3)).key() not in (base.key(), longer.key())
    assert RunConfig.from_dict(longer.to_dict()) == longer
    stored_before = base.to_dict()
    del stored_before["data"]["test_min_len"], stored_before["data"]["test_max_len"]
    assert RunConfig.from_dict(stored_before) == base


def test_lecture_preset_data_is_identical_to_the_data_before_test_ranges_existed():
    # sha256 of the lecture preset's three splits (src, tgt, sorted alignment) computed at commit 31927a5,
    # before the loader learnt test ranges: the lecture's results must stay identical to the bit.
    data = load_data(PRESETS["lecture"].data)
    assert fingerprint(data) == "14d78363eaef183e7bf3eebed5ae238ac233eac7f7cd9c5c7ed904f0a6bbae2c"
    assert data.report["test_max_len"] == data.report["max_len"] == 40
