"""Every model family behind one factory: `build_model(cfg, src_vocab_size, tgt_vocab_size)`.

All of them follow the protocol training and decoding use (see attn/nn/model.py):
forward(src, src_len, tgt_in) -> (logits (B, T, V), weights (B, T, S) | None), encode(src, src_len),
decoder.init_state(enc), decoder.step(prev, state, enc) and enc.repeat(k).
"""
from __future__ import annotations

from typing import Callable

from torch import nn

from attn.config import ModelConfig
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
