"""The shared encoder-decoder: padding invariance, gradients, fairness of the variants, scaling."""
import dataclasses
import math

import pytest
import torch

from attn.config import ModelConfig
from attn.nn.model import Seq2Seq, count_parameters
from attn.data.text import PAD_ID
from attn.nn.models import logits_loss as token_loss

VARIANTS = ["none", "additive", "dot", "general"]
STYLES = ["luong", "bahdanau"]


def _model(variant, style, seed=0):
    torch.manual_seed(seed)
    return Seq2Seq(ModelConfig(variant=variant, style=style, emb=8, hidden=12), 15, 13).eval()


def _batch():
    src = torch.tensor([[5, 6, 7, 8], [9, 10, PAD_ID, PAD_ID]])
    src_len = torch.tensor([4, 2])
    tgt_in = torch.tensor([[2, 4, 5, 6], [2, 7, 8, PAD_ID]])
    tgt_out = torch.tensor([[4, 5, 6, 3], [7, 8, 3, PAD_ID]])
    return src, src_len, tgt_in, tgt_out


def _pad(x, extra):
    return torch.cat([x, torch.full((x.size(0), extra), PAD_ID, dtype=x.dtype)], dim=1)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_padding_further_changes_no_output_loss_or_summary(variant, style):
    model = _model(variant, style)
    src, src_len, tgt_in, tgt_out = _batch()
    with torch.no_grad():
        logits, weights = model(src, src_len, tgt_in)
        loss = token_loss(logits, tgt_out)
        summary = model.encode(src, src_len).summary
        logits2, weights2 = model(_pad(src, 3), src_len, _pad(tgt_in, 2))
        loss2 = token_loss(logits2, _pad(tgt_out, 2))
        summary2 = model.encode(_pad(src, 3), src_len).summary
    assert torch.allclose(summary, summary2, atol=1e-6)
    assert torch.allclose(loss, loss2, atol=1e-6)
    assert torch.allclose(logits, logits2[:, :4], atol=1e-5)
    if variant != "none":
        assert torch.allclose(weights, weights2[:, :4, :4], atol=1e-6)
        assert torch.all(weights2[:, :, 4:] == 0)


def test_no_attention_summary_is_taken_at_the_last_real_token():
    model = _model("none", "luong")
    src, src_len, _, _ = _batch()
    with torch.no_grad():
        alone = model.encode(src[1:, :2], src_len[1:]).summary
        batched = model.encode(src, src_len).summary[1:]
    assert torch.allclose(alone, batched, atol=1e-6)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_gradients_reach_every_parameter(variant, style):
    model = _model(variant, style).train()
    src, src_len, tgt_in, tgt_out = _batch()
    logits, _ = model(src, src_len, tgt_in)
    token_loss(logits, tgt_out).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


@pytest.mark.parametrize("style", STYLES)
def test_variants_share_every_parameter_but_the_attention(style):
    shapes = {v: {n: tuple(p.shape) for n, p in _model(v, style).named_parameters()} for v in VARIANTS}
    shared = {n: s for n, s in shapes["none"].items()}
    for v in VARIANTS:
        own = {n: s for n, s in shapes[v].items() if not n.startswith("decoder.attention.")}
        assert own == shared, v
    assert count_parameters(_model("dot", style)) == count_parameters(_model("none", style))
    assert count_parameters(_model("additive", style)) > count_parameters(_model("general", style))


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_teacher_forced_decoding_equals_step_by_step(variant, style):
    """The training forward (all steps at once for luong; the word projections and readout hoisted
    out of the loop for bahdanau) gives what decoding one step at a time gives."""
    model = _model(variant, style)
    src, src_len, tgt_in, _ = _batch()
    with torch.no_grad():
        parallel, w_parallel = model(src, src_len, tgt_in)
    enc = model.encode(src, src_len)
    state = model.decoder.init_state(enc)
    with torch.no_grad():
        for t in range(tgt_in.size(1)):
            logits, state, weights = model.decoder.step(tgt_in[:, t], state, enc)
            assert torch.allclose(logits, parallel[:, t], atol=1e-5)
            if variant != "none":
                assert torch.allclose(weights, w_parallel[:, t], atol=1e-6)


@pytest.mark.parametrize("style", STYLES)
def test_attention_weights_of_every_step_are_returned(style):
    model = _model("additive", style)
    src, src_len, tgt_in, _ = _batch()
    with torch.no_grad():
        _, weights = model(src, src_len, tgt_in)
    assert weights.shape == (2, 4, 4)
    assert torch.allclose(weights.sum(-1), torch.ones(2, 4), atol=1e-6)


@pytest.mark.parametrize("kernel", [True, False])
@pytest.mark.parametrize("variant", VARIANTS)
def test_bahdanau_training_gradients_equal_those_of_the_step_loop(monkeypatch, variant, kernel):
    """The hoisted teacher-forced path (word projections before the loop, the readout after it, the
    GRU step in the C kernel or in PyTorch ops) trains exactly what `Decoder.step` with nn.GRUCell defines."""
    from attn.nn import recurrence
    if not kernel:
        monkeypatch.setattr(recurrence, "_fused_ok", lambda *args: False)
    src, src_len, tgt_in, tgt_out = _batch()

    def grads(loss_of):
        model = _model(variant, "bahdanau").train()
        token_loss(loss_of(model), tgt_out).backward()
        return [p.grad for p in model.parameters()]

    def step_loop(model):
        enc = model.encode(src, src_len)
        state, steps = model.decoder.init_state(enc), []
        for t in range(tgt_in.size(1)):
            logits, state, _ = model.decoder.step(tgt_in[:, t], state, enc)
            steps.append(logits)
        return torch.stack(steps, dim=1)

    hoisted, reference = grads(lambda m: m(src, src_len, tgt_in)[0]), grads(step_loop)
    assert all(torch.allclose(a, b, atol=1e-6, rtol=1e-4) for a, b in zip(hoisted, reference))


def test_without_attention_the_two_styles_are_the_same_model():
    """Both styles feed [y_{t-1}; summary] to the GRU and read out [s_t; summary] when there is no
    attention: from one seed they hold the same weights and give the same outputs, so a `none` run
    is the same baseline whichever style the attention runs beside it use."""
    luong, bahdanau = _model("none", "luong"), _model("none", "bahdanau")
    assert all(torch.equal(a, b) for a, b in zip(luong.parameters(), bahdanau.parameters()))
    src, src_len, tgt_in, _ = _batch()
    with torch.no_grad():
        assert torch.equal(luong(src, src_len, tgt_in)[0], bahdanau(src, src_len, tgt_in)[0])


def _check_dot_weights(model, scaled: bool) -> None:
    """Every step's weights equal softmax_j(q . h_j / sqrt(H)) (scaled) or softmax_j(q . h_j), with the
    model's own query (s_t for luong, s_{t-1} for bahdanau) and encoder states h_j."""
    src, src_len, tgt_in, _ = _batch()
    hidden = model.cfg.hidden
    with torch.no_grad():
        enc = model.encode(src, src_len)
        state = model.decoder.init_state(enc)
        for t in range(tgt_in.size(1)):
            before = state
            _, state, weights = model.decoder.step(tgt_in[:, t], state, enc)
            query = state if model.cfg.style == "luong" else before                 # (B, H)
            scores = torch.einsum("bh,bsh->bs", query, enc.memory)                   # (B, S)
            scores = scores / math.sqrt(hidden) if scaled else scores
            expected = torch.softmax(scores.masked_fill(~enc.mask, float("-inf")), dim=-1)
            assert torch.allclose(weights, expected, atol=1e-6), t


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("scaled", [True, False])
def test_the_configs_scaled_flag_decides_whether_dot_scores_are_divided_by_sqrt_h(style, scaled):
    torch.manual_seed(0)
    model = Seq2Seq(ModelConfig(variant="dot", style=style, emb=8, hidden=12, scaled=scaled), 15, 13).eval()
    _check_dot_weights(model, scaled)


@pytest.mark.parametrize("style", STYLES)
def test_unscaled_dot_attention_changes_the_output_of_the_same_weights(style):
    def model(scaled):
        torch.manual_seed(0)
        return Seq2Seq(ModelConfig(variant="dot", style=style, emb=8, hidden=12, scaled=scaled), 15, 13).eval()

    scaled, unscaled = model(True), model(False)
    assert all(torch.equal(a, b) for a, b in zip(scaled.parameters(), unscaled.parameters()))
    src, src_len, tgt_in, _ = _batch()
    with torch.no_grad():
        (logits_s, weights_s), (logits_u, weights_u) = scaled(src, src_len, tgt_in), unscaled(src, src_len, tgt_in)
    assert (weights_s - weights_u).abs().max() > 1e-2 and (logits_s - logits_u).abs().max() > 1e-3


@pytest.mark.parametrize("flags, scaled", [([], True), (["--unscaled"], False)])
def test_the_cli_unscaled_flag_reaches_the_attention_of_the_model_it_trains(flags, scaled):
    from attn.cli.main import base_config, build_parser
    from attn.nn.models import build_model
    cfg = base_config(build_parser().parse_args(["train", "--preset", "tiny", *flags]))
    assert cfg.model.scaled is scaled
    torch.manual_seed(0)
    model = build_model(dataclasses.replace(cfg.model, variant="dot"), 15, 13).eval()
    _check_dot_weights(model, scaled)
