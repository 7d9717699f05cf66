"""addition: two whole numbers written digit by digit -> their sum, digit by digit.

    src  "3 4 7 + 5 8"  ->  tgt  "4 0 5"

Format: every digit is one token and "+" is one token; numbers are written as people write them, most
significant digit first, without leading zeros ("0" itself is allowed). The length range counts source
tokens, "+" included, so "3 4 7 + 5 8" has length 6; the shortest source is "d + d" (3 tokens).
The plain order is chosen over the reversed-digit format of the length-generalisation papers (units
first, so the carry flows in reading order): with the plain order the model must decide the sum's
length before writing it and the alignment runs right-aligned, which is the harder and the more
familiar problem; the gold links below are what attention must find either way.

Gold alignment by place value: the target digit of place p (p = 0 for the units) links to the digit
of place p of each operand that has one, so a target digit links to two source tokens, or one where
the shorter operand has run out, or none for a final carry ("9 + 9" -> "1 8": the "1" has no link).
The carry itself is not a link, and "+" is never linked.
"""
from __future__ import annotations

import random

from attn.data.pairs import Pair

MIN_LEN = 3  # "d + d"


def number(rng: random.Random, n_digits: int) -> int:
    """A whole number with exactly `n_digits` digits (no leading zero; one digit may be 0)."""
    return rng.randrange(10 ** (n_digits - 1) if n_digits > 1 else 0, 10 ** n_digits)


def place_links(n_left: int, n_right: int, n_sum: int) -> frozenset[tuple[int, int]]:
    """(target, source) links for "left + right = sum" with these digit counts, by place value.

    Place p of the sum is target index n_sum-1-p; of the left operand, source index n_left-1-p; of
    the right operand (after the n_left digits and "+"), source index n_left+n_right-p.
    """
    links = set()
    for p in range(n_sum):
        t = n_sum - 1 - p
        if p < n_left:
            links.add((t, n_left - 1 - p))
        if p < n_right:
            links.add((t, n_left + n_right - p))
    return frozenset(links)


def generate(rng: random.Random, min_len: int, max_len: int) -> Pair:
    """n = uniform in [min_len, max_len] source tokens (min_len >= 3); the n-1 digits split uniformly at
    random between the two operands, each getting at least one."""
    if min_len < MIN_LEN:
        raise ValueError(f"min_len = {min_len} is below {MIN_LEN}, the length of the shortest sum 'd + d'")
    n = rng.randint(min_len, max_len)
    n_left = rng.randint(1, n - 2)
    return pair_of(number(rng, n_left), number(rng, n - 1 - n_left))


def pair_of(left: int, right: int) -> Pair:
    """The pair "left + right" -> the sum, digits as tokens, with its place-value links."""
    if left < 0 or right < 0:
        raise ValueError(f"addition takes whole numbers >= 0, got {left} + {right}")
    a, b, total = str(left), str(right), str(left + right)
    return Pair((*a, "+", *b), tuple(total), place_links(len(a), len(b), len(total)))
