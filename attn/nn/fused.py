"""The C kernels (kernels/*.c): built on first use, loaded with ctypes, PyTorch if they can't be.

Two kernels, both for one reason -- on a CPU at lecture sizes PyTorch's per-operator overhead, not the
arithmetic, was most of a training step:
  additive.c  additive attention's scores and their gradients (used by attention.py)
  gru.c       a GRU layer's recurrence over all steps and its backward pass (used by recurrence.py)

Additive attention's score tensor v^T tanh(W s_t + U h_j) has B*T*S*H elements; PyTorch's eager ops
write and read it about eight times per training step, which made the additive model ~1.7x slower
per step than the dot model. The C kernel computes each element in registers, forward and backward
(recomputing tanh there instead of storing it), in one pass each. Both are plain C on raw float
pointers, compiled with the system's C compiler in about a second -- no PyTorch headers, no build
step at install time -- and cached per source, compiler flags and CPU.

Where there is no compiler, the build fails, or ATTN_FUSED=0 is set, `available()` is False and the
model uses the PyTorch formulas (the references the kernels are tested against).

Callers go through the typed wrappers below (additive_forward/backward, gru_forward/backward), never
the library's raw functions: each checks every tensor's dtype, device, contiguity and exact shape
against its C signature (kernel_abi.py) before a pointer leaves Python, and raises if one is wrong.
"""
from __future__ import annotations

import ctypes
import functools
import glob
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import torch

from attn.nn.kernel_abi import Signature, flag, floats, function, int64s, size

KERNELS = Path(__file__).with_name("kernels")
SOURCES = (KERNELS / "additive.c", KERNELS / "gru.c")   # compiled together into one library
HEADERS = (KERNELS / "fast_tanh.h",)                    # included by them: part of the cache key
FLAGS = ["-O3", "-fopenmp-simd", "-fno-math-errno", "-fPIC", "-shared"]
# Tried in order: this CPU's full vector width first; compilers that do not know -march=native
# (some clang builds on ARM) still get a portable build.
TUNINGS = (["-march=native"], [])

_lib: ctypes.CDLL | None = None
_tried = False
build_error: str | None = None  # why the kernel is not in use, for the Settings/About text and tests


def _cpu_signature() -> str:
    """-march=native code runs only on CPUs like this one: the cache key names the CPU model and flags."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            lines = [l for l in f if l.startswith(("model name", "flags"))][:2]
    except OSError:
        lines = []
    return platform.machine() + "".join(lines)


def _cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "attention-lab"


def _build(compiler: str) -> Path:
    """The compiled kernel, from the cache or built now; the first tuning the compiler accepts."""
    errors = []
    for tuning in TUNINGS:
        try:
            return _build_with(compiler, [*FLAGS, *tuning])
        except RuntimeError as exc:
            errors.append(str(exc))
    raise RuntimeError("; ".join(errors))


def _build_with(compiler: str, flags: list[str]) -> Path:
    source = b"".join(path.read_bytes() for path in SOURCES + HEADERS)
    key = hashlib.sha256(source + " ".join([compiler, *flags]).encode() + _cpu_signature().encode())
    for folder in (_cache_dir(), Path(tempfile.gettempdir()) / f"attention-lab-{getattr(os, 'getuid', lambda: 'user')()}"):
        target = folder / f"kernels-{key.hexdigest()[:16]}.so"
        if target.exists():
            return target
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        # Several workers may build at once: each writes its own file, the rename is atomic.
        fd, partial = tempfile.mkstemp(suffix=".so", dir=folder)
        os.close(fd)
        try:
            subprocess.run([compiler, *flags, *map(str, SOURCES), "-o", partial], check=True,
                           capture_output=True, text=True, timeout=120)
            os.replace(partial, target)
            return target
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"{compiler} failed: {exc.stderr.strip()[:500]}") from exc
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
    raise RuntimeError("no writable cache folder for the compiled kernel")


def _load() -> ctypes.CDLL | None:
    global _lib, _tried, build_error
    if _tried:
        return _lib
    _tried = True
    if os.environ.get("ATTN_FUSED", "1") == "0":
        build_error = "turned off by ATTN_FUSED=0"
        return None
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not compiler:
        build_error = "no C compiler (cc, gcc or clang) found"
        return None
    try:
        lib = ctypes.CDLL(str(_build(compiler)))
    except Exception as exc:  # whatever stops the build, the PyTorch formula still works: say why
        build_error = str(exc) or type(exc).__name__
        return None
    for signature in SIGNATURES:
        signature.bind(lib)
    _lib = lib
    return _lib


def available() -> bool:
    """Whether the compiled kernel is in use (built or loaded on the first call)."""
    return _load() is not None


def usable_for(*tensors: torch.Tensor) -> bool:
    """The kernel takes float32 CPU tensors; anything else (CUDA, float64, autocast) uses PyTorch."""
    if torch.is_autocast_enabled("cpu"):  # its products would hand the kernel bfloat16 inputs
        return False
    return all(t.device.type == "cpu" and t.dtype == torch.float32 for t in tensors) and available()


def kernel() -> ctypes.CDLL:
    """The loaded library; call only where `available()` is True."""
    lib = _load()
    if lib is None:
        raise RuntimeError(f"the fused kernels are not available: {build_error}")
    return lib


# The one private part of torch used here, behind this adapter; what the kernel does without it.
SGEMM_FALLBACK = "its own plain C loops for the matrix products (the same results to float rounding, slower)"


@functools.cache
def blas_sgemm() -> int | None:
    """The address of the BLAS `sgemm_` for the GRU kernel's matrix products, or None for the fallback.

    Private path: libtorch_cpu exports the `sgemm_` of the BLAS it links (MKL in the Linux x86
    wheels), not an API torch documents; through it the kernel's products run at the speed and with
    the thread setting of PyTorch's own. Public fallback: None, and the kernel uses SGEMM_FALLBACK
    (only our own code). tests/nn/test_fused.py fails loudly if the pinned torch stops exporting it.
    """
    for path in sorted(glob.glob(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.*"))):
        try:
            return ctypes.cast(ctypes.CDLL(path).sgemm_, ctypes.c_void_p).value
        except (OSError, AttributeError):
            continue
    return None


# Each entry point's C prototype, written once (kernel_abi.py): ctypes' argtypes and the checks
# every call makes -- dtype, device, contiguity and the exact shape in the size arguments -- come
# from these; tests/nn/test_fused.py checks they match the prototypes in kernels/*.c.

ADDITIVE_FORWARD = Signature(
    "additive_forward",
    floats("q", "B T H"), floats("k", "B S H"), floats("v", "H"), floats("scores", "B T S", written=True),
    size("B"), size("T"), size("S"), size("H"))


def additive_forward(q, k, v, scores, B: int, T: int, S: int, H: int) -> None:
    """scores (B, T, S) = v^T tanh(q[:, :, None] + k[:, None]), written into `scores`."""
    ADDITIVE_FORWARD.call(kernel, q, k, v, scores, B, T, S, H)


ADDITIVE_BACKWARD = Signature(
    "additive_backward",
    floats("q", "B T H"), floats("k", "B S H"), floats("v", "H"), floats("g", "B T S"),
    floats("dq", "B T H", written=True), floats("dk", "B S H", written=True), floats("dv", "H", written=True),
    size("B"), size("T"), size("S"), size("H"))


def additive_backward(q, k, v, g, dq, dk, dv, B: int, T: int, S: int, H: int) -> None:
    """dq, dk, dv (zero on entry) += the gradients of sum(g * scores); equations in kernels/additive.c."""
    ADDITIVE_BACKWARD.call(kernel, q, k, v, g, dq, dk, dv, B, T, S, H)


GRU_FORWARD = Signature(
    "gru_forward",
    floats("gi", "B T 3H"), floats("h0", "B H"), floats("W", "3H H"), floats("bias", "3H"),
    int64s("lengths", "B", optional=True),
    floats("out", "B T H", written=True), floats("h", "B H", written=True),
    floats("gates", "T B 4H", written=True), floats("hprev", "T B H", written=True),
    floats("gh", "B 3H", written=True),
    size("B"), size("T"), size("H"), flag("reverse"), function("sgemm", "sgemm_fn"))


def gru_forward(gi, h0, W, bias, lengths, out, h, gates, hprev, gh,
                B: int, T: int, H: int, reverse: bool) -> None:
    """The GRU recurrence over gi (B, T, 3H) from h0 (B, H): out (B, T, H), final h (B, H), and
    gates/hprev saved for the backward pass; gh (B, 3H) is scratch. Equations in kernels/gru.c."""
    GRU_FORWARD.call(kernel, gi, h0, W, bias, lengths, out, h, gates, hprev, gh, B, T, H, reverse,
                     blas_sgemm())


GRU_BACKWARD = Signature(
    "gru_backward",
    floats("W", "3H H"), int64s("lengths", "B", optional=True), floats("gates", "T B 4H"),
    floats("hprev", "T B H"), floats("dout", "B T H"), floats("dh", "B H", written=True),
    floats("dgi", "B T 3H", written=True), floats("dgh", "T B 3H", written=True),
    size("B"), size("T"), size("H"), flag("reverse"), function("sgemm", "sgemm_fn"))


def gru_backward(W, lengths, gates, hprev, dout, dh, dgi, dgh,
                 B: int, T: int, H: int, reverse: bool) -> None:
    """From dout (B, T, H) and dh (B, H, the final state's gradient; d h0 on return): dgi (B, T, 3H)
    and dgh (T, B, 3H), indexed by processing step. Equations in kernels/gru.c."""
    GRU_BACKWARD.call(kernel, W, lengths, gates, hprev, dout, dh, dgi, dgh, B, T, H, reverse, blas_sgemm())


SIGNATURES = (ADDITIVE_FORWARD, ADDITIVE_BACKWARD, GRU_FORWARD, GRU_BACKWARD)


class AdditiveScores(torch.autograd.Function):
    """scores (B, T, S) = v^T tanh(q[:, :, None] + k[:, None]) with q (B, T, H), k (B, S, H), v (H,)."""

    @staticmethod
    def forward(ctx, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
        (B, T, H), S = q.shape, k.size(1)
        scores = q.new_empty((B, T, S))
        additive_forward(q, k, v, scores, B, T, S, H)
        ctx.save_for_backward(q, k, v)
        return scores

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        q, k, v = ctx.saved_tensors
        grad = grad.contiguous()
        (B, T, H), S = q.shape, k.size(1)
        dq, dk, dv = torch.zeros_like(q), torch.zeros_like(k), torch.zeros_like(v)
        additive_backward(q, k, v, grad, dq, dk, dv, B, T, S, H)
        return dq, dk, dv


def additive_scores(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The fused scores; call only where `usable_for(q, k, v)` is True."""
    return AdditiveScores.apply(q, k, v.reshape(-1))


# ------------------------------------------------------------------ the output layer and its loss, fused

LOSS_CHUNK_BYTES = 4 << 20  # logits alive at once: 4 MB, (82, V) floats at V = 12,000 (in the L2/L3 cache)


def chunk_rows(vocab: int) -> int:
    """Rows of logits per chunk: as many as fit LOSS_CHUNK_BYTES, at least one."""
    return max(1, LOSS_CHUNK_BYTES // (4 * max(vocab, 1)))


class LinearCrossEntropy(torch.autograd.Function):
    """loss = sum_i [logsumexp_v z_iv - z_i,y_i],  z = x W^T + b   (x (N, D), W (V, D), b (V,), y (N,)).

    The output layer and its cross-entropy in one pass over chunk_rows(V) rows at a time: the (N, V)
    logits never exist whole, and the gradients are formed where the logits are, while they are in the
    cache:  dz = softmax(z) - onehot(y),  dx = dz W,  dW = dz^T x,  db = sum_i dz_i,  each scaled by the
    incoming gradient in backward. PyTorch's F.cross_entropy(F.linear(x, W, b), y) writes and reads
    the (N, V) matrix about eight times (logits, log-probabilities, a zero-filled gradient, its
    scatter, the softmax backward, a copy); at a 10,000-word vocabulary those passes, not the matrix
    products, were most of a training step. Here one buffer holds a chunk's logits, then its softmax
    (m = max_v z, e = exp(z - m) in place, s = sum_v e, logsumexp = m + log s, softmax = e / s), then
    dz. Same loss and gradients up to float rounding (tested).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, target: torch.Tensor):
        need_grads = any(ctx.needs_input_grad[:3])
        total = x.new_zeros(())
        dx = torch.empty_like(x) if need_grads else None
        dw = torch.zeros_like(weight) if need_grads else None
        db = torch.zeros_like(bias) if need_grads else None
        weight_t = weight.t()                                                      # (D, V)
        step = chunk_rows(weight.size(0))
        buffer = x.new_empty(min(step, x.size(0)), weight.size(0))                 # (n, V), reused
        for start in range(0, x.size(0), step):
            xs, ys = x[start:start + step], target[start:start + step]             # (n, D), (n,)
            n = xs.size(0)
            z = torch.addmm(bias, xs, weight_t, out=buffer[:n])                    # (n, V) logits
            picked = z.gather(1, ys[:, None])                                      # (n, 1) z_i,y_i
            top = z.amax(dim=1, keepdim=True)                                      # (n, 1) m
            z.sub_(top).exp_()                                                     # e = exp(z - m)
            norm = z.sum(dim=1, keepdim=True)                                      # (n, 1) s
            total += (top + norm.log() - picked).sum()                             # logsumexp - z_y
            if need_grads:
                dz = z.div_(norm)                                                  # softmax, in place
                dz[torch.arange(n, device=dz.device), ys] -= 1.0                   # - onehot(y)
                torch.mm(dz, weight, out=dx[start:start + n])                      # (n, D)
                torch.addmm(dw, dz.t(), xs, out=dw)                                # (V, D) +=
                db += dz.sum(dim=0)                                                # (V,)
        ctx.save_for_backward(dx, dw, db)
        return total

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        dx, dw, db = ctx.saved_tensors
        return dx * grad, dw * grad, db * grad, None


def linear_cross_entropy(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                         target: torch.Tensor) -> torch.Tensor:
    """Summed cross-entropy of the logits x W^T + b (x (N, D), W (V, D), b (V,)) against target (N,)."""
    if not torch.is_grad_enabled():
        return LinearCrossEntropy.forward(_NoContext(), x, weight, bias, target)
    return LinearCrossEntropy.apply(x, weight, bias, target)


class _NoContext:
    """What LinearCrossEntropy.forward needs of a context when nothing will be differentiated."""

    needs_input_grad = (False, False, False, False)

    def save_for_backward(self, *tensors) -> None:
        pass
