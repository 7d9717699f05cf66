"""GRU layers for the model: the fused C recurrence (kernels/gru.c) where it runs, nn.GRU otherwise.

The model keeps its nn.GRU modules -- they hold the weights, so a stored model loads and decodes
the same either way -- and runs them through what is here:
  bidirectional(rnn, x, lengths)   the encoder: both directions over padded sentences, as packed
                                   sequences would run them
  with_constant_input(rnn, x, c, h0)  a decoder whose context is known before it runs (Luong's, and
                                   Bahdanau's without attention): inputs [x_t; c] with c the same at
                                   every step, so W_ih [x_t; c] = W_x x_t + (W_c c + b_ih), the
                                   second term once per sentence instead of once per step
  ContextCell(cell, x, h0).step(t, c_t, h)   Bahdanau's decoder with attention, whose context c_t
                                   needs s_{t-1}: W_x x_t + b_ih for every step at once, then one
                                   kernel call per step for W_c c_t and the gates
Per layer the kernel does what PyTorch does in about 45 small operators per time step: one matrix
product per step forward, one backward, and the weight gradient as a single product over all steps.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from attn.nn import fused


class GRUScan(torch.autograd.Function):
    """out (B, T, H), h_T (B, H) = GRU recurrence over precomputed input projections gi (B, T, 3H).

    gi_t = W_ih x_t + b_ih is the caller's (an ordinary differentiable matmul over all steps);
    the recurrence h_t = GRU(gi_t, W_hh h_{t-1} + b_hh) and its gradient are the kernel's.
    lengths (B,) int64 or None; reverse runs from the last real token to the first.
    """

    @staticmethod
    def forward(ctx, gi, h0, weight_hh, bias_hh, lengths, reverse: bool):
        gi, h0 = gi.contiguous(), h0.contiguous()
        weight_hh, bias_hh = weight_hh.contiguous(), bias_hh.contiguous()
        B, T, H = gi.size(0), gi.size(1), h0.size(1)
        out, h = gi.new_empty(B, T, H), gi.new_empty(B, H)
        gates, hprev, scratch = gi.new_empty(T, B, 4 * H), gi.new_empty(T, B, H), gi.new_empty(B, 3 * H)
        fused.gru_forward(gi, h0, weight_hh, bias_hh, lengths, out, h, gates, hprev, scratch, B, T, H, reverse)
        ctx.save_for_backward(weight_hh, lengths, gates, hprev)
        ctx.reverse = reverse
        return out, h

    @staticmethod
    def backward(ctx, d_out, d_h):
        weight_hh, lengths, gates, hprev = ctx.saved_tensors
        T, B, H = hprev.shape
        d_out = d_out.contiguous()
        d_h = d_h.clone(memory_format=torch.contiguous_format)   # the kernel turns it into d h0
        d_gi, d_gh = d_out.new_empty(B, T, 3 * H), d_out.new_empty(T, B, 3 * H)
        fused.gru_backward(weight_hh, lengths, gates, hprev, d_out, d_h, d_gi, d_gh, B, T, H, ctx.reverse)
        d_gh = d_gh.view(T * B, 3 * H)
        d_weight_hh = d_gh.t().mm(hprev.view(T * B, H))          # sum_t dgh_t^T h_{t-1}, one product
        return d_gi, d_h, d_weight_hh, d_gh.sum(0), None, None


def _weights(rnn: nn.GRU | nn.GRUCell):
    """(W_ih, b_ih, W_hh, b_hh) of a one-layer GRU or a GRU cell (the same equations, other names)."""
    if isinstance(rnn, nn.GRUCell):
        return rnn.weight_ih, rnn.bias_ih, rnn.weight_hh, rnn.bias_hh
    return rnn.weight_ih_l0, rnn.bias_ih_l0, rnn.weight_hh_l0, rnn.bias_hh_l0


def _fused_ok(rnn: nn.GRU | nn.GRUCell, *tensors: torch.Tensor) -> bool:
    """The kernel runs one-layer float32 CPU GRUs with biases; anything else goes to PyTorch's GRU."""
    return getattr(rnn, "num_layers", 1) == 1 and rnn.bias and fused.usable_for(*tensors, _weights(rnn)[2])


def bidirectional(rnn: nn.GRU, x: torch.Tensor, lengths: torch.Tensor):
    """x (B, S, E), lengths (B,) -> states (B, S, 2h) with zeros at padding, summary (B, 2h).

    summary = [forward state after the last real token; backward state after the first token],
    exactly what nn.GRU returns for packed sequences, so padding never enters a state.
    """
    if not _fused_ok(rnn, x):
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, last = rnn(packed)                                                    # last (2, B, h)
        states, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
        return states, torch.cat([last[0], last[1]], dim=-1)
    lengths = lengths.to(torch.int64).contiguous()
    h0 = x.new_zeros(x.size(0), rnn.hidden_size)
    outs, lasts = [], []
    for suffix, reverse in (("", False), ("_reverse", True)):
        gi = F.linear(x, getattr(rnn, f"weight_ih_l0{suffix}"), getattr(rnn, f"bias_ih_l0{suffix}"))
        out, last = GRUScan.apply(gi, h0, getattr(rnn, f"weight_hh_l0{suffix}"),
                                  getattr(rnn, f"bias_hh_l0{suffix}"), lengths, reverse)
        outs.append(out)
        lasts.append(last)
    return torch.cat(outs, dim=-1), torch.cat(lasts, dim=-1)


def with_constant_input(rnn: nn.GRU | nn.GRUCell, x: torch.Tensor, constant: torch.Tensor, h0: torch.Tensor):
    """The GRU over inputs [x_t; constant]: x (B, T, E), constant (B, C), h0 (B, H) -> states (B, T, H)."""
    if not _fused_ok(rnn, x, constant, h0):
        inputs = torch.cat([x, constant[:, None, :].expand(-1, x.size(1), -1)], dim=-1)
        if isinstance(rnn, nn.GRUCell):
            return _cell_loop(rnn, inputs, h0)
        return rnn(inputs, h0[None])[0]
    E = x.size(-1)
    w_ih, b_ih, w_hh, b_hh = _weights(rnn)                                          # w_ih (3H, E + C)
    gi = F.linear(x, w_ih[:, :E]) + F.linear(constant, w_ih[:, E:], b_ih)[:, None, :]
    return GRUScan.apply(gi, h0, w_hh, b_hh, None, False)[0]


def _cell_loop(cell: nn.GRUCell, inputs: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """A GRU cell over inputs (B, T, I) one step at a time: the fallback for a cell without the kernel."""
    states = []
    for t in range(inputs.size(1)):
        h = cell(inputs[:, t], h)
        states.append(h)
    return torch.stack(states, dim=1)


class ContextCell:
    """A GRU cell over inputs [x_t; c_t] whose contexts c_t come one step at a time (Bahdanau's
    decoder with attention: c_t needs s_{t-1}), with what does not need them taken out of the loop.

    W_ih [x_t; c_t] + b_ih = (W_x x_t + b_ih) + W_c c_t: the first term for all T steps in one
    product here, the second per step, then the gates in the kernel (equations in kernels/gru.c).
    Slices and views are taken once, so the backward pass sums T small gradients rather than
    scattering each step's into a zero tensor of the whole weight or of all steps (T^2 work).
    Without the kernel, each step is the nn.GRUCell call `Decoder.step` makes.
    """

    def __init__(self, cell: nn.GRUCell, x: torch.Tensor, h0: torch.Tensor):
        """x (B, T, E): the inputs known in advance (the previous words); h0 (B, H) the first state."""
        self.cell = cell
        self.fused = _fused_ok(cell, x, h0)
        if not self.fused:
            self.words = x.unbind(1)                                               # T x (B, E)
            return
        w_ih, b_ih, self.w_hh, self.b_hh = _weights(cell)
        E = x.size(-1)
        self.w_context = w_ih[:, E:]                                               # W_c
        self.words = F.linear(x, w_ih[:, :E], b_ih).unbind(1)                      # T x (B, 3H)

    def step(self, t: int, context: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """h_t from context c_t (B, C) and h_{t-1} (B, H)."""
        if not self.fused:
            return self.cell(torch.cat([self.words[t], context], dim=-1), h)
        gi = self.words[t] + F.linear(context, self.w_context)                    # (B, 3H)
        return GRUScan.apply(gi[:, None, :], h, self.w_hh, self.b_hh, None, False)[1]
