"""attn.runs.estimate: wall times from runs measured on this machine, never from a built-in figure."""
from __future__ import annotations

import dataclasses
import json
import sys

import pytest

from attn.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from attn.data.load import load_data
from attn.runs import estimate
from attn.runs import speed as measuring
from attn.runs.speed import SPEED_FILE
from attn.runs.workers import cpu_count
from attn.runs.estimate import (NO_RUNS, Speed, estimate_runs, loads, run_seconds, schedule, similarity,
                                speed_key, target_tokens)
from attn.training.experiment import run
from tests.light_imports import heavy_loaded

# About a second of training on one core: long enough to time, short enough for a test.
SMALL = RunConfig(data=DataConfig(task="reverse", n_train=1500, n_valid=60, n_test=80, min_len=3, max_len=14),
                  model=ModelConfig(emb=16, hidden=32), train=TrainConfig(epochs=4, batch=32, lr=1e-2))


@pytest.fixture(autouse=True)
def quiet_machine(monkeypatch):
    """Notes are compared whole: the load of the machine running the tests stays out of them."""
    monkeypatch.setattr(estimate.os, "getloadavg", lambda: (0.5, 0.5, 0.5))


# ------------------------------------------------------------------------------ pure parts

def test_schedule_fills_free_workers_and_shares_the_cores():
    assert schedule([10, 10, 10], jobs=3, cores=2) == 15.0      # three at once on two cores
    assert schedule([10, 10, 10], jobs=1, cores=2) == 30.0      # one after another
    assert schedule([10, 10, 10], jobs=2, cores=2) == 20.0      # the third waits for a free worker
    assert schedule([30, 10, 10, 10], jobs=2, cores=2) == 30.0  # short runs go to the free worker
    assert schedule([], jobs=2, cores=2) == 0.0


def test_loads_count_the_runs_sharing_each_interval():
    assert loads([(0, 10), (0, 10), (5, 15)]) == [2.5, 2.5, 2.0]
    assert loads([(0, 1), (2, 3)]) == [1.0, 1.0]


def test_target_tokens_are_the_training_targets_and_their_end_marks_times_epochs():
    few = dataclasses.replace(SMALL, data=dataclasses.replace(SMALL.data, n_train=estimate.SAMPLE))
    for cfg, close in ((few, 1e-12), (SMALL, 0.05)):  # past SAMPLE pairs, the mean lengths come from a sample
        data = load_data(cfg.data)
        exact = sum(len(p.tgt) + 1 for p in data.train) * cfg.train.epochs
        assert target_tokens(cfg) == pytest.approx(exact, rel=close)


def test_run_seconds_add_setup_training_and_evaluation():
    speed = Speed(train=0.001, test=0.01, setup=0.0001)
    expected = 1640 * 0.0001 + target_tokens(SMALL) * 0.001 + 80 * 0.01
    assert run_seconds(SMALL, speed) == pytest.approx(expected)
    assert run_seconds(SMALL, dataclasses.replace(speed, setup=None)) == pytest.approx(expected - 0.164)


def test_early_stopping_on_bleu_adds_a_decode_of_the_validation_split_per_epoch():
    speed = Speed(train=0.001, test=0.01, setup=None)
    bleu = dataclasses.replace(SMALL, train=dataclasses.replace(SMALL.train, patience=2, early_stop="bleu"))
    assert run_seconds(bleu, speed) - run_seconds(SMALL, speed) == pytest.approx(60 * 4 * 0.01)
    probe = measuring.probe_config(bleu)  # the measuring run: one epoch, nothing to stop early
    assert (probe.train.epochs, probe.train.patience, probe.train.early_stop) == (1, None, "loss")


def test_the_cli_times_a_short_run_first_only_for_runs_of_a_million_target_words_or_more():
    assert estimate.cli_measuring([SMALL]) == "never"
    big = dataclasses.replace(SMALL, train=dataclasses.replace(
        SMALL.train, epochs=int(estimate.MEASURE_FROM / target_tokens(SMALL) * SMALL.train.epochs) + 1))
    assert target_tokens(big) >= estimate.MEASURE_FROM
    assert estimate.cli_measuring([SMALL, big]) == "wait"


def test_similar_size_means_same_family_and_every_size_within_the_factor():
    assert similarity(SMALL, SMALL.with_variant("additive", seed=3)) == 0.0
    assert similarity(SMALL, SMALL.with_variant("dot")) == 0.25
    assert similarity(SMALL, dataclasses.replace(SMALL, model=dataclasses.replace(SMALL.model, hidden=64))) is None
    assert similarity(SMALL, dataclasses.replace(SMALL, train=dataclasses.replace(SMALL.train, batch=128))) is None
    longer = dataclasses.replace(SMALL.data, min_len=30, max_len=40)
    assert similarity(SMALL, dataclasses.replace(SMALL, data=longer)) is None
    transformer = dataclasses.replace(SMALL.model, family="transformer", heads=2)
    assert similarity(SMALL, dataclasses.replace(SMALL, model=transformer)) is None


def test_importing_the_estimate_loads_neither_torch_nor_streamlit():
    assert heavy_loaded("attn.runs.estimate") == [False, False]


# ------------------------------------------------------------------------------ from stored runs

def test_without_stored_runs_or_measuring_the_estimate_says_there_is_none(store):
    found = estimate_runs([SMALL], store=store, measuring="never")
    assert (found.seconds, found.basis, found.note) == (None, "none", NO_RUNS)
    with pytest.raises(ValueError, match="measuring = 'sometimes'"):
        estimate_runs([SMALL], store=store, measuring="sometimes")


def test_a_stored_run_estimates_another_from_its_own_recorded_seconds(store):
    """The estimate scales the stored run's train and eval seconds by the new run's work; no clock is read
    here, so a busy machine cannot fail it (how close it comes to a real run: benchmarks/estimate_accuracy.py)."""
    first = run(SMALL)
    store.save_finished(SMALL, first)
    again = estimate_runs([SMALL], store=store, measuring="never")
    assert (again.seconds, again.note) == (0.0, "already trained: the results come from the store at once")
    second_cfg = SMALL.with_variant("none", seed=1)
    found = estimate_runs([second_cfg], jobs=1, store=store, measuring="never")
    assert (found.basis, found.runs) == ("stored runs", 1) and "from 1 stored run of similar size" in found.note
    per_token = first.train_seconds / target_tokens(SMALL)
    expected = per_token * target_tokens(second_cfg) + first.eval_seconds  # same test size; setup unknown
    assert found.seconds == pytest.approx(expected, rel=1e-6)
    bigger_test = dataclasses.replace(second_cfg, data=dataclasses.replace(SMALL.data, n_test=160))
    assert estimate_runs([bigger_test], jobs=1, store=store, measuring="never").seconds == \
        pytest.approx(per_token * target_tokens(bigger_test) + 2 * first.eval_seconds, rel=1e-6)
    second = run(second_cfg)

    store.save_finished(second_cfg, second)
    both = estimate_runs([SMALL.with_variant("none", seed=2)] * 3 + [SMALL], jobs=3, cores=2, store=store,
                         measuring="never")
    assert both.runs == 2 and both.low <= both.seconds <= both.high
    assert "3 runs, 3 at a time on 2 cores (1 already trained), from 2 stored runs of similar size" in both.note
    assert both.seconds == pytest.approx(1.5 * estimate_runs([SMALL.with_variant("none", seed=2)], store=store,
                                                             measuring="never").seconds)
    bigger = dataclasses.replace(SMALL, model=dataclasses.replace(SMALL.model, hidden=128, emb=64))
    assert estimate_runs([bigger], store=store, measuring="never").note == NO_RUNS  # not of similar size


# ------------------------------------------------------------------------------ measured on this machine

def test_a_measurement_started_in_the_background_is_cached_and_the_estimate_uses_it(store, monkeypatch):
    cfg = dataclasses.replace(SMALL, data=dataclasses.replace(SMALL.data, n_train=2500))  # past the probe's size
    started = estimate_runs([cfg], jobs=1, store=store, measuring="background")
    assert (started.seconds, started.basis) == (None, "measuring")
    key = speed_key(cfg, cpu_count())
    measuring._MEASURING[key].wait(timeout=300)
    monkeypatch.setattr(measuring, "_MEASURED", {})  # read back from the file, as a new server process would
    assert key in json.loads((store.home / SPEED_FILE).read_text())
    found = estimate_runs([cfg], jobs=1, store=store, measuring="never")
    assert (found.basis, found.runs) == ("measured", 0) and "a short measured run of the same model" in found.note
    cached = Speed(**json.loads((store.home / SPEED_FILE).read_text())[key])
    assert cached.train > 0 and cached.test > 0 and found.seconds == pytest.approx(run_seconds(cfg, cached))


def test_waiting_for_a_measurement_gives_a_figure_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(measuring, "_MEASURED", {})
    tiny = dataclasses.replace(SMALL, data=dataclasses.replace(SMALL.data, n_train=300), seed=7)
    found = estimate_runs([tiny, tiny.with_variant("dot")], jobs=2, cores=2, measuring="wait")
    assert found.basis == "measured" and found.seconds > 0 and found.low == found.seconds == found.high
    assert len(measuring._MEASURED) == 2  # both variants, from one measuring process


def test_a_failing_measurement_is_said_and_not_started_again_on_every_call(tmp_path, monkeypatch):
    monkeypatch.setattr(measuring, "_MEASURED", {})
    monkeypatch.setattr(measuring, "_MEASURING", {})
    monkeypatch.setattr(sys, "executable", "/bin/false")  # a measuring process that exits with code 1
    assert estimate_runs([SMALL], jobs=1, measuring="wait").note == \
        "no estimate: the measuring run exited with code 1: no message"
    assert estimate_runs([SMALL], jobs=1, measuring="background").basis == "measuring"
    (proc,) = set(measuring._MEASURING.values())
    proc.wait(timeout=60)
    assert estimate_runs([SMALL], jobs=1, measuring="background").note == \
        "no estimate: the measuring run exited with code 1"


def test_a_busy_machine_is_said_in_the_note(store, monkeypatch):
    store.save_finished(SMALL, run(SMALL))
    other = SMALL.with_variant("none", seed=1)
    monkeypatch.setattr(estimate.os, "getloadavg", lambda: (3.2, 3.0, 3.0))
    busy = estimate_runs([other], cores=2, store=store, measuring="never").note
    assert busy.endswith("; the machine is busy now (load 3.2 on 2 cores): expect longer")
    monkeypatch.setattr(estimate.os, "getloadavg", lambda: (1.5, 3.0, 3.0))
    assert "busy" not in estimate_runs([other], cores=2, store=store, measuring="never").note


def test_a_background_measurement_for_another_store_is_read_back_not_started_again(tmp_path, monkeypatch):
    monkeypatch.setattr(measuring, "_MEASURED", {})
    monkeypatch.setattr(measuring, "_MEASURING", {})
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    key = measuring.speed_key(SMALL, 1)
    assert measuring.measure([SMALL], first, wait=False) == {key: None}
    (proc,) = set(measuring._MEASURING.values())
    proc.wait(timeout=300)
    assert proc.returncode == 0 and (first / measuring.SPEED_FILE).exists()
    monkeypatch.setattr(measuring.subprocess, "Popen", None)  # a second measuring process would fail here
    speed = measuring.measure([SMALL], second, wait=False)[key]  # another store folder, same machine and code
    assert speed is not None and speed.train > 0
