"""The load test's setup: a store filled with real runs, the app started on a free port, two trainings.

Used by load_test.py (run as `python benchmarks/load_test.py`, so this folder is on sys.path).
"""
from __future__ import annotations

import dataclasses
import datetime
import os
import socket
import subprocess
import sys
import time
import urllib.request

from attn.runs.store import RunStore

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TRAINING_HELPER = r"""
import dataclasses, sys
from attn.config import PRESETS
from attn.runs.runner import JobRunner
from attn.runs.store import RunStore
runner = JobRunner(RunStore(sys.argv[1]), max_jobs=2)
lecture = PRESETS["lecture"]
cfg = dataclasses.replace(lecture, train=dataclasses.replace(lecture.train, epochs=int(sys.argv[2]),
                                                            checkpoints=sys.argv[3] == "on"))
ids = [runner.submit(cfg.with_variant(v)) for v in ("additive", "dot")]
print(" ".join(ids), flush=True)
for run_id in ids:
    runner.wait(run_id)
runner.shutdown()
"""


def log(text: str) -> None:
    print(f"[{datetime.datetime.now():%H:%M:%S}] {text}", file=sys.stderr, flush=True)


def prefill(home: str, n_runs: int) -> list[str]:
    """`n_runs` done runs from six real trainings, in groups of 3 variants x 3 seeds -> their ids."""
    from attn.config import preset
    from attn.training.experiment import prepare, run
    tiny, lecture = preset("tiny"), preset("lecture")
    lecture = dataclasses.replace(lecture, train=dataclasses.replace(lecture.train, epochs=1))
    variants = ("none", "additive", "dot")
    configs = [base.with_variant(v) for base in (tiny, lecture) for v in variants]
    start = time.perf_counter()
    prepared = {repr(base.data): prepare(base.data) for base in (tiny, lecture)}
    results = [run(cfg, prepared[repr(cfg.data)]) for cfg in configs]  # in this process: copies are stored below
    log(f"trained 6 real runs for the store in {time.perf_counter() - start:.0f}s")
    tiny_results, lecture_results = results[:3], results[3:]

    store = RunStore(home)
    ids: list[str] = []
    per_group = 3 * len(variants)
    lecture_groups = 2 if n_runs >= 4 * per_group else 1
    n_lecture = min(n_runs, lecture_groups * per_group)
    start = time.perf_counter()
    for results_, count, lrs in ((tiny_results, n_runs - n_lecture, (1e-2, 5e-3, 2e-2, 3e-3, 1.5e-2, 7e-3, 4e-3)),
                                 (lecture_results, n_lecture, (5e-3, 8e-3))):
        for k in range(count):
            group, member = divmod(k, per_group)
            seed, variant = divmod(member, len(variants))
            result = results_[variant]
            lr = lrs[group % len(lrs)]
            epochs = result.config.train.epochs + group // len(lrs)  # more groups than learning rates
            cfg = dataclasses.replace(result.config, seed=seed,
                                      train=dataclasses.replace(result.config.train, lr=lr, epochs=epochs))
            ids.append(store.save_finished(cfg, result))
    log(f"stored {len(ids)} runs in {time.perf_counter() - start:.0f}s")
    return ids


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(home: str, port: int, log_path: str, options: list[str] = ()) -> subprocess.Popen:
    env = dict(os.environ, ATTN_HOME=home, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1"]
    for option in options:  # "runner.postScriptGC=false" -> --runner.postScriptGC false
        key, _, value = option.partition("=")
        cmd += [f"--{key}", value]
    app = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if app.poll() is not None:
            raise SystemExit(f"the app exited with code {app.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return app
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the app did not answer /_stcore/health within 60 s; see {log_path}")


def start_trainings(home: str, epochs: int, log_path: str,
                    checkpoints: bool = True) -> tuple[subprocess.Popen, list[str]]:
    """Two lecture-preset runs queued by a JobRunner in a helper process -> (helper, run ids). checkpoints:
    the runs' train.checkpoints (on, as the presets have it: the Train page then draws the live length chart
    and the probe map; off: the loss chart only, as before issue 13)."""
    env = dict(os.environ, ATTN_HOME=home, PYTHONPATH=ROOT)
    helper = subprocess.Popen([sys.executable, "-c", TRAINING_HELPER, home, str(epochs),
                               "on" if checkpoints else "off"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=open(log_path, "w"), text=True)
    ids = helper.stdout.readline().split()
    if len(ids) != 2:
        raise SystemExit(f"the training helper did not queue two runs; see {log_path}")
    store = RunStore(home)
    deadline = time.monotonic() + 120
    while any(store.status(i) == "queued" for i in ids) and time.monotonic() < deadline:
        time.sleep(0.5)
    return helper, ids
