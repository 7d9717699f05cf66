"""Run as a subprocess by test_ray_client.py: a RayRunner that reaches its cluster through Ray Client.

    python -m tests.runs.ray_client_job ray://127.0.0.1:PORT

A Ray Client connection belongs to the whole process, so it cannot share the test process with the
in-process Ray of test_ray_runner.py. On the store of $ATTN_HOME: trains the tiny preset (printing its
run id), then starts a long run, cancels it once its first steps are stored, and prints both runs' ids
and statuses as one JSON line.
"""
import dataclasses
import json
import sys
import time

from attn.config import PRESETS
from attn.runs.ray_runner import RayRunner
from attn.runs.store import RunStore

HANG = 600.0
TINY = PRESETS["tiny"]
LONG = dataclasses.replace(TINY, data=dataclasses.replace(TINY.data, n_train=3000),
                           train=dataclasses.replace(TINY.train, epochs=200))


def main(address: str) -> None:
    store = RunStore()
    runner = RayRunner(store, address=address, max_jobs=2, events=True)
    try:
        kinds = []
        tiny = runner.submit(TINY)
        tiny_status = runner.wait_many([tiny], on_event=lambda rid, event: kinds.append(event.kind),
                                       timeout=HANG)[tiny]
        long = runner.submit(LONG)
        deadline = time.monotonic() + HANG
        while store.curves(long, "step").empty and time.monotonic() < deadline:
            time.sleep(0.2)
        runner.cancel(long)
        long_status = runner.wait(long, timeout=HANG)
        print(json.dumps({"mailboxes": runner.mailboxes, "tiny": tiny, "tiny_status": tiny_status,
                          "kinds": sorted(set(kinds)), "long": long, "long_status": long_status}), flush=True)
    finally:
        runner.shutdown()


if __name__ == "__main__":
    main(sys.argv[1])
