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
