"""sort: a random sequence of small whole numbers -> the same numbers in ascending order.

    src  "7 3 12 3"  ->  tgt  "3 3 7 12"      gold links (0,1) (1,3) (2,0) (3,2)

Why: the output is a permutation of the input that depends on every input token, so the alignment is
known exactly but follows no fixed pattern (neither the diagonal of copy nor the anti-diagonal of
reverse): the attention must find, at each step, the smallest number not yet written.

Each number is one token ("12" is one word, not two digits), compared as a number, not as text.
Gold alignment: target position t links to the source position its number came from. Equal numbers
are resolved stably, by source order: the first "3" written is the first "3" read (Python's `sorted`
is stable), so every target position has exactly one link and every source position is used once.
"""
from __future__ import annotations

import random

from attn.data.pairs import Pair

DEFAULT_VALUES = 40     # numbers are drawn from 0 .. n_symbols-1
MAX_VALUES = 1000


def generate(rng: random.Random, min_len: int, max_len: int, n_symbols: int = DEFAULT_VALUES) -> Pair:
    """n = uniform in [min_len, max_len]; src = n numbers uniform in 0..n_symbols-1; tgt = sorted(src)."""
    if isinstance(n_symbols, bool) or not isinstance(n_symbols, int) or not 2 <= n_symbols <= MAX_VALUES:
        raise ValueError(f"n_symbols = {n_symbols!r} is outside the allowed range 2..{MAX_VALUES}")
    n = rng.randint(min_len, max_len)
    return pair_of([rng.randrange(n_symbols) for _ in range(n)])


def pair_of(values: list[int]) -> Pair:
    """The pair for these source numbers: tgt[t] = src[order[t]], links (t, order[t])."""
    order = sorted(range(len(values)), key=values.__getitem__)  # stable: ties keep their source order
    return Pair(tuple(map(str, values)), tuple(str(values[s]) for s in order),
                frozenset(enumerate(order)))
