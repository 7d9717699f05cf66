"""reverse: a random symbol sequence -> the same sequence backwards.

Why: the simplest task where the right alignment is known and maximally far from the diagonal
(target i <-> source n-1-i, the anti-diagonal). Without attention the encoder must squeeze the whole
sequence into one vector, so accuracy falls with length; with attention it should not.
"""
from __future__ import annotations

import random
import string

from attn.data.pairs import Pair

ALPHABET = string.ascii_lowercase + string.ascii_uppercase + string.digits  # a-z, A-Z, 0-9: 62
DEFAULT_SYMBOLS = 40


def generate(rng: random.Random, min_len: int, max_len: int, n_symbols: int = DEFAULT_SYMBOLS) -> Pair:
    """n = uniform in [min_len, max_len]; src = n symbols from the first `n_symbols` of ALPHABET."""
    if isinstance(n_symbols, bool) or not isinstance(n_symbols, int) or not 2 <= n_symbols <= len(ALPHABET):
        raise ValueError(f"n_symbols = {n_symbols!r} is outside the allowed range 2..{len(ALPHABET)}")
    n = rng.randint(min_len, max_len)
    src = tuple(rng.choices(ALPHABET[:n_symbols], k=n))
    return Pair(src, src[::-1], frozenset((i, n - 1 - i) for i in range(n)))
