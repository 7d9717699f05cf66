"""The C kernels' calling convention: each signature written once, checked before a pointer leaves Python.

A kernel in kernels/*.c reads and writes raw float pointers over the sizes it is given; it cannot
tell a float32 buffer from a bfloat16 one, a transposed view from a contiguous tensor, or a tensor
one row too short. Handed any of those it reads or writes past the end -- once, a bfloat16 input
under CPU autocast killed the process with heap corruption. So every entry point is described here
as its C prototype is, argument by argument, with the shape of each tensor in the size arguments:

    ADDITIVE_FORWARD = Signature("additive_forward",
        floats("q", "B T H"), floats("k", "B S H"), floats("v", "H"),
        floats("scores", "B T S", written=True), size("B"), size("T"), size("S"), size("H"))

From that one description come ctypes' argtypes/restype (`bind`), the C prototype a test compares
with the source (`prototype`), and the checks `call` makes on every call: each tensor is a
torch.Tensor, float32 (int64 for int64s), on the CPU, contiguous, and exactly the shape its size
arguments give ("B T 3H" with T=5, H=4 is (B, 5, 12)), so the sizes C loops over always agree with
the buffers. A wrong argument raises TypeError (type, dtype, device) or ValueError (layout, shape)
naming the kernel, the argument, what it got (dtype, shape, strides, device) and what it needs.
A few Python comparisons per tensor: microseconds against a kernel call's milliseconds.
"""
from __future__ import annotations

import ctypes
from typing import Callable, NamedTuple

import torch


class Arg(NamedTuple):
    """One parameter of a kernel's C prototype."""
    name: str
    kind: str                                  # "tensor", "size", "flag" or "function"
    c_type: str                                # as the C source spells it: "const float *", "long"
    dtype: torch.dtype | None = None           # a tensor's element type
    dims: tuple[tuple[int, str], ...] = ()     # a tensor's shape: "B T 3H" -> ((1, "B"), (1, "T"), (3, "H"))
    optional: bool = False                     # a tensor that may be None (NULL)

    @property
    def declaration(self) -> str:
        """The parameter as C declares it: `const float *q`, `long B`."""
        return f"{self.c_type}{self.name}" if self.c_type.endswith("*") else f"{self.c_type} {self.name}"

    @property
    def symbolic_shape(self) -> str:
        """The shape in size names: "(B, T, 3H)", "(H,)"."""
        names = [f"{c if c != 1 else ''}{s}" for c, s in self.dims]
        return "(" + ", ".join(names) + ("," if len(names) == 1 else "") + ")"


def _dims(shape: str) -> tuple[tuple[int, str], ...]:
    """A shape in size names to (multiple, name) pairs: "B T 3H" -> ((1, "B"), (1, "T"), (3, "H"))."""
    dims = []
    for part in shape.split():
        digits = len(part) - len(part.lstrip("0123456789"))
        dims.append((int(part[:digits] or 1), part[digits:]))
    return tuple(dims)


def floats(name: str, shape: str, *, written: bool = False) -> Arg:
    """A float32 tensor passed as `const float *` (read) or `float *` (written)."""
    return Arg(name, "tensor", "float *" if written else "const float *", torch.float32, _dims(shape))


def int64s(name: str, shape: str, *, optional: bool = False) -> Arg:
    """An int64 tensor passed as `const int64_t *`; with optional=True, None passes NULL."""
    return Arg(name, "tensor", "const int64_t *", torch.int64, _dims(shape), optional)


def size(name: str) -> Arg:
    """A size the tensors' shapes are written in (B, T, S, H), passed as `long`."""
    return Arg(name, "size", "long")


def flag(name: str) -> Arg:
    """A 0/1 switch passed as `int`."""
    return Arg(name, "flag", "int")


def function(name: str, c_type: str) -> Arg:
    """A C function pointer (an int address, or None for NULL), e.g. the BLAS sgemm_."""
    return Arg(name, "function", c_type)


_CTYPES = {"tensor": ctypes.c_void_p, "size": ctypes.c_long, "flag": ctypes.c_int, "function": ctypes.c_void_p}


class Signature:
    """A kernel entry point `void name(args...)`: its ctypes binding and its checked call."""

    def __init__(self, name: str, *args: Arg):
        self.name = name
        self.args = args
        self.sizes = tuple((i, a.name) for i, a in enumerate(args) if a.kind == "size")
        self.tensors = tuple((i, a) for i, a in enumerate(args) if a.kind == "tensor")
        self.flags = tuple(i for i, a in enumerate(args) if a.kind == "flag")
        self.functions = tuple((i, a.name) for i, a in enumerate(args) if a.kind == "function")
        for _, arg in self.tensors:
            unknown = {s for _, s in arg.dims} - {n for _, n in self.sizes}
            if unknown:
                raise ValueError(f"{name}: tensor {arg.name!r} is shaped in {sorted(unknown)}, "
                                 f"which are not size arguments of the kernel")

    def prototype(self) -> str:
        """`void name(const float *q, ..., long H)`, as the C source declares it."""
        return f"void {self.name}({', '.join(a.declaration for a in self.args)})"

    def bind(self, lib: ctypes.CDLL) -> None:
        """Declare the function's argtypes and restype in `lib` from this description."""
        fn = getattr(lib, self.name)
        fn.argtypes = [_CTYPES[a.kind] for a in self.args]
        fn.restype = None

    def call(self, library: Callable[[], ctypes.CDLL], *values) -> None:
        """Check every argument against this signature, then call the kernel in `library()` with
        data pointers (the library is asked for only once the arguments passed)."""
        if len(values) != len(self.args):
            raise TypeError(f"{self.name}: takes {len(self.args)} arguments "
                            f"({', '.join(a.name for a in self.args)}), got {len(values)}")
        c_args = list(values)
        sizes = {}
        for i, name in self.sizes:
            n = values[i]
            if type(n) is not int or n < 0:
                raise TypeError(f"{self.name}: size {name} must be a non-negative int, got {n!r}")
            sizes[name] = n
        for i, arg in self.tensors:
            c_args[i] = self._pointer(arg, values[i], sizes)
        for i in self.flags:
            c_args[i] = 1 if values[i] else 0
        for i, name in self.functions:
            if values[i] is not None and type(values[i]) is not int:
                raise TypeError(f"{self.name}: {name} must be a function address (int) or None, "
                                f"got {type(values[i]).__name__}")
        getattr(library(), self.name)(*c_args)

    def _pointer(self, arg: Arg, tensor, sizes: dict[str, int]) -> int | None:
        """The tensor's data pointer once it is exactly what the kernel reads or writes there."""
        if tensor is None and arg.optional:
            return None
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"{self._needs(arg, sizes)}; got {type(tensor).__name__}")
        if tensor.dtype is not arg.dtype or not tensor.is_cpu:
            raise TypeError(self._mismatch(arg, tensor, sizes))
        if tensor.shape != tuple([c * sizes[s] for c, s in arg.dims]) or not tensor.is_contiguous():
            raise ValueError(self._mismatch(arg, tensor, sizes))
        return tensor.data_ptr()

    def _needs(self, arg: Arg, sizes: dict[str, int]) -> str:
        shape = tuple(c * sizes[s] for c, s in arg.dims)
        given = ", ".join(f"{s}={sizes[s]}" for s in dict.fromkeys(s for _, s in arg.dims))
        none = " (or None)" if arg.optional else ""
        dtype = str(arg.dtype).removeprefix("torch.")
        return (f"{self.name}: argument {arg.name!r} needs a contiguous {dtype} CPU tensor{none} "
                f"of shape {arg.symbolic_shape} = {tuple(shape)} for {given}")

    def _mismatch(self, arg: Arg, tensor: torch.Tensor, sizes: dict[str, int]) -> str:
        contiguous = "contiguous" if tensor.is_contiguous() else "not contiguous"
        return (f"{self._needs(arg, sizes)}; got {str(tensor.dtype).removeprefix('torch.')} shape "
                f"{tuple(tensor.shape)} strides {tensor.stride()} ({contiguous}) on {tensor.device}")
