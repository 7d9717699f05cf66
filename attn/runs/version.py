"""The code version a run was trained by: what lets a stored run answer for a new request.

A run's result is computed by the config, the data, the model, the training loop and the evaluation
(and the C kernels they call), so only those sources count. Charts, pages, the CLI and the store do
not change what a run computes: editing them must not invalidate every cached and preloaded run.
"""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import attn

# What computes a run, relative to the attn package: modules and whole packages.
COMPUTES_A_RUN = ("config", "records.py", "data", "nn", "training")  # records: Decode, BucketRow
NOT_A_RESULT = ("training/bench.py",)  # measures speed; trains nothing that is stored
SOURCE_SUFFIXES = (".py", ".c", ".h")


def result_sources(root: Path) -> list[Path]:
    """Every source file under `root` (the attn package) that determines a trained result, sorted."""
    found = []
    for entry in COMPUTES_A_RUN:
        path = root / entry
        found += [path] if path.is_file() else [p for p in path.rglob("*") if p.suffix in SOURCE_SUFFIXES]
    return sorted(p for p in found if p.relative_to(root).as_posix() not in NOT_A_RESULT)


def source_hash(root: Path) -> str:
    """A short hash over the names and contents of `result_sources(root)`."""
    digest = hashlib.sha256()
    for path in result_sources(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:10]


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """attn.__version__ + "+" + the hash of what computes a run; computed once per process."""
    return f"{attn.__version__}+{source_hash(Path(attn.__file__).parent)}"
