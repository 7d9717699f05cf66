"""Fixtures of the run store's tests: an empty store under ATTN_HOME, one real finished run."""
import pytest

from attn.config import PRESETS
from attn.runs.store import RunStore
from attn.training.experiment import run


@pytest.fixture
def store(tmp_path, monkeypatch):
    """An empty store in a fresh folder named by ATTN_HOME."""
    monkeypatch.setenv("ATTN_HOME", str(tmp_path / "home"))
    return RunStore()


@pytest.fixture(scope="session")
def result():
    """One real RunResult of the tiny preset, trained once for every store test."""
    return run(PRESETS["tiny"])
