"""Choosing the executor (attn.runs.executors): local by default and without ray, a bad ATTN_EXECUTOR named,
and a Ray cluster that cannot be reached said at once, naming ATTN_RAY_ADDRESS, also on the dashboard,
whose stored runs stay browsable. No Ray is started here (nothing answers at the addresses tried)."""
import socket

import pytest

from attn.config import ConfigError
from attn.runs.executors import executor_name, make_runner
from attn.runs.runner import JobRunner
from attn.runs.store import RunStore
from tests.app.apptest import open_page, start_app
from tests.light_imports import heavy_loaded


def _closed_port() -> int:
    """A local TCP port nothing listens on (bound once to find a free one, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTN_HOME", str(tmp_path))
    return RunStore()


def test_the_local_executor_is_the_default_and_neither_it_nor_the_app_loads_ray():
    assert executor_name("") == "local" and executor_name(" Ray ") == "ray"
    assert heavy_loaded("attn.runs.executors", "attn.runs.runner", "attn.app.state", heavy=("ray",)) == [False]


def test_make_runner_without_settings_gives_the_local_job_runner(store, monkeypatch):
    monkeypatch.delenv("ATTN_EXECUTOR", raising=False)
    runner = make_runner(store, max_jobs=1)
    try:
        assert type(runner) is JobRunner and runner.max_jobs == 1
    finally:
        runner.shutdown()


def test_an_unknown_executor_is_refused_naming_the_variable_and_the_choices(monkeypatch):
    monkeypatch.setenv("ATTN_EXECUTOR", "slurm")
    with pytest.raises(ConfigError, match=r"ATTN_EXECUTOR = 'slurm' is not an executor; valid: local, ray"):
        executor_name()


@pytest.mark.parametrize("form", ["ray://127.0.0.1:{port}", "127.0.0.1:{port}"])
def test_an_unreachable_ray_address_is_said_at_once_naming_attn_ray_address(store, form):
    address = form.format(port=_closed_port())
    with pytest.raises(ConfigError) as raised:
        make_runner(store, executor="ray", address=address)
    message = str(raised.value)
    assert f"ATTN_RAY_ADDRESS = {address}" in message and "nothing answers at 127.0.0.1:" in message
    assert "ray start --head" in message


def test_a_ray_address_without_a_port_says_what_an_address_looks_like(store):
    with pytest.raises(ConfigError, match=r"ATTN_RAY_ADDRESS = ray://head: not an address: give ray://HOST:PORT"):
        make_runner(store, executor="ray", address="ray://head")


def test_the_dashboard_says_ray_is_unreachable_and_still_lists_the_stored_runs(tmp_path, monkeypatch, result):
    monkeypatch.setenv("ATTN_HOME", str(tmp_path))
    RunStore().save_finished(result.config, result, name="stored before the cluster went away")
    monkeypatch.setenv("ATTN_EXECUTOR", "ray")
    monkeypatch.setenv("ATTN_RAY_ADDRESS", f"127.0.0.1:{_closed_port()}")
    at = start_app()
    assert not at.exception
    assert any("ATTN_RAY_ADDRESS" in error.value for error in at.error), [e.value for e in at.error]
    at = open_page(at, "runs")
    assert not at.exception
    assert "1 of 1 runs" in [caption.value for caption in at.caption]


def test_a_ray_client_connection_is_tried_again_only_while_the_head_fails_to_start_its_server(monkeypatch):
    """Ray 2.60's proxy sometimes fails to start a client's server (test_ray_client.py met it in about half
    of its connections): ray_cluster tries again, up to CLIENT_ATTEMPTS times; any other failure at once."""
    import ray
    from attn.runs import ray_cluster
    calls = []

    def init(address, **kw):
        calls.append(address)
        if len(calls) < 3:
            raise ConnectionAbortedError("Initialization failure from server: RuntimeError: Starting Ray client "
                                         "server failed. See ray_client_server_23000.err for detailed logs.")

    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "shutdown", lambda: None)
    ray_cluster._init_client("ray://head:10001")
    assert calls == ["ray://head:10001"] * 3
    calls.clear()
    monkeypatch.setattr(ray, "init", lambda address, **kw: calls.append(address) or (_ for _ in ()).throw(
        ConnectionError("ray client connection timeout")))
    with pytest.raises(ConnectionError, match="timeout"):
        ray_cluster._init_client("ray://head:10001")
    assert len(calls) == 1
    calls.clear()
    monkeypatch.setattr(ray, "init", lambda address, **kw: calls.append(address) or (_ for _ in ()).throw(
        ConnectionAbortedError("Starting Ray client server failed.")))
    with pytest.raises(ConnectionAbortedError):
        ray_cluster._init_client("ray://head:10001")
    assert len(calls) == ray_cluster.CLIENT_ATTEMPTS
