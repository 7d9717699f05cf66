"""The Ray executor through Ray Client (ATTN_RAY_ADDRESS = ray://HOST:PORT) against a REAL cluster: a
`ray start --head --block` subprocess with token authentication and its client server on this machine.

Ray Client cannot read streaming tasks, so a run's messages go through a queue actor (RayRunner.mailboxes);
the run must still come out to the bit as a local worker trains it, its events must reach the server as it
trains, and a cancel must stop it. No test times anything: HANG only keeps a broken setup from hanging.
"""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch

from attn.config import PRESETS
from attn.runs.runner import JobRunner
from attn.runs.store import RunStore
from attn.runs.workers import cpu_count

HANG = 600.0
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    """(ray://127.0.0.1:PORT, the env a client needs): a 2-CPU head with a random token, stopped after."""
    temp = tempfile.mkdtemp(prefix="ar", dir="/tmp")  # Ray's socket paths must stay short
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    port = _free_port()
    head = subprocess.Popen(
        [shutil.which("ray") or "ray", "start", "--head", "--block", f"--port={_free_port()}",
         f"--ray-client-server-port={port}", "--num-cpus=2", "--include-dashboard=false",
         "--disable-usage-stats", f"--temp-dir={temp}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert head.poll() is None, "ray start --head exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        yield f"ray://127.0.0.1:{port}", env
    finally:
        os.killpg(head.pid, signal.SIGTERM)  # --block: the head stops its own processes
        try:
            head.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)


def _stored(store: RunStore, run_id: str) -> dict:
    return {"weights": torch.load(store.home / "weights" / f"{run_id}.pt", weights_only=True),
            "curves": store.curves(run_id, "step")[["step", "train_loss"]].values.tolist(),
            "buckets": store.bucket_rows(run_id), "hyps": [d.hyp for d in store.decodes(run_id)]}


def test_a_server_on_ray_client_trains_streams_and_cancels_runs_the_same_bits_as_locally(cluster, tmp_path):
    address, env = cluster
    home = tmp_path / "client"
    done = subprocess.run([sys.executable, "-m", "tests.runs.ray_client_job", address], cwd=ROOT,
                          env={**env, "ATTN_HOME": str(home)}, capture_output=True, text=True, timeout=HANG)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["mailboxes"] is True  # the queue-actor path, not the stream
    assert report["tiny_status"] == "done" and {"start", "step", "epoch", "end"} <= set(report["kinds"])
    assert report["long_status"] == "cancelled"
    client = RunStore(home)
    assert not client.curves(report["long"], "step").empty  # the steps sent before the cancel are kept

    local_store = RunStore(tmp_path / "local")
    local = JobRunner(local_store, max_jobs=cpu_count())  # one torch thread per worker, as each Ray task has
    try:
        local_id = local.submit(PRESETS["tiny"])
        assert local.wait(local_id, timeout=HANG) == "done"
    finally:
        local.shutdown()
    on_ray, here = _stored(client, report["tiny"]), _stored(local_store, local_id)
    for name, tensor in here["weights"].items():
        assert torch.equal(on_ray["weights"][name], tensor), f"weight {name} differs"
    assert on_ray["curves"] == here["curves"] and on_ray["buckets"] == here["buckets"]
    assert on_ray["hyps"] == here["hyps"]


def test_a_client_without_the_token_is_told_what_to_set(cluster, tmp_path):
    address, env = cluster
    env = {k: v for k, v in env.items() if k not in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    code = ("from attn.runs.ray_cluster import connect, RayUnavailable\n"
            f"try:\n    connect({address!r})\nexcept RayUnavailable as exc:\n    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**env, "HOME": str(tmp_path)},
                          capture_output=True, text=True, timeout=HANG)
    assert f"ATTN_RAY_ADDRESS = {address}" in done.stdout, done.stdout + done.stderr[-2000:]
    assert "RAY_AUTH_MODE=token" in done.stdout and "RAY_AUTH_TOKEN" in done.stdout
