"""Train short, test long: buckets cut at the training length, unseen flags, the training range in every
result (summary, overall, store), and the `length` preset's runs."""
import dataclasses
import json

import numpy as np
import pytest

from attn.config import LENGTH_VARIANTS, POSITIONS, PRESETS, DataConfig, ModelConfig, RunConfig, TrainConfig, \
    length_configs
from attn.data.pairs import Pair, ParallelData, bucket_edges
from attn.data.tasks import load_task
from attn.nn.model import count_parameters
from attn.nn.models import build_model
from attn.records import BUCKET_COLUMNS, BucketRow, bucket_frame
from attn.runs.store import RunStore
from attn.training.evaluate import resolve_edges
from attn.data.pairs import split_at_training
from attn.records import json_number as _json_number
from attn.training.experiment import prepare, run

# reverse, trained on 2-6 tokens and tested on 2-12
SHORT_LONG = RunConfig(
    data=DataConfig(task="reverse", n_train=240, n_valid=20, n_test=90, min_len=2, max_len=6, test_max_len=12,
                    n_buckets=4),
    model=ModelConfig(emb=16, hidden=32),
    train=TrainConfig(epochs=1, batch=32, lr=1e-2, log_every=2))


def _data(train_lengths, test_lengths) -> ParallelData:
    def pairs(lengths):
        return tuple(Pair(("a",) * n, ("a",) * n) for n in lengths)
    return ParallelData("lengths", pairs(train_lengths), pairs(train_lengths[:1]), pairs(test_lengths))


@pytest.fixture(scope="module")
def short_long():
    cfg = SHORT_LONG
    prepared = prepare(cfg.data)
    return prepared, run(cfg, prepared)


# ---- where the buckets are cut --------------------------------------------------------------------

def test_automatic_edges_are_cut_at_the_longest_training_length_plus_one():
    data = _data([2, 4, 6], list(range(2, 13)))                 # train max 6, test 2..12
    edges = split_at_training(bucket_edges(list(range(2, 13)), 4), data, automatic=True)
    assert 7 in edges and edges[0] == 2 and edges[-1] == 13
    # 4 buckets shared by width: 5 seen lengths (2..6) and 6 unseen (7..12) -> round(4 * 5 / 11) = 2 and 2
    assert edges == bucket_edges([2, 6], 2) + bucket_edges([7, 12], 2)[1:] == [2, 4, 7, 10, 13]


def test_user_edges_gain_the_cut_as_one_more_bucket():
    data = _data([2, 6], [2, 9, 12])
    assert split_at_training([0, 5, 10, 13], data, automatic=False) == [0, 5, 7, 10, 13]
    assert split_at_training([0, 7, 13], data, automatic=False) == [0, 7, 13]  # already there


def test_edges_inside_the_training_range_are_kept_as_they_are():
    inside = _data([2, 20], [2, 5, 20])                         # test max <= train max: nothing unseen
    assert split_at_training([2, 10, 21], inside, automatic=True) == [2, 10, 21]
    beyond = _data([2, 6], [8, 9, 12])                           # every test sentence unseen: nothing to split
    assert split_at_training([8, 11, 13], beyond, automatic=True) == [8, 11, 13]


def test_one_automatic_bucket_that_straddles_becomes_two():
    data = _data([3, 5], [2, 4, 9])
    assert split_at_training([2, 10], data, automatic=True) == [2, 6, 10]


@pytest.mark.parametrize("name", ["lecture", "tiny"])
def test_presets_that_test_on_their_training_lengths_keep_their_edges(name):
    cfg = PRESETS[name].data
    prepared = prepare(cfg)
    assert prepared.edges == resolve_edges(prepared.data, cfg.buckets, cfg.n_buckets)


def test_the_length_presets_buckets_split_at_21_with_as_many_on_each_side():
    cfg = PRESETS["length"].data
    data = load_task(cfg.task, n_train=cfg.n_train, n_valid=cfg.n_valid, n_test=cfg.n_test, min_len=cfg.min_len,
                     max_len=cfg.max_len, test_max_len=cfg.test_max_len, seed=cfg.data_seed)
    edges = split_at_training(resolve_edges(data, cfg.buckets, cfg.n_buckets), data, automatic=True)
    assert max(len(p.src) for p in data.train) == 20 and max(len(p.src) for p in data.test) == 40
    assert edges[4] == 21 and len(edges) - 1 == cfg.n_buckets and edges[-1] == 41


# ---- what a run records ---------------------------------------------------------------------------

def test_every_test_sentence_falls_in_a_bucket(short_long):
    prepared, result = short_long
    assert sum(row.n for row in result.buckets) == len(prepared.data.test) == SHORT_LONG.data.n_test
    assert all(d.bucket is not None for d in result.decodes)


def test_a_bucket_is_unseen_exactly_when_every_length_in_it_is_past_training(short_long):
    prepared, result = short_long
    lo, hi = prepared.train_range
    assert (lo, hi) == (2, 6) == result.train_range
    assert [row.unseen for row in result.buckets] == [row.lo > hi for row in result.buckets]
    assert any(row.unseen for row in result.buckets) and not all(row.unseen for row in result.buckets)
    assert not any(row.lo <= hi < row.hi for row in result.buckets)  # none mixes seen and unseen lengths
    for d in result.decodes:  # the flag of a sentence's bucket agrees with the sentence's own length
        assert result.buckets[d.bucket].unseen == (len(d.src) > hi)


def test_the_training_range_is_in_the_summary_the_overall_metrics_and_the_store(short_long, tmp_path):
    prepared, result = short_long
    summary = json.loads(json.dumps(result.summary()))
    assert (summary["train_min_len"], summary["train_max_len"]) == (2, 6)
    assert [b["unseen"] for b in summary["buckets"]] == [row.unseen for row in result.buckets]
    assert all(isinstance(b["unseen"], bool) for b in summary["buckets"])
    assert (result.overall["train_min_len"], result.overall["train_max_len"]) == (2, 6)
    store = RunStore(tmp_path)
    stored = store.run(store.save_finished(SHORT_LONG, result)).overall
    assert (stored["train_min_len"], stored["train_max_len"]) == (2, 6)


def test_the_results_frame_says_which_buckets_are_unseen(short_long):
    from attn.training.experiment import results_frame
    _, result = short_long
    frame = results_frame([result])
    assert frame["unseen"].tolist() == [row.unseen for row in result.buckets]


def test_json_numbers_keep_bools_as_bools():
    assert _json_number(True) is True and _json_number(np.bool_(False)) is False
    assert _json_number(np.int64(3)) == 3 and _json_number(float("nan")) is None


# ---- the record -----------------------------------------------------------------------------------

def test_a_bucket_row_reads_unseen_from_numpy_and_nan():
    values = {"bucket": "7-9", "lo": 7, "hi": 9, "n": 3}
    assert BucketRow.from_values({**values, "unseen": np.bool_(True)}).unseen is True
    assert BucketRow.from_values({**values, "unseen": float("nan")}).unseen is None
    assert BucketRow.from_values(values).unseen is None


def test_a_bucket_past_training_starts_after_the_longest_training_length():
    row = BucketRow("7-9", 7, 9, 3, 1.0, 2.0, 0.0, 50.0, None, None)
    assert [row.past_training(m).unseen for m in (5, 6, 7, 9, None)] == [True, True, False, False, None]
    assert row.past_training(6.0).unseen is True  # the store gives numbers back as floats


def test_a_bucket_frame_has_an_unseen_column_only_when_a_row_knows():
    known = BucketRow("7-9", 7, 9, 3, 1.0, 2.0, 0.0, 50.0, None, None, unseen=True)
    unknown = dataclasses.replace(known, bucket="2-6", lo=2, hi=6, unseen=None)
    assert list(bucket_frame([({}, unknown)]).columns) == list(BUCKET_COLUMNS)
    frame = bucket_frame([({}, unknown), ({}, known)])
    assert list(frame.columns) == [*BUCKET_COLUMNS, "unseen"] and frame["unseen"].tolist() == [False, True]


# ---- the preset -----------------------------------------------------------------------------------

def test_length_configs_give_every_model_once_per_seed_with_shared_settings():
    configs = length_configs((0, 3))
    assert len(configs) == 2 * (len(LENGTH_VARIANTS) + len(POSITIONS))
    for seed in (0, 3):
        mine = [c for c in configs if c.seed == seed]
        assert [c.model.variant for c in mine if c.model.family == "rnn"] == list(LENGTH_VARIANTS)
        assert [c.model.positions for c in mine if c.model.family == "transformer"] == list(POSITIONS)
        assert {c.data for c in mine} == {PRESETS["length"].data} and {c.train for c in mine} == {PRESETS["length"].train}
        transformers = {dataclasses.replace(c.model, positions="sinusoidal") for c in mine if c.model.family != "rnn"}
        rnns = {dataclasses.replace(c.model, variant="none") for c in mine if c.model.family == "rnn"}
        assert len(transformers) == 1 and len(rnns) == 1  # only the encoding, only the variant differs
    assert len({c.key() for c in configs}) == len(configs)


def test_the_length_presets_models_are_within_20_percent_in_parameters():
    cfg = PRESETS["length"].data
    prepared = prepare(dataclasses.replace(cfg, n_train=2000, n_valid=1, n_test=1))  # every symbol occurs
    sizes = {(c.model.family, c.model.variant, c.model.positions):
             count_parameters(build_model(c.model, len(prepared.src_vocab), len(prepared.tgt_vocab)))
             for c in length_configs((0,))}
    assert max(sizes.values()) <= 1.2 * min(sizes.values()), sizes


def test_a_transformer_run_is_named_by_its_label_in_the_summary_and_the_results_frame(short_long):
    """`--out` and the CLI's table name a Transformer "dec·alibi", not the RNN variant its config leaves unused."""
    from attn.training.experiment import results_frame
    prepared, _ = short_long
    cfg = dataclasses.replace(SHORT_LONG, model=ModelConfig(family="transformer", arch="decoder", positions="alibi",
                                                            hidden=16, heads=2, layers=1, ff=32))
    result = run(cfg, prepared)
    assert result.summary()["variant"] == "dec·alibi" == cfg.model.label
    assert set(results_frame([result])["variant"]) == {"dec·alibi"}
