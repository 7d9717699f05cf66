"""Each attention formula against a hand computation, and masking of padding."""
import math

import pytest
import torch

from attn.nn.attention import (AdditiveAttention, DotAttention, GeneralAttention, make_attention, masked_softmax)


def _softmax(xs):
    m = max(xs)
    e = [math.exp(x - m) for x in xs]
    return [v / sum(e) for v in e]


QUERY = torch.tensor([[[1.0, 2.0]]])                      # (B=1, T=1, H=2)
KEYS = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])  # (B=1, S=3, H=2)
MASK = torch.tensor([[True, True, True]])


def test_dot_attention_weights_equal_hand_computation():
    att = DotAttention(2, scaled=False)
    weights = att(QUERY, att.prepare(KEYS), MASK)[0, 0].tolist()
    assert weights == pytest.approx(_softmax([1.0, 2.0, 3.0]), abs=1e-6)


def test_scaled_dot_attention_divides_by_sqrt_d():
    att = DotAttention(2, scaled=True)
    weights = att(QUERY, att.prepare(KEYS), MASK)[0, 0].tolist()
    d = math.sqrt(2)
    assert weights == pytest.approx(_softmax([1 / d, 2 / d, 3 / d]), abs=1e-6)


def test_general_attention_weights_equal_hand_computation():
    att = GeneralAttention(2)
    with torch.no_grad():
        att.W.weight.copy_(torch.tensor([[2.0, 0.0], [1.0, -1.0]]))
    # s^T W h_j with W h_j: h1=(1,0)->(2,1), h2=(0,1)->(0,-1), h3=(1,1)->(2,0)
    scores = [1 * 2 + 2 * 1, 1 * 0 + 2 * -1, 1 * 2 + 2 * 0]
    weights = att(QUERY, att.prepare(KEYS), MASK)[0, 0].tolist()
    assert weights == pytest.approx(_softmax(scores), abs=1e-6)


@pytest.mark.parametrize("kernel", [True, False], ids=["fused-kernel", "pytorch"])
def test_additive_attention_weights_equal_hand_computation(monkeypatch, kernel):
    from attn.nn import fused
    if kernel and not fused.available():
        pytest.skip(f"the fused kernel is not built here: {fused.build_error}")
    if not kernel:  # the PyTorch formula: the fallback, and the reference the kernel is tested against
        monkeypatch.setattr(fused, "usable_for", lambda *tensors: False)
    att = AdditiveAttention(2)
    W = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    U = torch.tensor([[0.5, 0.0], [0.0, -1.0]])
    b = torch.tensor([0.1, 0.2])
    v = torch.tensor([[1.0, 2.0]])
    with torch.no_grad():
        att.query_proj.weight.copy_(W)
        att.key_proj.weight.copy_(U)
        att.key_proj.bias.copy_(b)
        att.v.weight.copy_(v)
    s = [1.0, 2.0]
    scores = []
    for h in KEYS[0].tolist():
        pre = [W[i][0] * s[0] + W[i][1] * s[1] + U[i][0] * h[0] + U[i][1] * h[1] + b[i] for i in range(2)]
        scores.append(float(sum(v[0][i] * math.tanh(pre[i]) for i in range(2))))
    weights = att(QUERY, att.prepare(KEYS), MASK)[0, 0].tolist()
    assert weights == pytest.approx(_softmax(scores), abs=1e-6)


@pytest.mark.parametrize("variant", ["additive", "dot", "general"])
def test_padding_gets_zero_weight_and_rows_sum_to_one(variant):
    torch.manual_seed(0)
    att = make_attention(variant, 4)
    keys = att.prepare(torch.randn(2, 5, 4))
    mask = torch.tensor([[True, True, True, False, False], [True] * 5])
    weights = att(torch.randn(2, 3, 4), keys, mask)
    assert weights.shape == (2, 3, 5)
    assert torch.all(weights[0, :, 3:] == 0)
    assert torch.allclose(weights.sum(-1), torch.ones(2, 3))


def test_all_padding_row_stays_finite():
    weights = masked_softmax(torch.randn(1, 2, 4), torch.zeros(1, 4, dtype=torch.bool))
    assert torch.isfinite(weights).all()


def test_unknown_variant_lists_valid_ones():
    with pytest.raises(ValueError, match="additive, dot, general"):
        make_attention("cosine", 4)


def test_none_variant_has_no_attention_module():
    assert make_attention("none", 4) is None
