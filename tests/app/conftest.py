"""Fixtures of the app tests: a fresh ATTN_HOME per test, one store of tiny trained runs shared by every
test that reads runs (trained once per session, from the Train page), and the browser."""
import os
import shutil

import pytest

from attn.runs.store import FINISHED, RunStore
from tests.app.apptest import assert_clean, charts_of, open_page, start_app, wait_until
from tests.app.browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - the browser fixture says what to install
    sync_playwright = None

TRAINING_TIMEOUT = 600  # seconds; the tiny runs take a few, this only guards against a hang


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty ATTN_HOME of this test's own (never ./runs)."""
    monkeypatch.setenv("ATTN_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def app(home):
    """The app's first view (Home) on the empty store."""
    return start_app()


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """Tiny runs (none, additive, dot; seed 0) queued from the Train page; waits until they end -> ATTN_HOME."""
    path = tmp_path_factory.mktemp("trained")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ATTN_HOME", str(path))
        at = open_page(start_app(), "train")
        at.selectbox(key="train.preset").set_value("tiny")
        at.button(key="train.preset_button").click().run()
        at.button(key="train.queue_button").click().run()
        assert_clean(at)
        assert "3 run(s) queued" in at.success[0].value
        assert len(at.progress) == 3 and len(charts_of(at)) >= 1  # live progress and the live loss (then length, map)
        store = RunStore(path)
        wait_until(lambda: len(store.runs()) == 3 and set(store.runs()["status"]) <= set(FINISHED), TRAINING_TIMEOUT,
                   "the tiny runs to finish")
    return path


@pytest.fixture
def trained_app(trained, monkeypatch):
    """The app's first view on the trained store."""
    monkeypatch.setenv("ATTN_HOME", str(trained))
    return start_app()


@pytest.fixture
def trained_copy(trained, tmp_path, monkeypatch):
    """A copy of the trained store that a test may change, as ATTN_HOME."""
    home = tmp_path / "copy"
    shutil.copytree(trained, home)
    monkeypatch.setenv("ATTN_HOME", str(home))
    return home


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's), one per test module that drives a browser."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium. Install it with "
                    "`apt-get install chromium` (scripts/test.sh does), then run the tests again.")
    if sync_playwright is None:
        pytest.fail("the Python package playwright is missing: pip install -r requirements-dev.txt")
    expect.set_options(timeout=TIMEOUT_MS)  # expect() waits for its event; the timeout only guards a hang
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
