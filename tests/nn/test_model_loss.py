"""models.token_loss: the fused output layer + cross-entropy over real tokens equals the plain one."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from attn.config import ModelConfig
from attn.data.text import PAD_ID
from attn.nn import fused
from attn.nn import models
from attn.nn.models import build_model, token_loss
from attn.training.trainer import train_step
from tests.nn.batches import padded_batch


def _plain_loss(model, batch):
    src, src_len, tgt_in, tgt_out = batch
    logits, _ = model(src, src_len, tgt_in)
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1), ignore_index=PAD_ID)


def _loss_and_grads(model, loss_of):
    model.zero_grad()
    loss = loss_of(model)
    loss.backward()
    return loss.detach(), {name: p.grad.clone() for name, p in model.named_parameters()}


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("style", ["luong", "bahdanau"])
@pytest.mark.parametrize("variant", ["none", "additive", "dot"])
def test_fused_loss_and_gradients_equal_cross_entropy_of_the_logits(variant, style, tied):
    torch.manual_seed(0)
    model = build_model(ModelConfig(variant=variant, style=style, emb=8, hidden=12, tied=tied), 15, 13).train()
    batch = padded_batch()
    fused_loss, fused_grads = _loss_and_grads(model, lambda m: token_loss(m, batch, fuse=True))
    plain_loss, plain_grads = _loss_and_grads(model, lambda m: _plain_loss(m, batch))
    assert torch.allclose(fused_loss, plain_loss, atol=1e-6)
    for name, grad in plain_grads.items():
        assert torch.allclose(fused_grads[name], grad, atol=1e-6), name


def test_fused_loss_in_chunks_equals_one_chunk_and_no_grad_equals_grad(monkeypatch):
    torch.manual_seed(1)
    x, weight, bias = torch.randn(10, 6), torch.randn(9, 6), torch.randn(9)
    target = torch.randint(0, 9, (10,))
    whole = F.cross_entropy(F.linear(x, weight, bias), target, reduction="sum")
    monkeypatch.setattr(fused, "LOSS_CHUNK_BYTES", 3 * 4 * 9)          # 3 + 3 + 3 + 1 rows of 9 floats
    assert fused.chunk_rows(9) == 3
    with torch.no_grad():
        assert torch.allclose(fused.linear_cross_entropy(x, weight, bias, target), whole, atol=1e-5)
    x.requires_grad_(True)
    loss = fused.linear_cross_entropy(x, weight, bias, target)
    loss.backward()
    expected = torch.autograd.grad(F.cross_entropy(F.linear(x, weight, bias), target, reduction="sum"), x)[0]
    assert torch.allclose(x.grad, expected, atol=1e-5)


def test_fused_loss_reads_no_padded_row(monkeypatch):
    """Rows where tgt_out is padding never reach the output layer, whatever the model made there."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(variant="dot", emb=8, hidden=12), 15, 13)
    seen = []
    real = fused.linear_cross_entropy
    monkeypatch.setattr(fused, "linear_cross_entropy", lambda x, *rest: seen.append(x.size(0)) or real(x, *rest))
    batch = padded_batch()
    token_loss(model, batch, fuse=True)
    assert seen == [int((batch[3] != PAD_ID).sum())]


def test_plain_path_when_fused_kernels_are_off(monkeypatch):
    monkeypatch.setenv("ATTN_FUSED", "0")
    called = []
    monkeypatch.setattr(fused, "linear_cross_entropy", lambda *a: called.append(1))
    torch.manual_seed(0)
    model = build_model(ModelConfig(variant="dot", emb=8, hidden=12), 15, 13)
    batch = padded_batch()
    assert torch.allclose(token_loss(model, batch, fuse=True), _plain_loss(model, batch)) and not called


@pytest.mark.parametrize("vocab, fuses", [(models.FUSED_LOSS_MIN_VOCAB - 1, False), (models.FUSED_LOSS_MIN_VOCAB, True)])
def test_the_trainer_fuses_from_a_big_target_vocabulary_up(monkeypatch, vocab, fuses):
    """A run's step (trainer.train_step, no `fuse`) and its validation loss take the fused path from
    FUSED_LOSS_MIN_VOCAB target words up, and the plain one below it (the lecture's figures)."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(variant="dot", emb=8, hidden=12), 15, vocab)
    calls = []
    real = fused.linear_cross_entropy
    monkeypatch.setattr(fused, "linear_cross_entropy", lambda *a: calls.append(1) or real(*a))
    batch = padded_batch()
    loss = train_step(model, torch.optim.SGD(model.parameters(), lr=0.0), batch, clip=1.0)
    assert bool(calls) == fuses
    assert torch.allclose(loss, _plain_loss(model, batch), atol=1e-5)
    summed = token_loss(model, batch, reduction="sum")
    assert torch.allclose(summed, loss * int((batch[3] != PAD_ID).sum()), rtol=1e-5)
    assert not models.fuses_loss(model, teacher_forcing=0.5)   # feeding its own guesses: plain logits
