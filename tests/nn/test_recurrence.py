"""The fused GRU recurrence (kernels/gru.c via attn.recurrence) against torch.nn.GRU it replaces."""
import os
import subprocess
import sys

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from attn.nn import fused
from tests.nn.kernels import require_kernels

from attn.nn import recurrence
from attn.config import ModelConfig


@pytest.fixture(autouse=True)
def needs_kernels():
    """Every test here runs the GRU kernel (tests/nn/kernels.py: skip locally, fail in CI)."""
    require_kernels()


@pytest.fixture(params=["blas", "plain C"])
def gemm(request, monkeypatch):
    """Both ways the kernel multiplies matrices: PyTorch's BLAS sgemm_, and its own C loops."""
    if request.param == "blas":
        if fused.blas_sgemm() is None:
            pytest.skip("this PyTorch build exports no sgemm_")
    else:
        monkeypatch.setattr(fused, "blas_sgemm", lambda: None)
    return request.param


def _packed_reference(rnn, x, lengths):
    """What the encoder computed before the kernel: nn.GRU over packed sequences."""
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, last = rnn(packed)
    states, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
    return states, torch.cat([last[0], last[1]], dim=-1)


def _close(got, want) -> bool:
    """Equal up to float rounding, which grows with the gradient sums' size (over B*T terms)."""
    return torch.allclose(got, want, rtol=1e-4, atol=1e-5 * max(1.0, want.abs().max().item()))


def _outputs_and_grads(fn, rnn, x):
    """fn's two outputs and the gradients of a loss that uses every element of both."""
    x = x.detach().clone().requires_grad_(True)
    rnn.zero_grad()
    states, summary = fn(x)
    (states.square().sum() + summary.sin().sum()).backward()
    return states.detach(), summary.detach(), [x.grad] + [p.grad.clone() for p in rnn.parameters()]


@pytest.mark.parametrize("B,S,E,h,lengths", [
    (1, 1, 3, 2, [1]),
    (5, 7, 6, 8, [7, 3, 5, 1, 6]),
    (4, 9, 16, 64, [9, 9, 2, 4]),
    (64, 12, 64, 64, None),
])
def test_bidirectional_equals_packed_nn_gru(gemm, B, S, E, h, lengths):
    torch.manual_seed(0)
    rnn = torch.nn.GRU(E, h, batch_first=True, bidirectional=True)
    x = torch.randn(B, S, E)
    lengths = torch.tensor(lengths) if lengths else torch.randint(1, S + 1, (B,))
    want = _outputs_and_grads(lambda x: _packed_reference(rnn, x, lengths), rnn, x)
    got = _outputs_and_grads(lambda x: recurrence.bidirectional(rnn, x, lengths), rnn, x)
    assert torch.allclose(got[0], want[0], atol=1e-6)
    assert torch.equal(got[0] == 0, want[0] == 0)           # zeros exactly where padding is
    assert torch.allclose(got[1], want[1], atol=1e-6)
    for g, w in zip(got[2], want[2]):
        assert _close(g, w)


@pytest.mark.parametrize("B,T,E,C,H", [(1, 1, 2, 3, 4), (3, 6, 5, 8, 8), (64, 20, 64, 128, 128)])
def test_a_constant_input_gru_equals_nn_gru_over_the_concatenated_input(gemm, B, T, E, C, H):
    torch.manual_seed(1)
    rnn = torch.nn.GRU(E + C, H, batch_first=True)
    x, constant, h0 = torch.randn(B, T, E), torch.randn(B, C, requires_grad=True), torch.randn(B, H)

    def reference(x):
        states = rnn(torch.cat([x, constant[:, None].expand(-1, T, -1)], -1), h0[None])[0]
        return states, states[:, -1]

    def kernel(x):
        states = recurrence.with_constant_input(rnn, x, constant, h0)
        return states, states[:, -1]

    want = _outputs_and_grads(reference, rnn, x)
    want_dc = constant.grad.clone()
    constant.grad = None
    got = _outputs_and_grads(kernel, rnn, x)
    assert torch.allclose(got[0], want[0], atol=1e-6)
    for g, w in zip(got[2] + [constant.grad], want[2] + [want_dc]):
        assert _close(g, w)


def test_more_padding_changes_no_bit_of_the_encoder_output():
    torch.manual_seed(2)
    rnn = torch.nn.GRU(6, 8, batch_first=True, bidirectional=True)
    x, lengths = torch.randn(3, 5, 6), torch.tensor([5, 2, 4])
    padded = torch.cat([x, torch.randn(3, 4, 6)], dim=1)    # what lies beyond a length is never read
    states, summary = recurrence.bidirectional(rnn, x, lengths)
    states_p, summary_p = recurrence.bidirectional(rnn, padded, lengths)
    assert torch.equal(states_p[:, :5], states) and torch.equal(summary_p, summary)
    assert not states_p[:, 5:].any()


def test_the_same_inputs_give_bitwise_the_same_results():
    torch.manual_seed(3)
    rnn = torch.nn.GRU(16, 32, batch_first=True, bidirectional=True)
    x, lengths = torch.randn(8, 10, 16), torch.randint(1, 11, (8,))
    first = _outputs_and_grads(lambda x: recurrence.bidirectional(rnn, x, lengths), rnn, x)
    second = _outputs_and_grads(lambda x: recurrence.bidirectional(rnn, x, lengths), rnn, x)
    assert all(torch.equal(a, b) for a, b in zip(first[:2] + tuple(first[2]), second[:2] + tuple(second[2])))


@pytest.mark.parametrize("style", ["luong", "bahdanau"])
@pytest.mark.parametrize("variant", ["none", "dot", "additive"])
def test_a_model_trains_the_same_with_and_without_the_gru_kernel(monkeypatch, model_grads, variant, style):
    cfg = ModelConfig(variant=variant, style=style, emb=8, hidden=12)
    loss_k, _, grads_k = model_grads(cfg)
    monkeypatch.setattr(recurrence, "_fused_ok", lambda *args: False)
    loss_r, _, grads_r = model_grads(cfg)
    assert loss_k == pytest.approx(loss_r, abs=1e-6)
    for got, want in zip(grads_k, grads_r):
        assert torch.allclose(got, want, atol=1e-5, rtol=1e-4)


def test_without_the_kernels_the_encoder_runs_nn_gru(monkeypatch):
    monkeypatch.setattr(fused, "usable_for", lambda *tensors: False)
    calls = []
    rnn = torch.nn.GRU(4, 3, batch_first=True, bidirectional=True)
    rnn.register_forward_hook(lambda *args: calls.append(1))
    states, summary = recurrence.bidirectional(rnn, torch.randn(2, 5, 4), torch.tensor([5, 3]))
    assert calls and states.shape == (2, 5, 6) and summary.shape == (2, 6)


def test_a_bfloat16_input_raises_in_the_wrapper_instead_of_reaching_the_kernel():
    gi, h0 = torch.randn(2, 3, 12).bfloat16(), torch.zeros(2, 4)
    weight, bias = torch.randn(12, 4), torch.randn(12)
    with pytest.raises(TypeError, match="gru_forward: argument 'gi' needs a contiguous float32 .* got bfloat16"):
        recurrence.GRUScan.apply(gi, h0, weight, bias, None, False)


def test_a_transposed_weight_is_made_contiguous_before_the_kernel_reads_it():
    torch.manual_seed(4)
    rnn = torch.nn.GRU(3, 4, batch_first=True)
    x, h0 = torch.randn(2, 5, 3), torch.randn(2, 4)
    gi = torch.nn.functional.linear(x, rnn.weight_ih_l0, rnn.bias_ih_l0)
    weight_t = rnn.weight_hh_l0.detach().t().contiguous().t()        # same values, column-major
    want = rnn(x, h0[None])[0]
    got = recurrence.GRUScan.apply(gi, h0, weight_t, rnn.bias_hh_l0, None, False)[0]
    assert not weight_t.is_contiguous() and torch.allclose(got, want, atol=1e-6)


AUTOCAST_STEP = """
import torch
from attn.config import ModelConfig
from attn.nn.model import Seq2Seq
for style in ("luong", "bahdanau"):
    for variant in ("none", "additive", "dot"):
        torch.manual_seed(0)
        model = Seq2Seq(ModelConfig(variant=variant, style=style, emb=8, hidden=12), 10, 11)
        src, src_len = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]]), torch.tensor([4, 2])
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits, _ = model(src, src_len, torch.tensor([[1, 5, 6], [1, 9, 0]]))
        loss = logits.float().logsumexp(-1).mean()
        loss.backward()
        assert torch.isfinite(loss), (style, variant)
print("ok")
"""


def test_a_model_under_cpu_autocast_runs_pytorchs_ops_not_the_kernels():
    """Under autocast the input projections come out in bfloat16, which the float32 kernels must
    never read (once, they did: the process died of heap corruption). In a subprocess, so a crash
    fails this test rather than the suite."""
    result = subprocess.run([sys.executable, "-c", AUTOCAST_STEP], capture_output=True, text=True,
                            env=dict(os.environ), timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
