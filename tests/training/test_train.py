"""The trainer: determinism, events, stop requests, early stopping, and that it learns."""
import dataclasses

import pytest

from attn.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from attn.training.experiment import prepare, run

DATA_CFG = DataConfig(task="reverse")


def _cfg(variant="additive", seed=0, **train):
    settings = dict(epochs=2, batch=16, lr=1e-2, log_every=2)
    settings.update(train)
    return RunConfig(data=DATA_CFG, model=ModelConfig(variant=variant, emb=16, hidden=32),
                     train=TrainConfig(**settings), seed=seed)


@pytest.mark.parametrize("style", ["luong", "bahdanau"])
def test_same_config_and_seed_give_the_same_loss_curve(reverse_data, style):
    prepared = prepare(DATA_CFG, reverse_data)
    cfg = dataclasses.replace(_cfg(), model=dataclasses.replace(_cfg().model, style=style))
    a = run(cfg, prepared)
    b = run(cfg, prepared)
    assert [s["train_loss"] for s in a.training.steps] == [s["train_loss"] for s in b.training.steps]
    assert [e["valid_loss"] for e in a.training.epochs] == [e["valid_loss"] for e in b.training.epochs]


def test_another_seed_gives_another_curve(reverse_data):
    prepared = prepare(DATA_CFG, reverse_data)
    a = run(_cfg(seed=0), prepared)
    b = run(_cfg(seed=1), prepared)
    assert [s["train_loss"] for s in a.training.steps] != [s["train_loss"] for s in b.training.steps]


def test_events_come_in_order_with_progress_and_eta(reverse_data):
    events = []
    run(_cfg(), prepare(DATA_CFG, reverse_data), callbacks=[events.append])
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert kinds.count("epoch") == 2
    steps = [e for e in events if e.kind == "step"]
    assert [e.step for e in steps] == sorted(e.step for e in steps)
    assert all(e.tokens_per_s > 0 and e.eta >= 0 and e.train_loss > 0 for e in steps)
    assert steps[-1].step == steps[-1].total_steps and steps[-1].eta == 0


def test_stop_request_is_honoured_within_one_batch(reverse_data):
    events = []
    stop_after = 3
    result = run(_cfg(log_every=1), prepare(DATA_CFG, reverse_data), callbacks=[events.append],
                 should_stop=lambda: sum(e.kind == "step" for e in events) >= stop_after)
    assert result.training.stopped
    assert max(e.step for e in events) == stop_after
    assert events[-1].kind == "end" and events[-1].stopped


def test_early_stopping_ends_before_the_last_epoch_when_validation_stalls(reverse_data):
    result = run(_cfg(epochs=30, lr=0.5, patience=1), prepare(DATA_CFG, reverse_data))
    assert len(result.training.epochs) < 30
    assert result.training.best_epoch is not None


def test_attention_learns_to_reverse(reverse_data):
    cfg = _cfg(epochs=12, batch=16, lr=1e-2)
    result = run(cfg, prepare(DATA_CFG, reverse_data))
    first, last = result.training.epochs[0]["valid_loss"], result.training.epochs[-1]["valid_loss"]
    assert last < first * 0.5
    assert result.overall["token_acc"] > 50


def test_a_stopped_run_keeps_its_curves_and_skips_evaluation(reverse_data):
    events = []
    result = run(_cfg(log_every=1), prepare(DATA_CFG, reverse_data), callbacks=[events.append],
                 should_stop=lambda: sum(e.kind == "step" for e in events) >= 2)
    assert len(result.training.steps) == 2
    assert result.decodes == [] and result.buckets == []


def test_linear_schedule_ends_at_a_tenth_of_the_learning_rate(reverse_data, monkeypatch):
    from attn.training.optim import Adam
    from attn.training.trainer import Trainer
    from attn.training.experiment import build_model
    prepared = prepare(DATA_CFG, reverse_data)
    cfg = _cfg(lr_schedule="linear", epochs=1)
    model = build_model(cfg, prepared)
    seen = []
    original_step = Adam.step

    def spy(self, *a, **k):
        seen.append(self.lr)
        return original_step(self, *a, **k)

    monkeypatch.setattr(Adam, "step", spy)
    Trainer(model, cfg.train, prepared.train, prepared.valid, seed=0).fit()
    assert seen[0] == pytest.approx(cfg.train.lr)
    assert seen[-1] == pytest.approx(cfg.train.lr * (1 - 0.9 * (len(seen) - 1) / len(seen)))
    assert all(a > b for a, b in zip(seen, seen[1:]))
