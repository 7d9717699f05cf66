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
    floats = ctypes.c_void_p
    n = ctypes.c_long
    lib.additive_forward.argtypes = [floats] * 4 + [n] * 4
    lib.additive_backward.argtypes = [floats] * 7 + [n] * 4
    lib.additive_forward.restype = lib.additive_backward.restype = None
    lib.gru_forward.argtypes = [floats] * 10 + [n] * 3 + [ctypes.c_int, floats]
    lib.gru_backward.argtypes = [floats] * 8 + [n] * 3 + [ctypes.c_int, floats]
    lib.gru_forward.restype = lib.gru_backward.restype = None
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


@functools.cache
def sgemm_pointer() -> int | None:
    """The address of the BLAS `sgemm_` PyTorch itself calls (MKL in the Linux x86 wheels), or None.

    The GRU kernel's matrix products go through it, so they run at the speed and with the thread
    setting of PyTorch's own; where the symbol is not exported (other builds) the kernel's plain C
    loops do the products instead.
    """
    for path in sorted(glob.glob(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.*"))):
        try:
            return ctypes.cast(ctypes.CDLL(path).sgemm_, ctypes.c_void_p).value
        except (OSError, AttributeError):
            continue
    return None


class AdditiveScores(torch.autograd.Function):
    """scores (B, T, S) = v^T tanh(q[:, :, None] + k[:, None]) with q (B, T, H), k (B, S, H), v (H,)."""

    @staticmethod
    def forward(ctx, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
        (B, T, H), S = q.shape, k.size(1)
        scores = q.new_empty((B, T, S))
        kernel().additive_forward(q.data_ptr(), k.data_ptr(), v.data_ptr(), scores.data_ptr(), B, T, S, H)
        ctx.save_for_backward(q, k, v)
        return scores

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        q, k, v = ctx.saved_tensors
        grad = grad.contiguous()
        (B, T, H), S = q.shape, k.size(1)
        dq, dk, dv = torch.zeros_like(q), torch.zeros_like(k), torch.zeros_like(v)
        kernel().additive_backward(q.data_ptr(), k.data_ptr(), v.data_ptr(), grad.data_ptr(),
                                    dq.data_ptr(), dk.data_ptr(), dv.data_ptr(), B, T, S, H)
        return dq, dk, dv


def additive_scores(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The fused scores; call only where `usable_for(q, k, v)` is True."""
    return AdditiveScores.apply(q, k, v.reshape(-1))
