"""attn.training.bench: the timed steps can be any step function; the fused-loss step trains like train_step."""
from __future__ import annotations

import torch

from attn.config import DataConfig, ModelConfig, RunConfig
from attn.training.bench import fused_loss_step, time_steps
from attn.training.experiment import build_model, prepare
from attn.training.trainer import train_step

TINY = RunConfig(data=DataConfig(task="reverse", n_train=64, n_valid=8, n_test=8, min_len=3, max_len=6),
                 model=ModelConfig(emb=8, hidden=12))


def test_time_steps_runs_the_step_it_is_given():
    prepared = prepare(TINY.data)
    model = build_model(TINY, prepared)
    calls = []

    def counting_step(model, optimizer, batch, clip):
        calls.append(batch[0].size(0))
        return train_step(model, optimizer, batch, clip)

    time_steps(model, prepared, 16, steps=3, warmup=1, step=counting_step)
    assert calls == [16] * 4


def test_fused_loss_step_updates_the_weights_as_train_step_does():
    prepared = prepare(TINY.data)
    batch = prepared.train.batch(torch.arange(16))
    after = []
    for step in (train_step, fused_loss_step):
        model = build_model(TINY, prepared)             # seeded: the same initial weights each time
        # plain SGD: Adam's first step is lr * sign(g), which rounding flips where g is ~0
        loss = step(model, torch.optim.SGD(model.parameters(), lr=0.1), batch, 1.0)
        after.append((float(loss.detach()), [p.detach().clone() for p in model.parameters()]))
    (plain_loss, plain), (fused_loss, fused) = after
    assert abs(plain_loss - fused_loss) < 1e-5
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(plain, fused))
