"""Tied input/output embeddings (Press & Wolf 2017): ModelConfig.tied, every family and variant alike."""
from __future__ import annotations

import dataclasses

import pytest

from attn.config import ConfigError, ModelConfig, RunConfig, preset


def test_tied_is_off_by_default_and_leaves_old_cache_keys_alone():
    cfg = preset("lecture")
    assert cfg.model.tied is False
    # stored before the field existed: the same key as today's default
    old = cfg.to_dict()
    del old["model"]["tied"]
    assert RunConfig.from_dict(old).key() == cfg.key()
    tied = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, tied=True))
    assert tied.key() != cfg.key()


def test_tied_must_be_a_bool():
    with pytest.raises(ConfigError, match=r"model\.tied = .yes. is not one of: False, True"):
        ModelConfig(tied="yes")


# ------------------------------------------------------------------------------------ the models

import torch  # noqa: E402

from attn.config import POSITIONS, VARIANTS  # noqa: E402
from attn.nn.model import count_parameters  # noqa: E402
from attn.nn.models import build_model  # noqa: E402
from attn.nn.models import logits_loss as token_loss  # noqa: E402
from tests.nn.batches import padded_batch  # noqa: E402

SRC_VOCAB, TGT_VOCAB = 15, 13
RNNS = [ModelConfig(variant=v, style=s, emb=8, hidden=12) for v in VARIANTS for s in ("luong", "bahdanau")]
TRANSFORMERS = [ModelConfig(family="transformer", arch=a, positions=p, hidden=8, heads=2, ff=16, layers=1)
                for a in ("encdec", "decoder") for p in POSITIONS if not (a == "encdec" and p == "none")]


def _tied(cfg: ModelConfig):
    torch.manual_seed(0)
    return build_model(dataclasses.replace(cfg, tied=True), SRC_VOCAB, TGT_VOCAB)


def _target_table(model) -> torch.Tensor:
    """The embedding rows of the target words, wherever a model keeps them."""
    embed = model.decoder.embed
    table = embed.table.weight if hasattr(embed, "table") else embed.weight
    start = getattr(model.decoder, "offset", 0)
    return table[start:start + TGT_VOCAB]


@pytest.mark.parametrize("cfg", RNNS + TRANSFORMERS, ids=lambda c: f"{c.label}-{c.style}")
def test_tied_output_layer_is_the_target_embedding_tensor_itself(cfg):
    model = _tied(cfg)
    out = model.decoder.out
    table = out.embedding.weight
    embed = model.decoder.embed
    assert table is (embed.table.weight if hasattr(embed, "table") else embed.weight)  # one tensor, not a copy
    torch.manual_seed(0)
    untied = build_model(cfg, SRC_VOCAB, TGT_VOCAB)
    # W_out (V, H) is gone; an RNN's W_c maps 2H -> E instead of 2H -> H
    narrower = (2 * cfg.hidden + 1) * (cfg.hidden - cfg.emb) if cfg.family == "rnn" else 0
    assert count_parameters(untied) - count_parameters(model) == TGT_VOCAB * cfg.hidden + narrower


@pytest.mark.parametrize("cfg", RNNS + TRANSFORMERS, ids=lambda c: f"{c.label}-{c.style}")
def test_tied_logits_are_the_embedding_rows_and_the_loss_trains_them(cfg):
    model = _tied(cfg).train()
    src, src_len, tgt_in, tgt_out = padded_batch()
    logits, _ = model(src, src_len, tgt_in)
    assert logits.shape == (3, 5, TGT_VOCAB)
    unread = 12                                 # a target word no tgt_in holds: its row is only an output row
    assert not (tgt_in == unread).any()
    with torch.no_grad():
        row = _target_table(model)[unread]
        row += torch.linspace(-1.0, 2.0, row.numel())  # not a constant shift: LayerNorm'd states sum to 0
        after = model(src, src_len, tgt_in)[0]
    changed = (after - logits.detach()).abs().amax(dim=(0, 1)) > 1e-3  # kernel paths differ by rounding only
    assert changed.tolist() == [word == unread for word in range(TGT_VOCAB)]
    token_loss(model(src, src_len, tgt_in)[0], tgt_out).backward()
    grad = model.decoder.out.embedding.weight.grad
    assert grad is not None and grad.abs().sum() > 0
