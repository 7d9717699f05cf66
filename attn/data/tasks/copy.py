"""copy: a random symbol sequence -> the same sequence.

Why: the easiest task with a known alignment, the diagonal (target i <-> source i). It is the control
of the length-generalisation experiments: a model trained on short sequences that cannot copy a long
one has not learnt to read by position, whatever it does on the harder tasks.
"""
from __future__ import annotations

import random

from attn.data.pairs import Pair
from attn.data.tasks.reverse import ALPHABET, DEFAULT_SYMBOLS


def generate(rng: random.Random, min_len: int, max_len: int, n_symbols: int = DEFAULT_SYMBOLS) -> Pair:
    """n = uniform in [min_len, max_len]; src = n symbols from the first `n_symbols` of ALPHABET; tgt = src."""
    if isinstance(n_symbols, bool) or not isinstance(n_symbols, int) or not 2 <= n_symbols <= len(ALPHABET):
        raise ValueError(f"n_symbols = {n_symbols!r} is outside the allowed range 2..{len(ALPHABET)}")
    n = rng.randint(min_len, max_len)
    src = tuple(rng.choices(ALPHABET[:n_symbols], k=n))
    return Pair(src, src, frozenset((i, i) for i in range(n)))
