"""The load test's figures: page-time statistics, whose CPU each scenario saw, the store's rows after.

Used by load_test.py.
"""
from __future__ import annotations

import os
import sqlite3

import numpy as np

from attn.runs.store import RunStore
from load_setup import ROOT
from streamlit_visitor import View


def stats(views: list[View]) -> dict:
    if not views:
        return {"count": 0}
    secs = np.array([v.seconds for v in views])
    return {"count": len(views), "p50_s": round(float(np.percentile(secs, 50)), 3),
            "p95_s": round(float(np.percentile(secs, 95)), 3), "max_s": round(float(secs.max()), 3),
            "errors": sum(bool(v.errors) for v in views),
            "mean_kb": round(float(np.mean([v.bytes for v in views])) / 1024, 1)}


def cpu_by_process() -> dict[int, tuple[int, float]]:
    """{pid: (parent pid, CPU seconds so far)} of every process (Linux /proc)."""
    out = {}
    tick = os.sysconf("SC_CLK_TCK")
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rpartition(")")[2].split()
                out[int(name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
            except (OSError, IndexError, ValueError):
                continue  # ended while we looked
    return out


def descendants(procs: dict, root: int) -> set[int]:
    """`root` and every process below it in `procs` (a cpu_by_process() snapshot)."""
    members, grew = {root}, True
    while grew:
        grew = False
        for pid, (parent, _) in procs.items():
            if parent in members and pid not in members:
                members.add(pid)
                grew = True
    return members


def cpu_shares(before: dict, after: dict, seconds: float, roots: dict[str, int | None]) -> dict[str, int]:
    """CPU used meanwhile, in % of one core: by each of `roots` (a process with its descendants), by this
    load generator, and by other users' processes (tests, servers...): figures taken while that last
    one is high measure a busier machine than the class's. Processes that ended meanwhile are missed."""
    def used(pids) -> int:
        total = sum(cpu - before.get(pid, (0, 0.0))[1] for pid, (_, cpu) in after.items() if pid in pids)
        return round(100 * total / seconds)

    shares = {name: used(descendants(after, pid)) for name, pid in roots.items() if pid is not None}
    shares["load_generator"] = used({os.getpid()})
    shares["other_users"] = used(set(after) - descendants(after, os.getpid()))
    return shares


def row_counts(home: str, ids: list[str]) -> dict:
    db = sqlite3.connect(f"file:{os.path.join(home, 'runs.sqlite')}?mode=ro", uri=True)
    marks = ",".join("?" * len(ids))
    counts = {table: db.execute(f"SELECT COUNT(*) FROM {table} WHERE run_id IN ({marks})", ids).fetchone()[0]
              for table in ("curves", "buckets", "decodes", "vocabs")}
    counts["runs"] = db.execute(f"SELECT COUNT(*) FROM runs WHERE id IN ({marks})", ids).fetchone()[0]
    db.close()
    return counts


def trainings_state(store: RunStore, ids: list[str]) -> str:
    return ", ".join(store.status(i) for i in ids) if ids else "none"


def source_mtimes() -> dict[str, float]:
    """Modification times of the app's sources: an edit during the test reloads modules in the server
    (Streamlit's file watcher) and makes its figures those of a server being redeployed."""
    paths = [os.path.join(ROOT, "dashboard.py"), os.path.join(ROOT, "attn.app.ui.py")]
    for folder in ("pages", "attn"):
        for dirpath, _, names in os.walk(os.path.join(ROOT, folder)):
            paths += [os.path.join(dirpath, n) for n in names if n.endswith(".py")]
    return {os.path.relpath(p, ROOT): os.path.getmtime(p) for p in paths if os.path.exists(p)}
