"""Every model family behind one factory: `build_model(cfg, src_vocab_size, tgt_vocab_size)`, and the
training loss of any of them: `token_loss(model, batch)`.

All of them follow the protocol training and decoding use (see attn/nn/model.py):
forward(src, src_len, tgt_in) -> (logits (B, T, V), weights (B, T, S) | None), encode(src, src_len),
decoder.init_state(enc), decoder.step(prev, state, enc) and enc.repeat(k).
"""
from __future__ import annotations

import os
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from attn.config import ModelConfig
from attn.data.text import PAD_ID
from attn.nn import fused
from attn.nn.model import Seq2Seq, TiedOutput
from attn.nn.transformer import Transformer
from attn.nn.transformer_lm import DecoderOnlyTransformer

# cfg.arch -> the Transformer class for it
TRANSFORMERS: dict[str, type[nn.Module]] = {
    "encdec": Transformer,
    "decoder": DecoderOnlyTransformer,
}


def _transformer(cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int) -> nn.Module:
    if cfg.arch not in TRANSFORMERS:
        raise ValueError(f"unknown model.arch {cfg.arch!r}; valid: {', '.join(TRANSFORMERS)}")
    model = TRANSFORMERS[cfg.arch](cfg, src_vocab_size, tgt_vocab_size)
    if cfg.tied:
        tie_output(model.decoder, tgt_vocab_size)
    return model


def tie_output(decoder: nn.Module, tgt_vocab_size: int) -> None:
    """A Transformer decoder's output layer becomes its embedding table's target rows (Press & Wolf 2017;
    Vaswani et al. 2017 share them the same way): both are d_model wide. A decoder-only model's table holds
    the source words first, so its target words start at `decoder.offset`. The layer keeps its bias."""
    start = getattr(decoder, "offset", 0)
    decoder.out = TiedOutput(decoder.embed.table, tgt_vocab_size, start, bias=decoder.out.bias)


# cfg.family -> a builder (cfg, src_vocab_size, tgt_vocab_size) -> model
FAMILIES: dict[str, Callable[[ModelConfig, int, int], nn.Module]] = {
    "rnn": Seq2Seq,
    "transformer": _transformer,
}


def build_model(cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int) -> nn.Module:
    """A freshly initialised model of cfg.family (the caller seeds torch first, as experiment does).

    "rnn" is exactly `Seq2Seq(cfg, ...)`, so an RNN run initialises bit for bit as before.
    """
    if cfg.family not in FAMILIES:
        raise ValueError(f"unknown model.family {cfg.family!r}; valid: {', '.join(FAMILIES)}")
    return FAMILIES[cfg.family](cfg, src_vocab_size, tgt_vocab_size)


# From this target vocabulary up the trainer fuses the output layer and the loss (below: the plain logits).
# At the lecture's 266 words the (B, T, V) logits are small, and the plain path keeps every lecture figure
# bit for bit as it was measured; at 12,000 words the fused step was 1.6x faster (docs/benchmarks.md).
FUSED_LOSS_MIN_VOCAB = 2048


def fuses_loss(model: nn.Module, teacher_forcing: float = 1.0, fuse: bool | None = None) -> bool:
    """Whether token_loss takes the fused path: a teacher-forced model with `features` (the RNNs), fused
    kernels not switched off (ATTN_FUSED=0), and `fuse` True, or None with a target vocabulary of at least
    FUSED_LOSS_MIN_VOCAB."""
    if teacher_forcing < 1.0 or not hasattr(model, "features") or os.environ.get("ATTN_FUSED", "1") == "0":
        return False
    if fuse is None:
        return model.decoder.out.weight.size(0) >= FUSED_LOSS_MIN_VOCAB
    return fuse


def token_loss(model: nn.Module, batch, teacher_forcing: float = 1.0, reduction: str = "mean",
               fuse: bool | None = None) -> torch.Tensor:
    """Cross-entropy over the real target tokens of one batch (src, src_len, tgt_in, tgt_out), their mean
    (or their sum, reduction="sum"):

        loss = -1/N sum_{(b, t): tgt_out[b, t] != PAD} log softmax(W_out f_bt + b)[tgt_out[b, t]]

    Fused (see fuses_loss): the output layer and the loss in one pass over the N real tokens only
    (fused.linear_cross_entropy: no padded rows, no (B, T, V) logits), which at a 10,000-word vocabulary
    is most of a step. Otherwise the logits of the whole batch and F.cross_entropy. Both give the same
    loss and gradients up to float rounding.
    """
    src, src_len, tgt_in, tgt_out = batch
    if fuses_loss(model, teacher_forcing, fuse):
        features, _ = model.features(src, src_len, tgt_in)                        # (B, T, D)
        real = tgt_out != PAD_ID                                                   # (B, T)
        out = model.decoder.out
        total = fused.linear_cross_entropy(features[real], out.weight, out.bias, tgt_out[real])  # (N, D) rows
        return total if reduction == "sum" else total / real.sum().clamp(min=1)
    # only a run that feeds its own guesses passes the argument (the plain baseline's model has none)
    kwargs = {} if teacher_forcing >= 1.0 else {"teacher_forcing": teacher_forcing}
    logits, _ = model(src, src_len, tgt_in, **kwargs)                              # (B, T, V)
    return logits_loss(logits, tgt_out, reduction)


def logits_loss(logits: torch.Tensor, tgt_out: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of logits (B, T, V) against tgt_out (B, T) over the real target tokens only."""
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1), ignore_index=PAD_ID,
                           reduction=reduction)
