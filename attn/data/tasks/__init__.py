"""Built-in generated tasks, each with gold alignments: a registry and one loader.

A task is a generator of single pairs; `load_task` turns it into train/valid/test splits. The loader,
not the generators, owns what every task must guarantee: determinism for a seed, sources that are
unique across all splits (so the test set measures generalisation, not recall), and lengths inside
the requested range. Generators draw the wanted source length uniformly, so every length bucket of
the evaluation gets examples.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable

from attn.data.pairs import Pair, ParallelData
from attn.data.tasks import addition, copy, dates, reverse, sort, toy_fr
from attn.data.text import TypedForm


@dataclass(frozen=True)
class TaskSpec:
    """What the UI shows about a task and how to generate one pair of it."""

    name: str                       # registry key, e.g. "toy-fr"
    description: str                # one sentence for the UI
    level: str                      # "word" (tokens joined by spaces) or "char" (joined with nothing)
    default_min_len: int            # shortest source, in tokens, when the caller says None
    default_max_len: int            # longest source, in tokens, when the caller says None
    limits: tuple[int, int]         # (smallest min_len, largest max_len) the generator supports
    generate: Callable[..., Pair]   # generate(rng, min_len, max_len, **options) -> one Pair
    options: dict[str, Any] = field(default_factory=dict, hash=False)  # option name -> default
    typed: TypedForm = TypedForm()  # how a typed source is made to look like a generated one


TASKS: dict[str, TaskSpec] = {spec.name: spec for spec in (
    TaskSpec("toy-fr", "English to French sentences from a small grammar: adjectives move after the "
             "noun, 'of the' becomes 'du', one verb becomes three words.",
             "word", 3, 50, (3, 60), toy_fr.generate, typed=toy_fr.TYPED),
    TaskSpec("reverse", "Write a random sequence of symbols backwards: the alignment is the "
             "anti-diagonal.", "word", 3, 20, (1, 100), reverse.generate,
             {"n_symbols": reverse.DEFAULT_SYMBOLS}, typed=TypedForm(symbols=True)),
    TaskSpec("dates", "Rewrite a date written by people in seven languages as YYYY-MM-DD, "
             "character by character.", "char", 6, 40, (6, 60), dates.generate),
    TaskSpec("copy", "Write a random sequence of symbols again unchanged: the alignment is the "
             "diagonal.", "word", 3, 20, (1, 100), copy.generate, {"n_symbols": reverse.DEFAULT_SYMBOLS},
             typed=TypedForm(symbols=True)),
    TaskSpec("sort", "Sort a random sequence of small numbers ascending: each number aligns to the "
             "place it came from, equal numbers in source order.", "word", 3, 20, (1, 100), sort.generate,
             {"n_symbols": sort.DEFAULT_VALUES}, typed=TypedForm(separators=",;")),
    TaskSpec("addition", "Add two numbers written digit by digit ('3 4 7 + 5 8' -> '4 0 5'): each sum "
             "digit aligns to the operand digits of its place value.", "word", 3, 20, (3, 100),
             addition.generate, typed=TypedForm(symbols=True)),
)}


LENGTH_DISTRIBUTIONS = ("uniform", "natural")


def get_task(name: str) -> TaskSpec:
    """The registered task `name`; an unknown name lists the valid ones."""
    try:
        return TASKS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown task {name!r}; valid tasks: {', '.join(TASKS)}") from None


def load_task(name: str, *, n_train: int = 4000, n_valid: int = 300, n_test: int = 500,
              min_len: int | None = None, max_len: int | None = None, seed: int = 0,
              length_dist: str = "uniform", test_min_len: int | None = None, test_max_len: int | None = None,
              **options) -> ParallelData:
    """Generate n_train + n_valid + n_test pairs with distinct sources, deterministically for `seed`.

    Pairs are drawn i.i.d. and cut in order. Train and valid lengths follow `length_dist` over
    [min_len, max_len]: `uniform`, or `natural`, P(L) ~ 1/L, where short sentences are common and long
    ones rare, as in real corpora (every length still occurs). The test split is drawn the same way over
    [test_min_len, test_max_len] (train short, test long); left at None, the test range is the training
    range and the data are exactly what they were before test ranges existed: one stream, one cut. Test
    sources are unique against the training and validation sources whatever the ranges.
    """
    spec = get_task(name)
    lo, hi = _check_lengths(spec, min_len, max_len)
    test_lo, test_hi = _check_test_lengths(spec, lo, hi, test_min_len, test_max_len)
    if length_dist not in LENGTH_DISTRIBUTIONS:
        raise ValueError(f"length_dist = {length_dist!r} is not one of: {', '.join(LENGTH_DISTRIBUTIONS)}")
    for key, value in (("n_train", n_train), ("n_valid", n_valid), ("n_test", n_test)):
        _check_int(key, value, 1 if key == "n_train" else 0, None)
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        allowed = ", ".join(spec.options) or "none"
        raise ValueError(f"task {name!r} has no option {', '.join(unknown)}; its options: {allowed}")
    opts = {**spec.options, **options}

    draw = _Draw(spec, random.Random(seed), length_dist, opts, n_train + n_valid + n_test)
    draw.fill(lo, hi, n_train + n_valid)
    draw.fill(test_lo, test_hi, n_test)  # same rng, same `seen`: the old single loop when the ranges agree
    pairs = draw.pairs

    train, valid, test = pairs[:n_train], pairs[n_train:n_train + n_valid], pairs[n_train + n_valid:]
    lengths = [len(p.src) for p in pairs]
    report = {"task": name, "seed": seed, "min_len": lo, "max_len": hi,
              "test_min_len": test_lo, "test_max_len": test_hi, "length_dist": length_dist,
              "options": opts,
              "attempts": draw.attempts, "duplicates_skipped": draw.duplicates,
              "out_of_range_skipped": draw.out_of_range,
              "mean_src_len": sum(lengths) / len(lengths),
              "mean_tgt_len": sum(len(p.tgt) for p in pairs) / len(pairs)}
    return ParallelData(name=name, train=tuple(train), valid=tuple(valid), test=tuple(test),
                        level=spec.level, report=report)


class _Draw:
    """One random stream of pairs with distinct sources, filled range by range."""

    def __init__(self, spec: TaskSpec, rng: random.Random, length_dist: str, opts: dict, total: int):
        self.spec, self.rng, self.length_dist, self.opts, self.total = spec, rng, length_dist, opts, total
        self.pairs: list[Pair] = []
        self.seen: set[tuple[str, ...]] = set()
        self.attempts = self.duplicates = self.out_of_range = 0

    def fill(self, lo: int, hi: int, count: int) -> None:
        """Append `count` new pairs with source lengths in [lo, hi], skipping repeats of any source so far."""
        spec, rng, opts = self.spec, self.rng, self.opts
        goal = len(self.pairs) + count
        misses = 0
        patience = max(2000, 2 * self.total)  # consecutive failures before we call the space exhausted
        lengths_wanted = list(range(lo, hi + 1))
        weights = [1.0 / n for n in lengths_wanted] if self.length_dist == "natural" else None
        while len(self.pairs) < goal:
            if weights is None:
                pair = spec.generate(rng, lo, hi, **opts)
            else:
                wanted = rng.choices(lengths_wanted, weights)[0]
                pair = spec.generate(rng, wanted, wanted, **opts)
            self.attempts += 1
            if not lo <= len(pair.src) <= hi:
                self.out_of_range += 1
                misses += 1
            elif pair.src in self.seen:
                self.duplicates += 1
                misses += 1
            else:
                self.seen.add(pair.src)
                self.pairs.append(pair)
                misses = 0
            if misses > patience:
                raise ValueError(
                    f"task {spec.name!r} produced only {len(self.pairs)} distinct sources with lengths "
                    f"{lo}..{hi}{' and options ' + repr(opts) if opts else ''} ({self.attempts} attempts), "
                    f"fewer than the {self.total} requested (n_train + n_valid + n_test); widen the length "
                    f"range, {'raise n_symbols, ' if 'n_symbols' in opts else ''}or ask for fewer pairs")


def _check_int(key: str, value: Any, lo: int, hi: int | None, where: str = "") -> None:
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if not (is_int and value >= lo and (hi is None or value <= hi)):
        allowed = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise ValueError(f"{key} = {value!r} is outside the allowed range {allowed}{where}")


def _check_lengths(spec: TaskSpec, min_len: int | None, max_len: int | None) -> tuple[int, int]:
    """Fill in the defaults and check both ends against the task's limits."""
    # One end given alone moves the default of the other out of its way (max_len=2 on reverse -> 2..2).
    lo = min_len if min_len is not None else (
        spec.default_min_len if not isinstance(max_len, int) else min(spec.default_min_len, max_len))
    hi = max_len if max_len is not None else (
        spec.default_max_len if not isinstance(min_len, int) else max(spec.default_max_len, min_len))
    where = f" for task {spec.name!r}"
    _check_int("min_len", lo, spec.limits[0], spec.limits[1], where)
    _check_int("max_len", hi, spec.limits[0], spec.limits[1], where)
    if lo > hi:
        raise ValueError(f"min_len = {lo} is larger than max_len = {hi}{where}; "
                         f"allowed: {spec.limits[0]} <= min_len <= max_len <= {spec.limits[1]}")
    return lo, hi


def _check_test_lengths(spec: TaskSpec, lo: int, hi: int, test_min_len: int | None,
                        test_max_len: int | None) -> tuple[int, int]:
    """The test range: None takes the training end; one end given alone moves the other out of its way.

    The test range may start below the training range but may not end below it (test_max_len >= max_len):
    a test set without the longest training lengths cannot show how accuracy falls beyond them.
    """
    test_lo = test_min_len if test_min_len is not None else (
        lo if not isinstance(test_max_len, int) else min(lo, test_max_len))
    test_hi = test_max_len if test_max_len is not None else (
        hi if not isinstance(test_min_len, int) else max(hi, test_min_len))
    where = f" for task {spec.name!r}"
    _check_int("test_min_len", test_lo, spec.limits[0], spec.limits[1], where)
    _check_int("test_max_len", test_hi, spec.limits[0], spec.limits[1], where)
    if test_hi < hi:
        raise ValueError(f"test_max_len = {test_hi} is below max_len = {hi}{where}; the test range must reach "
                         f"the end of the training range: allowed {hi}..{spec.limits[1]}")
    if test_lo > test_hi:
        raise ValueError(f"test_min_len = {test_lo} is larger than test_max_len = {test_hi}{where}; "
                         f"allowed: {spec.limits[0]} <= test_min_len <= test_max_len <= {spec.limits[1]}")
    return test_lo, test_hi
