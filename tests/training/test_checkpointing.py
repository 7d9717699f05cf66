"""Checkpoints while training: the trainer takes them (first, during, last from the kept weights), the
store thins them keeping first and last, the last one's probe maps are the finished run's, taking them
changes nothing in training, and a bad typed probe is refused with a message naming it."""
import dataclasses

import numpy as np
import pytest
import torch

from attn.config import PRESETS, ConfigError, DataConfig
from attn.records import Checkpoint
from attn.runs.store import RunStore
from attn.training.checkpointing import Checkpointer
from attn.training.checkpoints import check_probe
from attn.training.evaluate import decode_split, translate
from attn.training.experiment import build_model, prepare, run
from attn.training.trainer import Trainer

TINY = PRESETS["tiny"]


@pytest.fixture(scope="module")
def prepared():
    return prepare(TINY.data)


@pytest.fixture(scope="module")
def finished():
    """The tiny preset trained once with its checkpoint events collected."""
    events = []
    return run(TINY, callbacks=[events.append]), events


def test_a_run_emits_a_first_checkpoint_before_training_and_a_last_at_its_final_step(finished):
    result, events = finished
    checkpoints = [e.payload for e in events if e.kind == "checkpoint"]
    assert all(isinstance(c, Checkpoint) for c in checkpoints)
    assert checkpoints[0].step == 0 and checkpoints[0].buckets == ()  # probe maps only: untrained
    last = checkpoints[-1]
    assert last.step == result.training.steps[-1]["step"] and last.epoch == TINY.train.epochs
    assert [b.label for b in last.buckets] == [row.bucket for row in result.buckets]
    assert all(b.n > 0 and b.bleu is not None for b in last.buckets)
    assert [e.kind for e in events][-2:] == ["checkpoint", "end"]


def test_the_last_checkpoints_probe_maps_are_the_finished_runs_maps(finished, prepared):
    result, events = finished
    last = [e.payload for e in events if e.kind == "checkpoint"][-1]
    probes = Checkpointer(prepared, TINY.data).probes
    assert len(last.probes) == len(probes) == len(prepared.edges) - 1  # one per length bucket
    split = Checkpointer(prepared, TINY.data).probe_split
    decodes = decode_split(result.model, probes, split, prepared.tgt_vocab, prepared.edges)
    for probe, decode in zip(last.probes, decodes):
        assert probe.src == decode.src and probe.tgt == decode.ref
        np.testing.assert_allclose(probe.weights, decode.forced, atol=1e-6)


def test_the_trainer_stores_checkpoints_thinned_keeping_the_first_and_the_last(tmp_path, prepared):
    store = RunStore(tmp_path)
    store.checkpoint_limit = 4
    run_id = store.create_run(TINY)
    model = build_model(TINY, prepared)
    # a budget this large makes a checkpoint due after every step: 20 steps, 21 checkpoints and the last
    trainer = Trainer(model, TINY.train, prepared.train, prepared.valid, seed=0,
                      checkpoint=Checkpointer(prepared, TINY.data), budget=1e9)
    trainer.add_callback(store.recorder(run_id))
    seen = []
    trainer.add_callback(lambda e: seen.append(e.step) if e.kind == "checkpoint" else None)
    training = trainer.fit()
    stored = store.checkpoints(run_id)
    last_step = training.steps[-1]["step"]
    assert len(seen) > 4 and seen[0] == 0 and seen[-1] == last_step
    assert len(stored) == 4 and stored[0].step == 0 and stored[-1].step == last_step
    gaps = np.diff([c.step for c in stored])
    assert gaps.max() <= 2 * gaps.min()  # spread over the run (even when a run ends at a doubled plan)


def test_taking_checkpoints_changes_nothing_in_training(prepared):
    off = dataclasses.replace(TINY, train=dataclasses.replace(TINY.train, checkpoints=False))
    weights = []
    for cfg, budget in ((TINY, 1e9), (off, 0.05)):
        model = build_model(cfg, prepared)
        checkpoint = Checkpointer(prepared, cfg.data) if cfg.train.checkpoints else None
        Trainer(model, cfg.train, prepared.train, prepared.valid, seed=0, checkpoint=checkpoint, budget=budget).fit()
        weights.append(model.state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_a_typed_probe_is_drawn_on_the_models_own_output_and_ends_as_the_finished_translation(prepared):
    cfg = dataclasses.replace(TINY, train=dataclasses.replace(TINY.train, probe="a b c d"))
    events = []
    result = run(cfg, prepared, callbacks=[events.append])
    last = [e.payload for e in events if e.kind == "checkpoint"][-1]
    (probe,) = last.probes
    decode = translate(result.model, ["a", "b", "c", "d"], prepared.src_vocab, prepared.tgt_vocab)
    assert probe.src == ("a", "b", "c", "d") and probe.tgt[:len(decode.hyp)] == decode.hyp
    np.testing.assert_allclose(probe.weights, decode.weights, atol=1e-6)
    assert probe.alignment is None  # no reference, no gold alignment


@pytest.mark.parametrize("text, message", [
    ("", "train.probe: the sentence is empty"),
    ("a b 9 8", r"train.probe: 2 of its symbols never occur in the training data \('9', '8'\)"),
    ("a " * 13, "train.probe: the sentence has 13 tokens after normalization; the limit is 12"),
])
def test_a_bad_typed_probe_gets_a_message_naming_the_field_and_what_is_wrong(prepared, text, message):
    with pytest.raises(ConfigError, match=message):
        check_probe(text, TINY.data, prepared.src_vocab)


def test_a_run_with_a_probe_of_unknown_words_is_refused_before_training(prepared):
    cfg = dataclasses.replace(TINY, train=dataclasses.replace(TINY.train, probe="a 1 b"))
    events = []
    with pytest.raises(ConfigError, match="never occur in the training data"):
        run(cfg, prepared, callbacks=[events.append])
    assert events == []


def test_a_probe_is_checked_without_a_vocabulary_for_length_and_emptiness():
    assert check_probe("a b c", DataConfig(task="reverse", max_len=12)).tokens == ("a", "b", "c")
    with pytest.raises(ConfigError, match="limit is 5"):
        check_probe("a b c d e f", DataConfig(task="reverse", max_len=5))
