"""How long runs will take on this machine, from what was measured on this machine.

    wall of one run   = setup + train + evaluate
      setup           = data pairs x seconds per pair (generate or read the data, start, store)
      train           = target tokens x seconds per target token
                        target tokens = training pairs x (mean target length + 1 for </s>) x epochs
      evaluate        = test sentences x seconds per test sentence
    wall of many runs = the runs list-scheduled on `jobs` workers, slowed by jobs / cores beyond the cores

The seconds per unit come from stored runs of similar size (their train_seconds and eval_seconds,
each divided by how many runs shared the cores with it). With none, a small real run of the same model
(one epoch of PROBE_STEPS batches) is timed in a subprocess on first use and cached beside the store
(speed.json): never a figure from some other machine. Loads neither torch nor Streamlit.
"""
from __future__ import annotations

import dataclasses
import functools
import heapq
import math
import os
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from attn.config import DataConfig, RunConfig
from attn.runs.speed import Speed, cached_speed, measure, speed_key

SAMPLE = 500            # generated pairs the mean lengths of a built-in task are taken from
SIMILAR = 1.5           # a stored run is of similar size when every size is within this factor
NEAREST = 5             # stored runs of similar size an estimate takes at most
MEASURES = ("wait", "background", "never")
NO_RUNS = "no stored runs to estimate from yet"
MEASURE_FROM = 1_000_000  # target words of one run from which the CLI times a short run before queueing (a few
                          # seconds against minutes; below it the estimate uses stored runs only)


@dataclass(frozen=True)
class Work:
    """What a data config asks of a run: the pairs it makes, and how long they are."""

    pairs: int                      # train + valid + test pairs
    n_train: int
    n_test: int
    mean_src: float                 # tokens per training source
    mean_tgt: float                 # tokens per training target


@dataclass(frozen=True)
class Estimate:
    """The wall time of a set of runs, or why there is none."""

    seconds: float | None           # best guess; None when there is nothing to estimate from
    low: float | None               # the range the measurements spread over
    high: float | None
    basis: str                      # "stored runs" | "measured" | "measuring" | "none"
    runs: int                       # stored runs the figure comes from
    note: str                       # one sentence for a page, e.g. "about 40 s on this machine (...)"


@functools.lru_cache(maxsize=64)
def data_work(cfg: DataConfig) -> Work:
    """Pairs and mean lengths of a data config: a built-in task from a sample of its own generator, a
    corpus from the corpus itself."""
    if cfg.corpus:
        from attn.data.load import load_data
        data = load_data(cfg)
        train, n_train, n_test = data.train, len(data.train), len(data.test)
        pairs = n_train + len(data.valid) + n_test
    else:
        from attn.data.tasks import load_task
        train = load_task(cfg.task, n_train=min(cfg.n_train, SAMPLE), n_valid=0, n_test=0, min_len=cfg.min_len,
                          max_len=cfg.max_len, seed=cfg.data_seed, length_dist=cfg.length_dist).train
        n_train, n_test, pairs = cfg.n_train, cfg.n_test, cfg.n_train + cfg.n_valid + cfg.n_test
    return Work(pairs, n_train, n_test, sum(len(p.src) for p in train) / len(train),
                sum(len(p.tgt) for p in train) / len(train))


def target_tokens(cfg: RunConfig) -> float:
    """Target tokens a run trains on: training pairs x (mean target length + 1) x epochs."""
    work = data_work(cfg.data)
    return work.n_train * (work.mean_tgt + 1) * cfg.train.epochs


def validation_decodes(cfg: RunConfig, work: Work) -> int:
    """Validation sentences a run decodes while training: the whole validation split after every epoch
    under early_stop = "bleu" (at most; patience may end training sooner), else none."""
    return (work.pairs - work.n_train - work.n_test) * cfg.train.epochs if cfg.train.early_stop == "bleu" else 0


def cli_measuring(configs: Sequence[RunConfig]) -> str:
    """How the CLI's estimate measures: "wait" (a short run first) when some run trains MEASURE_FROM
    target words or more, else "never" (stored runs and cached speeds only)."""
    return "wait" if any(target_tokens(cfg) >= MEASURE_FROM for cfg in configs) else "never"


def run_seconds(cfg: RunConfig, speed: Speed) -> float:
    """One run's wall seconds on its own core at `speed` (setup counted only when known): training,
    validation decodes (early_stop = "bleu") and test decodes, each a decoded sentence at speed.test."""
    work = data_work(cfg.data)
    setup = work.pairs * speed.setup if speed.setup is not None else 0.0
    return setup + target_tokens(cfg) * speed.train + (work.n_test + validation_decodes(cfg, work)) * speed.test


def schedule(seconds: Sequence[float], jobs: int, cores: int) -> float:
    """Wall seconds of runs taken in order by `jobs` workers: each starts on the first free worker;
    more workers than cores share them, each slowed by jobs / cores."""
    jobs = max(1, min(jobs, len(seconds)))
    free = [0.0] * jobs
    for s in seconds:
        heapq.heappush(free, heapq.heappop(free) + s)
    return max(free, default=0.0) * max(1.0, jobs / max(1, cores))


def load(interval: tuple[float, float], intervals: Sequence[tuple[float, float]]) -> float:
    """The mean number of `intervals` running during `interval` (itself included when it is one of them)."""
    start, end = interval
    return sum(max(0.0, min(end, e) - max(start, s)) for s, e in intervals) / max(end - start, 1e-9)


def loads(intervals: Sequence[tuple[float, float]]) -> list[float]:
    """`load` of each interval among all of them."""
    return [load(interval, intervals) for interval in intervals]


def similarity(a: RunConfig, b: RunConfig) -> float | None:
    """Sum of |log size ratios| of two runs (0: the same sizes), or None when they are not of similar
    size: another model family, or a size (model, batch, mean source or target length) more than
    SIMILAR times apart."""
    if not close_models(a, b):
        return None
    wa, wb = data_work(a.data), data_work(b.data)
    ratios = _log_ratios(_model_sizes(a, b) + [(wa.mean_src, wb.mean_src), (wa.mean_tgt, wb.mean_tgt)])
    if max(ratios) > math.log(SIMILAR):
        return None
    return sum(ratios) + 0.25 * (a.model.variant != b.model.variant) + 0.25 * (a.model.style != b.model.style)


def close_models(a: RunConfig, b: RunConfig) -> bool:
    """The part of `similarity` that needs no data: same family and architecture, sizes within SIMILAR."""
    if (a.model.family, a.model.arch) != (b.model.family, b.model.arch):
        return False
    return max(_log_ratios(_model_sizes(a, b))) <= math.log(SIMILAR)


def _model_sizes(a: RunConfig, b: RunConfig) -> list[tuple[float, float]]:
    ma, mb = a.model, b.model
    sizes = [(ma.hidden, mb.hidden), (a.train.batch, b.train.batch)]
    return sizes + ([(ma.emb, mb.emb)] if ma.family == "rnn" else [(ma.layers, mb.layers), (ma.ff, mb.ff)])


def _log_ratios(sizes: list[tuple[float, float]]) -> list[float]:
    return [abs(math.log(x / y)) for x, y in sizes]


def stored_speeds(store, cores: int, keep=None) -> list[tuple[RunConfig, Speed]]:
    """(config, solo speed) of every finished run in `store` whose config `keep` accepts (default: all),
    each run's seconds divided by max(1, runs sharing the cores during it / cores)."""
    runs, now = store.runs(), time.time()
    spans = {r.id: (r.started.timestamp(), r.finished.timestamp() if pd.notna(r.finished) else now)
             for r in runs.itertuples() if pd.notna(r.started)}
    done = runs[(runs["status"] == "done") & (runs["train_seconds"] > 0) & (runs["eval_seconds"] >= 0)]
    configs = store.configs(list(done["id"]))
    out = []
    for r in done.itertuples():
        try:
            cfg = RunConfig.from_dict(configs[r.id])
            if keep is not None and not keep(cfg):
                continue
            work = data_work(cfg.data)
        except (ValueError, TypeError, KeyError, OSError):  # a config of an older release, a corpus gone
            continue
        slow, setup = 1.0, None
        if r.id in spans:
            slow = max(1.0, load(spans[r.id], list(spans.values())) / cores)
            setup = max(0.0, spans[r.id][1] - spans[r.id][0] - r.train_seconds - r.eval_seconds) / slow / work.pairs
        test = r.eval_seconds / slow / max(1, work.n_test)
        # training without its validation decodes (counted apart, at the test decodes' pace, by run_seconds)
        train = max(r.train_seconds / slow - validation_decodes(cfg, work) * test, 0.0)
        out.append((cfg, Speed(train / target_tokens(cfg), test, setup)))
    return out


def estimate_runs(configs: Sequence[RunConfig], jobs: int | None = None, cores: int | None = None, store=None,
                  measuring: str = "wait") -> Estimate:
    """The wall time of training `configs` on `jobs` workers (default: as the runner would) over `cores`.

    A run `store` holds already takes no time (the runner returns it). Each other run's speed comes from
    the NEAREST stored runs of similar size, else from a measurement of this machine: `measuring` "wait"
    runs it now (seconds), "background" starts it and says "measuring" until it is cached, "never"
    uses only what is stored or cached.
    """
    from attn.runs.workers import cpu_count, default_jobs
    if measuring not in MEASURES:
        raise ValueError(f"measuring = {measuring!r} is not one of: {', '.join(MEASURES)}")
    configs = list(configs)
    todo = [cfg for cfg in configs if store is None or store.find_cached(cfg) is None]
    ready = len(configs) - len(todo)
    if not configs:
        return Estimate(0.0, 0.0, 0.0, "none", 0, "nothing to run")
    if not todo:
        return Estimate(0.0, 0.0, 0.0, "stored runs", 0, "already trained: the results come from the store at once")
    cores = cores or cpu_count()
    jobs = jobs or default_jobs(len(todo), cores)
    folder = Path(store.home) if store is not None else None
    try:
        wanted = lambda other: any(close_models(cfg, other) for cfg in todo)  # noqa: E731 - others stay unread
        stored = stored_speeds(store, cores, wanted) if store is not None else []
        near = [sorted((d, j) for j, (other, _) in enumerate(stored) if (d := similarity(cfg, other)) is not None)
                [:NEAREST] for cfg in todo]
        unmeasured = [cfg for cfg, found in zip(todo, near) if not found]
        speeds = {speed_key(cfg, cores): cached_speed(speed_key(cfg, cores), folder) for cfg in unmeasured}
        if None in speeds.values() and measuring != "never":
            speeds = measure(unmeasured, folder, wait=measuring == "wait", cores=cores)
    except (ValueError, RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        return Estimate(None, None, None, "none", 0, f"no estimate: {exc}")
    if None in speeds.values():
        if measuring == "background":
            return Estimate(None, None, None, "measuring", 0, "measuring this machine's speed with a short run of "
                                                              "the same model; ask again in a few seconds")
        return Estimate(None, None, None, "none", 0, NO_RUNS)
    setups = [speed.setup for _, speed in stored if speed.setup is not None]
    usual_setup = statistics.median(setups) if setups else None
    figures = []  # (median, lowest, highest) seconds of each run
    for cfg, found in zip(todo, near):
        seconds = [run_seconds(cfg, s if s.setup is not None else dataclasses.replace(s, setup=usual_setup))
                   for s in [stored[j][1] for _, j in found] or [speeds[speed_key(cfg, cores)]]]
        figures.append((statistics.median(seconds), min(seconds), max(seconds)))
    wall, low, high = (schedule([f[k] for f in figures], jobs, cores) for k in range(3))
    used = {j for found in near for _, j in found}
    sources = [f"{len(used)} stored run{'s' if len(used) != 1 else ''} of similar size"] if used else []
    sources += ["a short measured run of the same model"] if unmeasured else []
    spread = f" ({_duration(low)}–{_duration(high)})" if _duration(low) != _duration(high) else ""
    many = f", {len(todo)} runs, {min(jobs, len(todo))} at a time on {cores} cores" if len(todo) > 1 else ""
    again = f" ({ready} already trained)" if ready else ""
    return Estimate(wall, low, high, "measured" if unmeasured else "stored runs", len(used),
                    f"about {_duration(wall)} on this machine{spread}{many}{again}, from {' and '.join(sources)}"
                    + _busy(cores))


def _busy(cores: int) -> str:
    """A warning when the machine is busier than its cores now: the figures assume our runs alone."""
    try:
        now = os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - not Unix
        return ""
    return f"; the machine is busy now (load {now:.1f} on {cores} cores): expect longer" if now > cores else ""


def _duration(seconds: float) -> str:
    """12 s, 75 s, 4 min, 1 h 05 min: as precise as an estimate deserves."""
    seconds = max(1, round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"
