"""This machine's speed, measured: a short real run of the same model in a subprocess, cached beside
the store (speed.json), for attn.runs.estimate when no stored run of similar size exists.

    measure(configs, folder, wait=True)   {speed_key: Speed}: each config timed once as `probe_config`
    cached_speed(key, folder)             a speed measured before, in this process or in folder

Never a figure from some other machine. Loads neither torch nor Streamlit (the subprocess does).
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from attn.config import RunConfig
from attn.runs.version import code_version

PROBE_STEPS = 24        # training batches of the measuring run
PROBE_TEST = 64         # test sentences it decodes
PROBE_TIMEOUT = 300.0   # seconds before a measuring run is given up
SPEED_FILE = "speed.json"


@dataclass(frozen=True)
class Speed:
    """Seconds of one run on its own core, per unit of work."""

    train: float                    # per target word trained (validation losses included, decodes not)
    test: float                     # per test sentence decoded and scored
    setup: float | None = None      # per data pair, from a worker starting to the result stored; None: unknown



def probe_config(cfg: RunConfig) -> RunConfig:
    """The measuring run of `cfg`: the same model, batch and lengths, one epoch of PROBE_STEPS batches,
    validation in the same proportion, PROBE_TEST test sentences."""
    batch, data = cfg.train.batch, cfg.data
    n_train = PROBE_STEPS * batch
    if data.corpus:
        probe = dataclasses.replace(data, max_pairs=min(data.max_pairs or n_train * 2, math.ceil(n_train * 1.25)))
    else:
        n_train = min(data.n_train, n_train)
        probe = dataclasses.replace(data, n_train=n_train, n_test=min(data.n_test, PROBE_TEST),
                                    n_valid=max(1, round(data.n_valid * n_train / data.n_train)))
    # no early stopping: its validation decodes are counted apart (run_seconds), at the test decodes' pace
    return dataclasses.replace(cfg, data=probe, train=dataclasses.replace(cfg.train, epochs=1, patience=None,
                                                                          early_stop="loss"))


def speed_key(cfg: RunConfig, cores: int) -> str:
    """What a measured speed depends on: the model, the batch, the data's lengths, the code, the cores."""
    d = cfg.data
    return json.dumps({"model": dataclasses.asdict(cfg.model), "batch": cfg.train.batch,
                       "teacher_forcing": cfg.train.teacher_forcing, "task": d.task, "corpus": d.corpus_sha256,
                       "lengths": [d.min_len, d.max_len, d.length_dist, d.level], "code": code_version(),
                       "cores": cores}, sort_keys=True)


_MEASURED: dict[str, Speed] = {}            # this process's measurements, by speed_key
_MEASURING: dict[str, subprocess.Popen] = {}  # measuring runs started in the background (.cache_folder)


def cached_speed(key: str, folder: Path | None) -> Speed | None:
    """A speed measured before, in this process or in `folder`'s speed.json."""
    if key in _MEASURED:
        return _MEASURED[key]
    found = _read_cache(folder).get(key) if folder is not None else None
    try:
        _MEASURED[key] = Speed(**found)
    except TypeError:  # not there, or written by another release
        pass
    return _MEASURED.get(key)


def measure(configs: Sequence[RunConfig], folder: Path | None = None, wait: bool = True,
            cores: int = 1) -> dict[str, Speed | None]:
    """{speed_key: Speed} of `configs`, each timed once as `probe_config` in ONE subprocess (one torch
    thread, as a worker of several; data prepared once per data config) and cached.

    wait=False starts the subprocess and returns None for what is not cached yet; a later call finds
    it cached, or still measuring.
    """
    keyed = {speed_key(cfg, cores): cfg for cfg in configs}
    _collect({_MEASURING[key] for key in keyed if key in _MEASURING})  # measured for another store folder
    found = {key: cached_speed(key, folder) for key in keyed}
    missing = {key: cfg for key, cfg in keyed.items() if found[key] is None}
    if not missing:
        return found
    started = {_MEASURING[key] for key in missing if key in _MEASURING}
    failed = [proc.returncode for proc in started if proc.poll() not in (None, 0)]
    if failed:  # said once per process: a page asking again must not start a failing run on every rerun
        raise RuntimeError(f"the measuring run exited with code {failed[0]}")
    busy = [proc for proc in started if proc.poll() is None]
    if busy:
        if wait:
            for proc in busy:
                proc.wait(PROBE_TIMEOUT)
            _collect(busy)
        return {key: cached_speed(key, folder) for key in keyed}
    job = json.dumps({"runs": [[key, probe_config(cfg).to_dict()] for key, cfg in missing.items()],
                      "cache": str(folder / SPEED_FILE) if folder is not None else None})
    command = [sys.executable, "-c", "from attn.runs.speed import probe_main; probe_main()"]
    if not wait:
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, text=True)
        with contextlib.suppress(BrokenPipeError):  # it ended before reading its job: its exit code says so
            proc.stdin.write(job)                     # at the next call
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
        proc.cache_folder = folder
        _MEASURING.update((key, proc) for key in missing)
        return found
    done = subprocess.run(command, input=job, capture_output=True, text=True, timeout=PROBE_TIMEOUT)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"the measuring run exited with code {done.returncode}: {last}")
    for key, speed in json.loads(done.stdout).items():
        _MEASURED[key] = Speed(**speed)
    return {key: _MEASURED.get(key) for key in keyed}


def _collect(procs) -> None:
    """Read the speeds of background measurements that have ended well into this process's table."""
    for proc in [p for p in procs if getattr(p, "cache_folder", None) is not None and p.poll() == 0]:
        for key, speed in _read_cache(proc.cache_folder).items():
            with contextlib.suppress(TypeError):  # written by another release
                _MEASURED.setdefault(key, Speed(**speed))


def probe_main() -> None:
    """The measuring subprocess: each config on stdin trained and evaluated once, timed part by part; the
    Speeds are printed as JSON by key and added to the cache file the job names, one by one."""
    job = json.loads(sys.stdin.read())
    import torch
    torch.set_num_threads(1)
    from attn.training.experiment import prepare, run
    prepared, out = {}, {}
    for key, config in job["runs"]:
        cfg = RunConfig.from_dict(config)
        start = time.perf_counter()
        if cfg.data not in prepared:
            prepared[cfg.data] = (prepare(cfg.data), time.perf_counter() - start)
        ready, setup = prepared[cfg.data]
        result = run(cfg, ready)
        data = ready.word_data  # per target WORD, as target_tokens counts them, whatever the model reads
        tokens = sum(len(p.tgt) + 1 for p in data.train) * cfg.train.epochs
        pairs = len(data.train) + len(data.valid) + len(data.test)
        speed = Speed(result.train_seconds / tokens, result.eval_seconds / max(1, len(data.test)), setup / pairs)
        out[key] = dataclasses.asdict(speed)
        if job["cache"]:
            _write_cache(Path(job["cache"]), key, speed)
    print(json.dumps(out))


def _read_cache(folder: Path) -> dict:
    try:
        return json.loads((folder / SPEED_FILE).read_text())
    except (OSError, ValueError):
        return {}


def _write_cache(path: Path, key: str, speed: Speed) -> None:
    """Add one speed to the cache file; written whole and renamed, so a reader never sees half of it."""
    table = _read_cache(path.parent)
    table[key] = dataclasses.asdict(speed)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(table, indent=1, sort_keys=True))
    os.replace(partial, path)
