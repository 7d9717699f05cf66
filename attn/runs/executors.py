"""Which executor trains the runs: local worker processes (the default) or a Ray cluster.

    ATTN_EXECUTOR     = local | ray    (default local: nothing changes for a laptop)
    ATTN_RAY_ADDRESS  = ray://head:10001 | auto | (empty: a local Ray started in this process)

`make_runner(store, **kw)` is the one place the pages, the CLI and a sweep get a runner from; both
executors have JobRunner's interface (submit, submit_many, resubmit, cancel, status, progress, active,
wait, wait_many, shutdown). This module never imports ray: only `attn.runs.ray_runner` does, and only
when ATTN_EXECUTOR=ray.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from attn.config import ConfigError

if TYPE_CHECKING:
    from attn.runs.runner import JobRunner
    from attn.runs.store import RunStore

EXECUTORS = ("local", "ray")


def executor_name(raw: str | None = None) -> str:
    """ATTN_EXECUTOR (or `raw`) checked -> "local" or "ray"; unset or empty is "local"."""
    value = os.environ.get("ATTN_EXECUTOR") if raw is None else raw
    name = (value or "").strip().lower() or "local"
    if name not in EXECUTORS:
        raise ConfigError(f"environment variable ATTN_EXECUTOR = {value!r} is not an executor; "
                          f"valid: {', '.join(EXECUTORS)} (unset means local)")
    return name


def ray_address(raw: str | None = None) -> str | None:
    """ATTN_RAY_ADDRESS (or `raw`): None (start a local Ray), "auto", or a ray://host:port / host:port address."""
    value = os.environ.get("ATTN_RAY_ADDRESS") if raw is None else raw
    return (value or "").strip() or None


def make_runner(store: "RunStore | None" = None, *, executor: str | None = None, address: str | None = None,
                **kw) -> "JobRunner":
    """A runner on the configured executor; `kw` are JobRunner's (max_jobs, max_queued, nice, events, ...).

    executor: "local" or "ray" (default: $ATTN_EXECUTOR); address: Ray's (default: $ATTN_RAY_ADDRESS).
    Raises ConfigError for a bad ATTN_EXECUTOR, and, on Ray, a RayUnavailable (a ConfigError) naming
    ATTN_RAY_ADDRESS when the cluster cannot be reached.
    """
    name = executor_name(executor)
    if name == "ray":
        from attn.runs.ray_runner import RayRunner  # imports ray: only when it is asked for
        return RayRunner(store, address=ray_address(address), **kw)
    from attn.runs.runner import JobRunner
    return JobRunner(store, **kw)
