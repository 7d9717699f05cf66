"""The fused C kernel for additive attention against the PyTorch formula it replaces."""
import shutil

import pytest
import torch

from attn.nn import fused
from attn.nn.attention import AdditiveAttention
from attn.config import ModelConfig


@pytest.fixture
def unbuilt(monkeypatch, tmp_path):
    """The kernel as before its first use, with its build cache in tmp_path -> that folder."""
    monkeypatch.setattr(fused, "_tried", False)
    monkeypatch.setattr(fused, "_lib", None)
    monkeypatch.setattr(fused, "build_error", None)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(fused.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    return tmp_path


def _compiler(folder, script: str):
    """An executable `cc` in `folder` running the shell `script`."""
    path = folder / "cc"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return path


def test_the_kernel_builds_where_there_is_a_c_compiler():
    if not (shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")):
        pytest.skip("no C compiler on this machine: the PyTorch formula is used")
    assert fused.available(), fused.build_error


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 5, 7), (4, 9, 6, 130), (16, 20, 18, 128)])
def test_scores_and_gradients_equal_the_pytorch_formula(shape):
    if not fused.available():
        pytest.skip(fused.build_error)
    B, T, S, H = shape
    g = torch.Generator().manual_seed(sum(shape))
    att = AdditiveAttention(H)
    q = torch.randn(B, T, H, generator=g, requires_grad=True)
    k = torch.randn(B, S, H, generator=g, requires_grad=True)
    upstream = torch.randn(B, T, S, generator=g)
    upstream[:, :, -1] = 0.0  # as padding gets from the masked softmax: skipped by the kernel

    def run(score):
        q.grad = k.grad = att.v.weight.grad = None
        out = score()
        (out * upstream).sum().backward()
        return out.detach(), q.grad.clone(), k.grad.clone(), att.v.weight.grad.clone()

    reference = run(lambda: att.reference_score(q, k))
    kernel = run(lambda: fused.additive_scores(q, k, att.v.weight))
    for name, want, got in zip(("scores", "dq", "dk", "dv"), reference, kernel):
        scale = want.abs().max().item() + 1.0
        assert (got - want).abs().max().item() <= 2e-5 * scale, name


def test_tanh_approximation_is_within_a_few_ulp():
    if not fused.available():
        pytest.skip(fused.build_error)
    x = torch.linspace(-12, 12, 20001).reshape(1, -1, 1)
    got = fused.additive_scores(x, torch.zeros(1, 1, 1), torch.ones(1, 1))[0, :, 0].double()
    assert (got - torch.tanh(x[0, :, 0].double())).abs().max().item() < 1e-6


def test_an_additive_model_trains_the_same_with_and_without_the_kernel(monkeypatch, model_grads):
    if not fused.available():
        pytest.skip(fused.build_error)
    cfg = ModelConfig(variant="additive", emb=8, hidden=12)
    loss_k, weights_k, grads_k = model_grads(cfg)
    # only the attention goes back to PyTorch ops; the GRUs keep their own kernel
    monkeypatch.setattr(AdditiveAttention, "score", lambda self, query, keys:
                        self.reference_score(self.query_proj(query), keys))
    loss_r, weights_r, grads_r = model_grads(cfg)
    assert loss_k == pytest.approx(loss_r, abs=1e-6)
    assert torch.allclose(weights_k, weights_r, atol=1e-6)
    for got, want in zip(grads_k, grads_r):
        assert torch.allclose(got, want, atol=1e-5, rtol=1e-4)


def test_attn_fused_0_turns_the_kernel_off(monkeypatch, unbuilt):
    monkeypatch.setenv("ATTN_FUSED", "0")
    assert not fused.available()
    assert "ATTN_FUSED=0" in fused.build_error
    assert not fused.usable_for(torch.zeros(1))
    att = AdditiveAttention(4)  # and the attention still works, with the PyTorch formula
    weights = att(torch.randn(1, 2, 4), att.prepare(torch.randn(1, 3, 4)), torch.ones(1, 3, dtype=torch.bool))
    assert torch.allclose(weights.sum(-1), torch.ones(1, 2))


def test_a_failing_compiler_gives_a_reason_and_the_pytorch_formula(monkeypatch, unbuilt):
    monkeypatch.setenv("CC", str(_compiler(unbuilt, "echo 'error: this compiler is broken' >&2\nexit 1\n")))
    assert not fused.available()
    assert "this compiler is broken" in fused.build_error


def test_a_compiler_without_march_native_gets_a_portable_build(monkeypatch, unbuilt):
    real = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not real:
        pytest.skip("no C compiler on this machine")
    picky = _compiler(unbuilt, 'for a in "$@"; do [ "$a" = "-march=native" ] && '
                               '{ echo "error: -march=native is not supported" >&2; exit 1; }; done\n'
                               f'exec {real} "$@"\n')
    monkeypatch.setenv("CC", str(picky))
    assert fused.available(), fused.build_error
    assert len(list((unbuilt / "cache" / "attention-lab").glob("kernels-*.so"))) == 1
    q, k = torch.randn(2, 3, 8), torch.randn(2, 4, 8)
    v = torch.randn(1, 8)
    want = (torch.tanh(q[:, :, None] + k[:, None]) * v[0]).sum(-1)
    assert torch.allclose(fused.additive_scores(q, k, v), want, atol=1e-5)
