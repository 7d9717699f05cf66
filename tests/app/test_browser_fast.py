"""A class clicking fast and carelessly, in a real browser (issue 17): a demo click followed at once by a
link still queues all of its runs; "Train short, test long" queues its nine; a reload does not reset the
visitor's queue limit nor forget the slide style.

One server for this module (tests.app.browser.serve) with its own ATTN_HOME, one training worker and
long demos, so what a test queued is still queued or training when it looks; every test cancels what it
queued through the store, so the module stays quick. Waits are for events; timeouts only guard a hang.
"""
from __future__ import annotations

import contextlib
import re

import pytest

from attn.runs.store import ACTIVE, RunStore
from tests.app.apptest import wait_until
from tests.app.browser import Tab, serve

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - conftest's browser fixture says what to install
    expect = None

CLICK_THEN_LEAVE = """(ms) => {
    [...document.querySelectorAll('button')].find(b => b.innerText.includes('Lecture demo')).click();
    setTimeout(() => [...document.querySelectorAll('[data-testid="stSidebarNav"] a')]
        .find(a => a.innerText.trim().endsWith('Train')).click(), ms);
}"""
STORE_TIMEOUT = 120  # seconds for a click's runs to appear in the store; they take well under one


@pytest.fixture(scope="module")
def fast_server(tmp_path_factory):
    """A server whose Lecture demo is the tiny preset for 200 epochs, one run trained at a time, a
    visitor's limit of 3 -> (base URL, ATTN_HOME)."""
    home = tmp_path_factory.mktemp("fast")
    with serve(home, home.parent / "fast-server.log", ATTN_DEMO_PRESET="tiny", ATTN_DEMO_EPOCHS="200",
               ATTN_MAX_JOBS="1", ATTN_MAX_QUEUED="3") as url:
        yield url, home


def _cancel_active(home) -> None:
    store = RunStore(home)
    for run_id in store.runs(status=list(ACTIVE))["id"]:
        store.request_cancel(run_id)  # the server's runner stops a queued run at once, a running one soon
    wait_until(lambda: store.runs(status=list(ACTIVE)).empty, STORE_TIMEOUT, "the runs to be cancelled")


@contextlib.contextmanager
def _visit(browser, fast_server, *where):
    """A tab on the server (Tab's page and path in `where`); afterwards closed, and what it queued cancelled."""
    url, home = fast_server
    tab = Tab(browser, url, *where)
    try:
        yield tab, home
    finally:
        tab.close()
        _cancel_active(home)


def test_a_demo_click_followed_at_once_by_a_link_queues_all_three_runs(browser, fast_server):
    with _visit(browser, fast_server) as (tab, home):
        # the button, then 50 ms later (in the page itself, not waiting for anything) the sidebar's Train link
        tab.page.evaluate(CLICK_THEN_LEAVE, 50)
        tab.arrive("Train")
        store = RunStore(home)
        wait_until(lambda: len(store.runs()) >= 3, STORE_TIMEOUT, "the demo's runs in the store")
        runs = store.runs()
        assert sorted(runs["variant"]) == ["additive", "dot", "none"], runs[["variant", "status"]]
        assert not tab.errors


def test_train_short_test_long_queues_nine_runs(browser, fast_server):
    before = set(RunStore(fast_server[1]).runs()["id"])
    with _visit(browser, fast_server) as (tab, home):
        tab.page.get_by_role("button", name="Train short, test long").click()
        tab.page.get_by_text("Queued 9 run(s)").wait_for()
        new = RunStore(home).runs().query("id not in @before")
        assert len(new) == 9 and (new["status"].isin(ACTIVE)).all(), new[["variant", "status"]]
        assert not tab.errors


def test_a_reload_keeps_the_visitors_limit_and_the_slide_style(browser, fast_server):
    with _visit(browser, fast_server, "Train", "/train") as (tab, home):
        tab.page.locator('[data-testid="stSidebar"]').get_by_text("Slide style").click()
        tab.settle()
        queue = tab.page.get_by_role("button", name="Queue runs")
        queue.click()  # the default form: none, additive, dot on the lecture data, seed 0 -> 3 runs, the limit
        tab.page.get_by_text("3 run(s) queued").wait_for()
        tab.page.wait_for_url(re.compile(r"style=slide"))  # written at the end of the script run
        tab.page.reload()
        tab.arrive("Train")
        assert tab.page.locator('[data-testid="stSidebar"] input[type="checkbox"]').first.is_checked()
        seeds = tab.page.get_by_role("textbox", name="Seeds", exact=True)
        seeds.fill("5")
        seeds.press("Enter")
        tab.settle()
        tab.page.get_by_role("button", name="Queue runs").click()
        expect(tab.page.get_by_text("you already have 3 runs queued or training")).to_be_visible()
        assert len(RunStore(home).runs(status=list(ACTIVE))) == 3
        # a reload of /train makes Streamlit's client search for the server's base path, logging each 404
        # of that search as a console error (as test_browser_access.py's deep link); any other error counts
        assert not [e for e in tab.errors if not re.search(r"404 .*/train/_stcore/", e)], tab.errors
