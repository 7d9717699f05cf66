"""The dashboard in a real browser, as a visitor meets its doors: read-only refusals, the admin password,
and a deep link to a server that has seen no visitor yet.

One server for the refusals, in read-only lecture mode with an admin password and one stored run; a
fresh one for the deep link (Streamlit's pages-directory mode runs a page file on its own on a fresh
server's first request; the page must still come up inside the frame).
"""
from __future__ import annotations

import re

import pytest

from attn.config import PRESETS
from attn.runs.store import RunStore
from tests.app.browser import Tab, serve

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - conftest's browser fixture says what to install
    expect = None

PASSWORD = "lecture-hall-42"


@pytest.fixture(scope="module")
def locked_server(tmp_path_factory):
    """A read-only server with an admin password and one stored (cancelled) run -> (URL, ATTN_HOME, run id)."""
    home = tmp_path_factory.mktemp("locked")
    run_id = RunStore(home).create_run(PRESETS["tiny"], name="kept run", status="cancelled")
    with serve(home, home.parent / "locked-server.log", ATTN_READ_ONLY="1", ATTN_ADMIN_PASSWORD=PASSWORD) as url:
        yield url, home, run_id


def test_read_only_server_refuses_training_and_deleting(browser, locked_server):
    url, home, run_id = locked_server
    before = RunStore(home).runs()[["id", "name", "status"]].to_dict("records")
    tab = Tab(browser, url)
    expect(tab.page.get_by_role("button", name="Lecture demo")).to_be_disabled()
    expect(tab.page.get_by_text("This server is in read-only lecture mode").first).to_be_visible()

    tab.open("Train")
    queue = tab.page.get_by_role("button", name="Queue runs")
    expect(queue).to_be_disabled()
    queue.click(force=True)  # what a visitor's click on it does: nothing
    expect(tab.page.get_by_text("This server is in read-only lecture mode").first).to_be_visible()

    tab.open("Runs")
    expect(tab.page.get_by_text("renaming runs and deleting runs are switched off")).to_be_visible()
    expect(tab.page.get_by_role("button", name="Delete", exact=True)).to_be_disabled()
    expect(tab.page.get_by_role("button", name="Rename", exact=True)).to_be_disabled()
    tab.shot("runs-read-only")
    tab.page.get_by_role("button", name="Delete", exact=True).click(force=True)
    tab.settle()
    assert RunStore(home).runs()[["id", "name", "status"]].to_dict("records") == before
    assert not tab.errors
    tab.close()


def test_admin_password_unlocks_deleting_on_a_read_only_server(browser, locked_server):
    url, home, kept = locked_server
    run_id = RunStore(home).create_run(PRESETS["tiny"].with_variant("dot"), name="old run", status="failed")
    tab = Tab(browser, url)
    tab.open("Runs")
    field = tab.page.get_by_label("Admin password", exact=True)
    field.fill("not it")
    field.press("Enter")
    expect(tab.page.get_by_text("That is not the admin password.")).to_be_visible()
    expect(tab.page.get_by_role("button", name="Delete", exact=True)).to_be_disabled()

    field.fill(PASSWORD)
    field.press("Enter")
    expect(tab.page.get_by_text("Admin: you may train")).to_be_visible()
    tab.settle()
    picker = tab.page.locator('[data-testid="stMultiSelect"]').filter(has_text="Runs to rename, delete or export")
    picker.locator("input").click()
    tab.page.get_by_role("option", name=f"old run ({run_id})").click()
    tab.page.keyboard.press("Escape")
    tab.settle()
    tab.page.get_by_text("Delete 1 run(s) with their weights").click()
    tab.settle()
    delete = tab.page.get_by_role("button", name="Delete", exact=True)
    expect(delete).to_be_enabled()
    delete.click()
    expect(tab.page.get_by_text("Deleted 1 run(s).")).to_be_visible()
    assert list(RunStore(home).runs()["id"]) == [kept]
    assert not tab.errors
    tab.close()


def test_a_deep_link_to_a_fresh_server_opens_the_page_inside_the_frame(browser, tmp_path):
    with serve(tmp_path, tmp_path / "server.log") as url:
        tab = Tab(browser, url, label="Train", path="/train")  # the server's first request
        expect(tab.page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Compare")).to_be_visible()
        expect(tab.page.get_by_text("0 runs stored")).to_be_visible()  # the frame's sidebar
        expect(tab.page.get_by_role("button", name="Queue runs")).to_be_enabled()
        assert tab.page.get_by_role("heading", name="Train", exact=True).count() == 1  # drawn once, not twice
        tab.open("Home")  # and the frame's navigation goes on from there
        # Streamlit's frontend looks for its server under the deep link's path first (/train/_stcore/...)
        # and logs each 404 of that search as a console error; any other error counts.
        errors = [e for e in tab.errors if not re.search(r"404 .*/train/_stcore/", e)]
        assert tab.count('[data-testid="stException"]') == 0 and not errors, errors
        tab.close()
