"""Which process holds a run: a token that names one process for its whole life, and whether it lives.

A bare pid is reused after a restart; "pid:start time" (from /proc/<pid>/stat) is not. The store
records the owner of a queued run and the worker of a running one this way, and `mark_interrupted`
asks `process_alive` whether they are still there.
"""
from __future__ import annotations

import os


def process_token(pid: int | None = None) -> str:
    """"pid:start time" of a process: unlike a bare pid, it is not reused after a restart."""
    pid = os.getpid() if pid is None else pid
    fields = _proc_stat(pid)
    return f"{pid}:{fields[19] if fields else '?'}"


def process_alive(token: str | None) -> bool:
    """Whether the process a `process_token` names still runs (zombies count as gone)."""
    if not token:
        return False
    pid_text, _, start = token.partition(":")
    try:
        pid = int(pid_text)
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        pass  # it exists, under another user
    except OSError:
        return False
    fields = _proc_stat(pid)
    if fields is None:  # gone since the probe, or no /proc at all (not Linux): trust the probe then
        return not os.path.isdir("/proc")
    return fields[0] not in ("Z", "X") and start in ("?", fields[19])


def _proc_stat(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat (state first, start time at index 19), None without /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rpartition(")")[2].split()
    except OSError:
        return None
