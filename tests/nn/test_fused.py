"""The C kernels: additive attention against the PyTorch formula it replaces, the build, the typed
wrappers that stand between tensors and raw pointers, and the one private symbol of torch they use."""
import ctypes
import inspect
import platform
import re
import shutil
import sys
from pathlib import Path

import pytest
import torch

from attn.nn import fused
from tests.nn.kernels import require_kernels
from attn.nn.attention import AdditiveAttention
from attn.config import ModelConfig

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements.txt"


needs_kernels = require_kernels  # tests/nn/kernels.py: skip locally, fail in CI


def _system_compiler() -> str | None:
    return shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


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
    if not _system_compiler():
        needs_kernels()  # no compiler: a skip locally, a failure in CI
    assert fused.available(), fused.build_error


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 5, 7), (4, 9, 6, 130), (16, 20, 18, 128)])
def test_scores_and_gradients_equal_the_pytorch_formula(shape):
    needs_kernels()
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
    needs_kernels()
    x = torch.linspace(-12, 12, 20001).reshape(1, -1, 1)
    got = fused.additive_scores(x, torch.zeros(1, 1, 1), torch.ones(1, 1))[0, :, 0].double()
    assert (got - torch.tanh(x[0, :, 0].double())).abs().max().item() < 1e-6


def test_an_additive_model_trains_the_same_with_and_without_the_kernel(monkeypatch, model_grads):
    needs_kernels()
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
    real = _system_compiler()
    if not real:
        needs_kernels()
        pytest.skip("no C compiler on PATH (the kernels come from $CC)")
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


def test_in_ci_a_missing_compiler_fails_the_kernel_tests_with_the_reason(monkeypatch, unbuilt):
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setattr(fused.shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI cannot build what users run.*no C compiler"):
        needs_kernels()
    monkeypatch.delenv("CI")  # locally the same machine skips, with the reason
    with pytest.raises(pytest.skip.Exception, match="no C compiler"):
        needs_kernels()


def test_in_ci_a_failed_build_fails_the_kernel_tests_with_the_compilers_error(monkeypatch, unbuilt):
    monkeypatch.setenv("CC", str(_compiler(unbuilt, "echo 'error: this compiler is broken' >&2\nexit 1\n")))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI cannot build what users run.*this compiler is broken"):
        needs_kernels()


# --- the typed wrappers: every tensor checked before a pointer leaves Python --------------------

SIZES = {"B": 2, "T": 3, "S": 5, "H": 4}   # distinct, so a tensor of the wrong size shows
WRAPPERS = {"additive_forward": fused.additive_forward, "additive_backward": fused.additive_backward,
            "gru_forward": fused.gru_forward, "gru_backward": fused.gru_backward}


def _shape(arg) -> tuple:
    return tuple(c * SIZES[s] for c, s in arg.dims)


def _valid_call(name: str) -> dict:
    """Keyword arguments for the typed wrapper `name` that agree with its C signature."""
    signature = next(s for s in fused.SIGNATURES if s.name == name)
    g = torch.Generator().manual_seed(0)
    values = {}
    for arg in signature.args:
        if arg.kind == "size":
            values[arg.name] = SIZES[arg.name]
        elif arg.kind == "flag":
            values[arg.name] = True
        elif arg.dtype == torch.int64:   # lengths: every row runs the whole length
            values[arg.name] = torch.full(_shape(arg), SIZES["T"], dtype=torch.int64)
        elif arg.kind == "tensor":
            values[arg.name] = torch.randn(_shape(arg), generator=g) * 0.1
    return {p: values[p] for p in inspect.signature(WRAPPERS[name]).parameters}


def _noncontiguous(tensor: torch.Tensor) -> torch.Tensor:
    """The same shape and values with every other element of a wider last dimension: strides (..., 2)."""
    wide = torch.zeros(*tensor.shape[:-1], 2 * tensor.shape[-1], dtype=tensor.dtype)
    wide[..., ::2] = tensor
    return wide[..., ::2]


def _grown(tensor: torch.Tensor) -> torch.Tensor:
    """One more row in the first dimension: what a size argument that disagrees with it looks like."""
    return torch.cat([tensor, tensor[:1]])


FAULTS = {  # fault -> (what it does to a tensor, the error, what the message must show)
    "bfloat16": (lambda t: t.to(torch.bfloat16), TypeError, "got bfloat16"),
    "float64": (lambda t: t.to(torch.float64), TypeError, "got float64"),
    "non-contiguous": (_noncontiguous, ValueError, "not contiguous"),
    "wrong shape": (_grown, ValueError, "got .* shape \\("),
}
CASES = [(name, arg.name, fault) for s in fused.SIGNATURES for name in [s.name]
         for arg in s.args if arg.kind == "tensor" for fault in FAULTS]


def test_every_kernel_entry_point_has_a_typed_wrapper():
    assert set(WRAPPERS) == {s.name for s in fused.SIGNATURES}


@pytest.mark.parametrize("name", WRAPPERS)
def test_arguments_that_agree_with_the_signature_reach_the_kernel(name):
    needs_kernels()
    kwargs = _valid_call(name)
    written = [a.name for s in fused.SIGNATURES if s.name == name for a in s.args if a.c_type == "float *"]
    before = {w: kwargs[w].clone() for w in written}
    WRAPPERS[name](**kwargs)
    assert any(not torch.equal(kwargs[w], before[w]) for w in written)   # the kernel wrote its outputs


@pytest.mark.parametrize("name,argument,fault", CASES)
def test_a_wrong_tensor_raises_naming_kernel_argument_got_and_needed(name, argument, fault):
    make, error, shows = FAULTS[fault]
    kwargs = _valid_call(name)
    wrong = make(kwargs[argument])
    kwargs[argument] = wrong
    with pytest.raises(error) as raised:
        WRAPPERS[name](**kwargs)
    message = str(raised.value)
    assert message.startswith(f"{name}: argument {argument!r} needs a contiguous ")
    assert re.search(shows, message), message
    needed = "int64" if argument == "lengths" else "float32"
    assert f"contiguous {needed} CPU tensor" in message
    assert f"strides {wrong.stride()}" in message and f"shape {tuple(wrong.shape)}" in message


def test_a_wrong_tensor_names_the_shape_its_size_arguments_give():
    kwargs = _valid_call("gru_forward")
    kwargs["gates"] = torch.zeros(3, 2, 15)     # needs (T, B, 4H) = (3, 2, 16)
    with pytest.raises(ValueError, match=re.escape("shape (T, B, 4H) = (3, 2, 16) for T=3, B=2, H=4; "
                                                   "got float32 shape (3, 2, 15)")):
        fused.gru_forward(**kwargs)


def test_a_size_that_disagrees_with_every_tensor_is_refused_before_the_kernel_runs():
    kwargs = _valid_call("additive_forward")
    kwargs["S"] = 1000                          # the kernel would read k and write scores far past their end
    with pytest.raises(ValueError, match="argument 'k' needs .* = \\(2, 1000, 4\\)"):
        fused.additive_forward(**kwargs)


def test_lengths_may_be_none_but_no_other_tensor():
    kwargs = _valid_call("gru_backward")
    kwargs["lengths"] = None
    kwargs["dout"] = None
    with pytest.raises(TypeError, match="gru_backward: argument 'dout' needs .*; got NoneType"):
        fused.gru_backward(**kwargs)


def test_bfloat16_scores_under_autocast_raise_instead_of_reaching_the_kernel():
    """What once corrupted the heap: bfloat16 projections handed to the float32 kernel."""
    q, k, v = torch.randn(2, 3, 4), torch.randn(2, 5, 4), torch.randn(1, 4)
    with pytest.raises(TypeError, match="additive_forward: argument 'q' .* got bfloat16"):
        fused.additive_scores(q.bfloat16(), k.bfloat16(), v.bfloat16())


def test_the_signatures_are_the_prototypes_in_the_c_sources():
    source = " ".join(p.read_text() for p in fused.SOURCES)
    for signature in fused.SIGNATURES:
        found = re.search(rf"\bvoid {signature.name}\((.*?)\)\s*{{", source, re.S)
        assert found, f"no definition of {signature.name} in {[p.name for p in fused.SOURCES]}"
        in_c = f"void {signature.name}({' '.join(found.group(1).split())})"
        assert in_c == signature.prototype()


# --- the one private symbol: sgemm_ from libtorch_cpu, behind fused.blas_sgemm -----------------

def _pinned_torch() -> str:
    pins = re.findall(r"^torch==(\S+)", REQUIREMENTS.read_text(), re.M)
    assert pins, f"{REQUIREMENTS} pins no torch version (torch==X.Y.Z)"
    return pins[0]


def test_the_pinned_torch_still_exports_sgemm_from_libtorch_cpu():
    """Fails loudly (not a skip) when the pinned torch's private sgemm_ moves: the kernel still runs,
    on its fallback, so nothing else would notice the slowdown."""
    pinned, running = _pinned_torch(), torch.__version__.split("+")[0]
    if running != pinned:
        pytest.skip(f"the private path is checked on the pinned torch {pinned}; this is {running}")
    if not (sys.platform == "linux" and platform.machine() in ("x86_64", "AMD64")):
        pytest.skip(f"torch's Linux x86 wheels export sgemm_ (MKL); this is {sys.platform}/{platform.machine()}")
    version = ".".join(running.split(".")[:2])
    if fused.blas_sgemm() is None:
        pytest.fail(f"torch {version} no longer exports sgemm_ from libtorch_cpu; the GRU kernel falls "
                    f"back to {fused.SGEMM_FALLBACK}. Update fused.blas_sgemm for the new build or "
                    f"accept the fallback.", pytrace=False)
    # and it is still the Fortran-ABI sgemm with 32-bit ints the kernel calls: C (2x4) = A (2x3) B (3x4)
    sgemm = ctypes.CFUNCTYPE(None, *[ctypes.c_char_p] * 2, *[ctypes.POINTER(ctypes.c_int)] * 3,
                             ctypes.POINTER(ctypes.c_float), ctypes.c_void_p, ctypes.POINTER(ctypes.c_int),
                             ctypes.c_void_p, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_float),
                             ctypes.c_void_p, ctypes.POINTER(ctypes.c_int))(fused.blas_sgemm())
    a, b, c = torch.randn(2, 3), torch.randn(3, 4), torch.zeros(2, 4)
    i = lambda n: ctypes.byref(ctypes.c_int(n))  # noqa: E731
    one, zero = ctypes.c_float(1.0), ctypes.c_float(0.0)
    # row-major C = A B is column-major C^T = B^T A^T: m=4, n=2, k=3
    sgemm(b"N", b"N", i(4), i(2), i(3), ctypes.byref(one), b.data_ptr(), i(4), a.data_ptr(), i(3),
          ctypes.byref(zero), c.data_ptr(), i(4))
    assert torch.allclose(c, a @ b, atol=1e-6), (f"torch {version}'s sgemm_ in libtorch_cpu no longer "
                                                 f"computes a product with the kernel's calling convention")


def test_without_the_private_symbol_the_adapter_answers_the_fallback(monkeypatch):
    monkeypatch.setattr(fused.glob, "glob", lambda pattern: ["/nonexistent/libtorch_cpu.so"])
    assert fused.blas_sgemm.__wrapped__() is None
