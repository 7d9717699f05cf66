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
from attn.data.tasks import dates, reverse, toy_fr


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


TASKS: dict[str, TaskSpec] = {spec.name: spec for spec in (
    TaskSpec("toy-fr", "English to French sentences from a small grammar: adjectives move after the "
             "noun, 'of the' becomes 'du', one verb becomes three words.",
             "word", 3, 50, (3, 60), toy_fr.generate),
    TaskSpec("reverse", "Write a random sequence of symbols backwards: the alignment is the "
             "anti-diagonal.", "word", 3, 20, (1, 100), reverse.generate,
             {"n_symbols": reverse.DEFAULT_SYMBOLS}),
    TaskSpec("dates", "Rewrite a date written by people in seven languages as YYYY-MM-DD, "
             "character by character.", "char", 6, 40, (6, 60), dates.generate),
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
              length_dist: str = "uniform", **options) -> ParallelData:
    """Generate n_train + n_valid + n_test pairs with distinct sources, deterministically for `seed`.

    Pairs are drawn i.i.d. and cut in order, so the three splits share one length distribution:
    `uniform` over [min_len, max_len], or `natural`, P(L) ~ 1/L, where short sentences are common and
    long ones rare, as in real corpora (every length still occurs).
    """
    spec = get_task(name)
    lo, hi = _check_lengths(spec, min_len, max_len)
    if length_dist not in LENGTH_DISTRIBUTIONS:
        raise ValueError(f"length_dist = {length_dist!r} is not one of: {', '.join(LENGTH_DISTRIBUTIONS)}")
    for key, value in (("n_train", n_train), ("n_valid", n_valid), ("n_test", n_test)):
        _check_int(key, value, 1 if key == "n_train" else 0, None)
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        allowed = ", ".join(spec.options) or "none"
        raise ValueError(f"task {name!r} has no option {', '.join(unknown)}; its options: {allowed}")
    opts = {**spec.options, **options}

    rng = random.Random(seed)
    total = n_train + n_valid + n_test
    pairs: list[Pair] = []
    seen: set[tuple[str, ...]] = set()
    attempts = duplicates = out_of_range = misses = 0
    patience = max(2000, 2 * total)  # consecutive failures before we call the space exhausted
    lengths_wanted = list(range(lo, hi + 1))
    weights = [1.0 / n for n in lengths_wanted] if length_dist == "natural" else None
    while len(pairs) < total:
        if weights is None:
            pair = spec.generate(rng, lo, hi, **opts)
        else:
            wanted = rng.choices(lengths_wanted, weights)[0]
            pair = spec.generate(rng, wanted, wanted, **opts)
        attempts += 1
        if not lo <= len(pair.src) <= hi:
            out_of_range += 1
            misses += 1
        elif pair.src in seen:
            duplicates += 1
            misses += 1
        else:
            seen.add(pair.src)
            pairs.append(pair)
            misses = 0
        if misses > patience:
            raise ValueError(
                f"task {name!r} produced only {len(pairs)} distinct sources with lengths {lo}..{hi}"
                f"{' and options ' + repr(opts) if opts else ''} ({attempts} attempts), fewer than the "
                f"{total} requested (n_train + n_valid + n_test); widen the length range, "
                f"{'raise n_symbols, ' if 'n_symbols' in opts else ''}or ask for fewer pairs")

    train, valid, test = pairs[:n_train], pairs[n_train:n_train + n_valid], pairs[n_train + n_valid:]
    lengths = [len(p.src) for p in pairs]
    report = {"task": name, "seed": seed, "min_len": lo, "max_len": hi, "length_dist": length_dist,
              "options": opts,
              "attempts": attempts, "duplicates_skipped": duplicates, "out_of_range_skipped": out_of_range,
              "mean_src_len": sum(lengths) / len(lengths),
              "mean_tgt_len": sum(len(p.tgt) for p in pairs) / len(pairs)}
    return ParallelData(name=name, train=tuple(train), valid=tuple(valid), test=tuple(test),
                        level=spec.level, report=report)


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
