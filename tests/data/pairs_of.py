"""Reading generated task data in tests: every pair of a task, and a pair's gold links by target word."""
from attn.data.pairs import ParallelData


def all_pairs(data: ParallelData):
    return data.train + data.valid + data.test


def links_of(pair) -> dict[int, set[int]]:
    """Target index -> the source indices its gold alignment links it to."""
    out: dict[int, set[int]] = {}
    for t, s in pair.align:
        out.setdefault(t, set()).add(s)
    return out
