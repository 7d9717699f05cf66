"""Shared fixtures: tiny data sets built in the test itself, never read from disk."""
import os
import random
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
torch.set_num_threads(1)  # tests are small; one thread keeps them deterministic and quick

from attn.data import Pair, ParallelData  # noqa: E402

SYMBOLS = "abcdefghij"


def make_reverse(n: int, seed: int, lo: int = 2, hi: int = 8) -> tuple:
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        length = rng.randint(lo, hi)
        src = tuple(rng.choice(SYMBOLS) for _ in range(length))
        pairs.append(Pair(src, src[::-1], frozenset((i, length - 1 - i) for i in range(length))))
    return tuple(pairs)


@pytest.fixture
def reverse_data() -> ParallelData:
    return ParallelData("reverse-test", make_reverse(200, 1), make_reverse(20, 2), make_reverse(30, 3))
