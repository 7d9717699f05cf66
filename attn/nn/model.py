"""The encoder-decoder every variant shares; only the context vector differs between variants.

Encoder (all variants):  h_j = [GRU_fwd(x)_j ; GRU_bwd(x)_j]   (B, S, H), each direction H/2,
                         summary = [last forward state ; last backward state]   (B, H)
Decoder init:            s_0 = tanh(W_init summary)
Context c_t:             none      -> c_t = summary, the same at every step (Cho et al. 2014)
                         attention -> c_t = sum_j a_tj h_j,  a_t = softmax_j score(q_t, h_j)
Decoder styles:
  luong     s_t = GRU([y_{t-1}; summary], s_{t-1});  q_t = s_t  (all T steps at once under teacher forcing)
  bahdanau  q_t = s_{t-1};  s_t = GRU([y_{t-1}; c_t], s_{t-1})  (one step at a time, as in the paper)
In the luong style every variant's GRU reads the summary at every step, so `none` is exactly Cho et
al.'s RNNencdec and each attention variant is that same model plus a per-step attention context.
Output (both):           p(y_t) = softmax(W_out tanh(W_c [s_t; c_t]) + b)
  tied (cfg.tied)         W_out = the target embedding table E (V, E), so W_c maps to E dims, not H
                          (Press & Wolf 2017, "Using the Output Embedding to Improve Language Models")
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from attn.nn import recurrence
from attn.nn.attention import Attention, make_attention
from attn.config import ModelConfig
from attn.data.text import PAD_ID


@dataclass
class Encoded:
    """What the decoder needs from the encoder, computed once per batch."""

    memory: torch.Tensor        # (B, S, H) encoder states h_j, the values attention averages
    keys: torch.Tensor | None   # (B, S, H) attention.prepare(memory), None without attention
    mask: torch.Tensor          # (B, S) True at real source tokens
    summary: torch.Tensor       # (B, H) final states of both directions

    def repeat(self, k: int) -> "Encoded":
        """Each sentence repeated k times along the batch (for beam search)."""
        rep = lambda t: None if t is None else t.repeat_interleave(k, dim=0)
        return Encoded(rep(self.memory), rep(self.keys), rep(self.mask), rep(self.summary))


class Encoder(nn.Module):
    """Embedding + bidirectional GRU that stops at each sentence's length, so padding never enters a state.

    (recurrence.bidirectional: PyTorch's packed sequences, or the fused kernel with the same semantics.)
    """

    def __init__(self, vocab_size: int, emb: int, hidden: int, dropout: float):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, emb, padding_idx=PAD_ID)
        self.dropout = nn.Dropout(dropout)
        self.rnn = nn.GRU(emb, hidden // 2, batch_first=True, bidirectional=True)

    def forward(self, src: torch.Tensor, src_len: torch.Tensor):
        """src (B, S), src_len (B,) -> states (B, S, H), summary (B, H)."""
        embedded = self.dropout(self.embed(src))                                   # (B, S, E)
        return recurrence.bidirectional(self.rnn, embedded, src_len)


class TiedOutput(nn.Module):
    """logits (..., V) = x (..., D) E[start:start+V]^T + b: an output layer whose weight IS (a slice of) an
    embedding table (Press & Wolf 2017), one tensor trained by both; only the bias is its own."""

    def __init__(self, embedding: nn.Embedding, vocab_size: int, start: int = 0,
                 bias: nn.Parameter | None = None):
        super().__init__()
        self.embedding = embedding          # shared, not copied: parameters() lists its weight once
        self.start, self.vocab_size = start, vocab_size
        self.bias = bias if bias is not None else nn.Parameter(torch.zeros(vocab_size))

    @property
    def weight(self) -> torch.Tensor:
        """(V, D): the table's rows of the output words, a view (as nn.Linear.weight, for the fused loss)."""
        weight = self.embedding.weight                                             # (V_table, D)
        if self.start or weight.size(0) != self.vocab_size:
            weight = weight[self.start:self.start + self.vocab_size]
        return weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)


class Decoder(nn.Module):
    """GRU decoder; `attention` None means the fixed-context (no-attention) model."""

    def __init__(self, vocab_size: int, emb: int, hidden: int, attention: Attention | None,
                 style: str, dropout: float, tied: bool = False):
        super().__init__()
        self.style = style
        self.attention = attention
        self.embed = nn.Embedding(vocab_size, emb, padding_idx=PAD_ID)
        self.dropout = nn.Dropout(dropout)
        self.init = nn.Linear(hidden, hidden)
        if style == "luong":
            self.rnn = nn.GRU(emb + hidden, hidden, batch_first=True)          # input [y_{t-1}; summary]
        else:
            self.rnn = nn.GRUCell(emb + hidden, hidden)
        # tied: the readout is emb wide, so the output layer can be the embedding table (V, E)
        self.combine = nn.Linear(2 * hidden, emb if tied else hidden)
        self.out = TiedOutput(self.embed, vocab_size) if tied else nn.Linear(hidden, vocab_size)

    def init_state(self, enc: Encoded) -> torch.Tensor:
        return torch.tanh(self.init(enc.summary))                                  # (B, H)

    def context(self, query: torch.Tensor, enc: Encoded):
        """query (B, T, H) -> context (B, T, H), weights (B, T, S) or None."""
        if self.attention is None:
            return enc.summary[:, None, :].expand_as(query), None
        weights = self.attention(query, enc.keys, enc.mask)                        # (B, T, S)
        return torch.bmm(weights, enc.memory), weights                             # (B, T, H)

    def features(self, states: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """What the output layer reads: tanh(W_c [s_t; c_t]) (B, T, H), or (B, T, E) when tied."""
        return self.dropout(torch.tanh(self.combine(torch.cat([states, context], dim=-1))))

    def readout(self, states: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """logits (B, T, V) = W_out tanh(W_c [s_t; c_t]) + b."""
        return self.out(self.features(states, context))

    def step(self, prev: torch.Tensor, state: torch.Tensor, enc: Encoded):
        """One decoding step: prev (B,), state (B, H) -> logits (B, V), state (B, H), weights (B, S)|None."""
        embedded = self.dropout(self.embed(prev))                                  # (B, E)
        if self.style == "luong":
            rnn_in = torch.cat([embedded, enc.summary], dim=-1)[:, None, :]        # (B, 1, E + H)
            state = self.rnn(rnn_in, state[None])[1][0]                            # s_t from s_{t-1}
            context, weights = self.context(state[:, None, :], enc)                # query s_t
        else:
            context, weights = self.context(state[:, None, :], enc)                # query s_{t-1}
            state = self.rnn(torch.cat([embedded, context[:, 0]], dim=-1), state)  # s_t
        logits = self.readout(state[:, None, :], context)[:, 0]
        return logits, state, None if weights is None else weights[:, 0]

    def forward(self, tgt_in: torch.Tensor, enc: Encoded, teacher_forcing: float = 1.0, project: bool = True):
        """Teacher-forced decoding: tgt_in (B, T) starts with <s> -> logits (B, T, V), weights (B, T, S)|None.

        project=False (teacher forcing only): the output layer's input (B, T, D) instead of the logits."""
        state = self.init_state(enc)
        if teacher_forcing >= 1.0:
            return self._teacher_forced(tgt_in, state, enc, self.readout if project else self.features)
        logits_steps, weight_steps = [], []
        prev = tgt_in[:, 0]
        for t in range(tgt_in.size(1)):
            logits, state, weights = self.step(prev, state, enc)
            logits_steps.append(logits)
            weight_steps.append(weights)
            if t + 1 < tgt_in.size(1):
                prev = tgt_in[:, t + 1]
                if teacher_forcing < 1.0:
                    own = logits.argmax(-1)
                    use_gold = torch.rand(prev.shape, device=prev.device) < teacher_forcing
                    prev = torch.where(use_gold | (prev == PAD_ID), prev, own)
        weights = None if weight_steps[0] is None else torch.stack(weight_steps, dim=1)
        return torch.stack(logits_steps, dim=1), weights

    def _teacher_forced(self, tgt_in: torch.Tensor, state: torch.Tensor, enc: Encoded, readout):
        """All T steps with the gold previous words -> readout(states, contexts), weights (B, T, S) | None."""
        embedded = self.dropout(self.embed(tgt_in))                                # (B, T, E)
        if self.style == "luong" or self.attention is None:
            # Every input word is known and the GRU's context input is the summary (both
            # styles feed it when there is no attention), so the GRU runs over all T steps in
            # one call and the attention scores all T queries in one batched matmul.
            states = recurrence.with_constant_input(self.rnn, embedded, enc.summary, state)  # (B, T, H)
            context, weights = self.context(states, enc)
            return readout(states, context), weights
        return self._bahdanau_teacher_forced(embedded, state, enc, readout)

    def _bahdanau_teacher_forced(self, embedded: torch.Tensor, state: torch.Tensor, enc: Encoded, readout):
        """The step loop of `step` for known input words, with what needs no s_{t-1} taken out of it:
        the words' share of the GRU input (W_x y_{t-1} + b_ih) before, the readout after, each once
        over all T steps."""
        cell = recurrence.ContextCell(self.rnn, embedded, state)
        states, contexts, weight_steps = [], [], []
        for t in range(embedded.size(1)):
            context, weights = self.context(state[:, None, :], enc)                # query s_{t-1}
            state = cell.step(t, context[:, 0], state)                             # s_t
            states.append(state)
            contexts.append(context)
            weight_steps.append(weights)
        logits = readout(torch.stack(states, dim=1), torch.cat(contexts, dim=1))
        return logits, torch.cat(weight_steps, dim=1)


class Seq2Seq(nn.Module):
    """Encoder + decoder. Two instances that differ only in `variant` share every other shape."""

    def __init__(self, cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(src_vocab_size, cfg.emb, cfg.hidden, cfg.dropout)
        attention = make_attention(cfg.variant, cfg.hidden, scaled=cfg.scaled)
        self.decoder = Decoder(tgt_vocab_size, cfg.emb, cfg.hidden, attention, cfg.style, cfg.dropout, cfg.tied)

    def encode(self, src: torch.Tensor, src_len: torch.Tensor) -> Encoded:
        memory, summary = self.encoder(src, src_len)
        attention = self.decoder.attention
        keys = None if attention is None else attention.prepare(memory)
        mask = torch.arange(src.size(1), device=src.device)[None, :] < src_len[:, None]
        return Encoded(memory, keys, mask, summary)

    def forward(self, src, src_len, tgt_in, teacher_forcing: float = 1.0):
        """src (B, S), src_len (B,), tgt_in (B, T) -> logits (B, T, V), weights (B, T, S) | None."""
        return self.decoder(tgt_in, self.encode(src, src_len), teacher_forcing)

    def features(self, src, src_len, tgt_in):
        """Teacher-forced, without the output layer: (B, T, D) what `decoder.out` reads, weights | None.
        The fused loss (models.token_loss) applies the output layer itself, to the real tokens only."""
        return self.decoder(tgt_in, self.encode(src, src_len), 1.0, project=False)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
