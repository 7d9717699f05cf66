"""The data every task and every imported corpus hands to the model: token pairs, splits, buckets.

A built-in task and an imported corpus both end as a `ParallelData`: three splits of `Pair`s whose
tokens are already split (words or characters). Gold alignments travel with the pairs so that the
evaluation can score where the attention looks, on tasks where the truth is known.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence


Alignment = frozenset  # frozenset[tuple[int, int]]: (target index, source index) gold links


@dataclass(frozen=True)
class Pair:
    """One source/target example. `align` holds (target index, source index) links, or None."""

    src: tuple[str, ...]
    tgt: tuple[str, ...]
    align: frozenset[tuple[int, int]] | None = None
    # Imported corpora: the target sentence as written (normalize_text; lowercased if asked), the reference
    # BLEU scores detokenized output against. None on built-in tasks, whose reference is the joined tokens.
    ref: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ParallelData:
    """Train/valid/test splits of one task or corpus, with how its tokens should be joined back."""

    name: str
    train: tuple[Pair, ...]
    valid: tuple[Pair, ...]
    test: tuple[Pair, ...]
    level: str = "word"  # "word" (tokens joined by spaces) or "char" (joined with nothing)
    report: dict = field(default_factory=dict)  # what loading kept, skipped and why

    @property
    def has_gold(self) -> bool:
        """True when every test pair carries a gold alignment (built-in tasks)."""
        return bool(self.test) and all(p.align is not None for p in self.test)

    def detok(self, tokens: Sequence[str]) -> str:
        """Join tokens back into a string for BLEU/chrF and for display."""
        return ("" if self.level == "char" else " ").join(tokens)


def split_pairs(pairs: Sequence[Pair], valid_frac: float = 0.1, test_frac: float = 0.1,
                seed: int = 0, min_eval: int = 1) -> tuple[tuple[Pair, ...], ...]:
    """Shuffle deterministically and cut into train/valid/test (each eval split gets >= min_eval)."""
    import random

    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    n = len(order)
    n_test = max(min_eval, int(round(n * test_frac))) if n >= 3 else 0
    n_valid = max(min_eval, int(round(n * valid_frac))) if n >= 3 else 0
    test = tuple(pairs[i] for i in order[:n_test])
    valid = tuple(pairs[i] for i in order[n_test:n_test + n_valid])
    train = tuple(pairs[i] for i in order[n_test + n_valid:])
    return train, valid, test


def bucket_edges(lengths: Sequence[int], n_buckets: int = 5) -> list[int]:
    """Edges of `n_buckets` equal-width buckets over the observed source lengths.

    Bucket k holds lengths in [edges[k], edges[k+1]); the last edge is max+1 so the longest
    sentence falls inside. Fewer buckets are returned when the range is too narrow to fill them.
    """
    if not lengths:
        raise ValueError("cannot derive bucket edges from an empty set of sentences")
    lo, hi = min(lengths), max(lengths) + 1
    n = max(1, min(n_buckets, hi - lo))
    width = (hi - lo) / n
    edges = sorted({lo + int(round(k * width)) for k in range(n)} | {hi})
    return edges


def parse_edges(text: str) -> list[int]:
    """Parse user bucket edges such as "0,10,20,30"; they must be increasing whole numbers."""
    try:
        edges = [int(x) for x in text.replace(" ", "").split(",") if x != ""]
    except ValueError:
        raise ValueError(f"bucket edges must be whole numbers separated by commas, got {text!r}") from None
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"bucket edges must be at least two strictly increasing numbers, got {text!r}")
    if edges[0] < 0:
        raise ValueError(f"bucket edges must not be negative, got {text!r}")
    return edges


class OpenEdges(list):
    """Bucket edges whose last bucket is open-ended: it holds every length from its lower edge up and is
    labelled so ("20+"). Its upper edge is still a number (the longest length it holds + 1), so `bucket_of`
    and a bucket's `hi` work as for any other bucket; it compares equal to the plain list of its edges."""


def _same_kind(edges: Sequence[int], values) -> list[int]:
    """`values` as edges of the same kind as `edges` (open-ended or not)."""
    return OpenEdges(values) if isinstance(edges, OpenEdges) else list(values)


def cover_lengths(edges: Sequence[int], lengths: Sequence[int]) -> list[int]:
    """User edges made to hold every length: every sentence falls in a bucket, so counts add up to the split.

    A bucket holds [edges[k], edges[k+1]). Sentences shorter than the first edge go into the first bucket:
    its lower edge is lowered to min(lengths) ([5, 10, 20] over 2..19 gives "2-9", "10-19"). Sentences as
    long as the last edge or longer get one more bucket, open-ended (OpenEdges): [0, 10, 20] over lengths
    3..34 gives "0-9", "10-19", "20+", its upper edge max(lengths) + 1. Edges that already cover are
    returned as given.
    """
    edges = list(edges)
    if len(edges) < 2:
        raise ValueError(f"bucket edges need at least two numbers, got {edges!r}")
    if lengths:
        edges[0] = min(edges[0], min(lengths))
        if max(lengths) + 1 > edges[-1]:
            return OpenEdges([*edges, max(lengths) + 1])
    return edges


def resolve_edges(data: ParallelData, edges: Sequence[int] | None, n_buckets: int = 5) -> list[int]:
    """The bucket edges a run is evaluated with: user `edges` widened to cover the test split's source
    lengths (cover_lengths), else `n_buckets` equal-width buckets over them (bucket_edges). Either way
    every test sentence falls in a bucket. Without a test split, the training split's lengths stand in.
    """
    lengths = [len(p.src) for p in data.test] or [len(p.src) for p in data.train]
    if edges:
        return cover_lengths(edges, lengths)
    return bucket_edges(lengths, n_buckets)


def bucket_of(length: int, edges: Sequence[int]) -> int | None:
    """Index k with edges[k] <= length < edges[k+1]; None when outside every bucket."""
    for k in range(len(edges) - 1):
        if edges[k] <= length < edges[k + 1]:
            return k
    return None


def bucket_label(edges: Sequence[int], k: int) -> str:
    """Human label of bucket k, inclusive on both ends: "10-19"; the open last bucket of OpenEdges: "20+"."""
    lo, hi = edges[k], edges[k + 1] - 1
    if isinstance(edges, OpenEdges) and k == len(edges) - 2:
        return f"{lo}+"
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def split_at_training(edges: list[int], data: ParallelData, automatic: bool) -> list[int]:
    """The bucket edges with one at the longest training source length + 1, so no bucket mixes seen and
    unseen lengths; edges that do not straddle it (the test range inside the training range) are kept.

    Bucket k holds [edges[k], edges[k+1]). Let c = max training source length + 1. User edges gain c
    (one bucket more). Automatic edges (equal width over the test lengths [lo, hi]) are made again on
    each side of c: the same number of buckets shared by width, n_seen = round(n (c - lo) / (hi + 1 - lo))
    held in 1..n-1, each side equal-width (`bucket_edges`); one bucket (n = 1) becomes two.
    """
    cut = max(len(p.src) for p in data.train) + 1
    if not edges[0] < cut < edges[-1]:
        return _same_kind(edges, edges)
    if not automatic:
        return _same_kind(edges, sorted(set(edges) | {cut}))  # an open last bucket stays open past the cut
    lo, hi, n = edges[0], edges[-1] - 1, len(edges) - 1
    n_seen = min(max(1, round(n * (cut - lo) / (hi + 1 - lo))), max(1, n - 1))
    return bucket_edges([lo, cut - 1], n_seen) + bucket_edges([cut, hi], max(1, n - n_seen))[1:]


def run_edges(data: ParallelData, edges: Sequence[int] | None, n_buckets: int = 5) -> list[int]:
    """The bucket edges a run is evaluated with, and the Data page shows: `resolve_edges` (covering every
    test sentence), then cut at the training length (`split_at_training`)."""
    return split_at_training(resolve_edges(data, edges, n_buckets), data, automatic=not edges)
