"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, against `streamlit run dashboard.py`.

What only a browser shows: pages that render without an exception box or a console error, the live
loss chart growing while the Lecture demo trains, attention heatmaps drawn by vega-embed, a PNG that
downloads, and read-only / admin refusals as a visitor meets them. Screenshots of every page
(1600×1000) land in artifacts/screenshots/.

Two servers, each started once for this module on a free loopback port with its own ATTN_HOME:
one open, whose Lecture demo is the tiny preset (ATTN_DEMO_PRESET=tiny, ATTN_DEMO_EPOCHS so training
lasts long enough to watch), and one in read-only lecture mode with an admin password.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from attn.config import PRESETS
from attn.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1600, "height": 1000}
# Navigation label -> the page's title: a page has arrived when its title shows.
PAGES = {"Home": "Attention Lab", "Data": "Data", "Train": "Train", "Compare": "Compare by sentence length",
         "Attention": "Attention maps", "Curves": "Loss curves", "Runs": "Runs",
         "Playground": "Playground: scaled dot-product attention"}
DEMO_EPOCHS = "200"  # tiny trains its 2 epochs in a fraction of a second; 200 take several seconds: several looks at the chart
PASSWORD = "lecture-hall-42"
SETTLED = """() => !document.querySelector('[data-testid="stStatusWidget"], [data-testid^="stSkeleton"], '
                                      + '[data-testid="stAppSkeleton"]')"""
TIMEOUT_MS = 60_000

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - the failure below says what to install
    sync_playwright = None


# ------------------------------------------------------------------------------------------ the servers

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(home: Path, log: Path, **settings: str):
    """`streamlit run dashboard.py` on a free port with ATTN_HOME=home and `settings` -> its base URL.

    Waits for /_stcore/health to say "ok"; at the end kills the server's whole process group
    (the server and its training workers).
    """
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTN_")}  # only this test's settings
    env.update(ATTN_HOME=str(home), **settings)
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.headless", "true",
                                 "--server.port", str(port), "--server.address", "127.0.0.1",
                                 "--browser.gatherUsageStats", "false"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with code {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer {url}/_stcore/health within 60 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield url
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the server marks what it was training interrupted
            proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the group
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium. Install it with "
                    "`apt-get install chromium` (scripts/test.sh does), then run the tests again.")
    if sync_playwright is None:
        pytest.fail("the Python package playwright is missing: pip install -r requirements-dev.txt")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    """An open server whose Lecture demo is the tiny preset -> (base URL, ATTN_HOME)."""
    home = tmp_path_factory.mktemp("open")
    with serve(home, home.parent / "open-server.log", ATTN_DEMO_PRESET="tiny", ATTN_DEMO_EPOCHS=DEMO_EPOCHS) as url:
        yield url, home


@pytest.fixture(scope="module")
def locked_server(tmp_path_factory):
    """A read-only server with an admin password and one stored (cancelled) run -> (URL, ATTN_HOME, run id)."""
    home = tmp_path_factory.mktemp("locked")
    run_id = RunStore(home).create_run(PRESETS["tiny"], name="kept run", status="cancelled")
    with serve(home, home.parent / "locked-server.log", ATTN_READ_ONLY="1", ATTN_ADMIN_PASSWORD=PASSWORD) as url:
        yield url, home, run_id


# ------------------------------------------------------------------------------------------ the browser

class Tab:
    """One browser tab on the app, with the console errors and uncaught page errors it has seen."""

    def __init__(self, browser, url: str):
        self.url = url
        self.page = browser.new_page(viewport=VIEWPORT, accept_downloads=True)
        self.page.set_default_timeout(TIMEOUT_MS)
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console: {m.text} ({m.location.get('url')})")
                     if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.goto(url)
        self.arrive("Home")

    def settle(self) -> None:
        """Wait until the script run is over (Streamlit's "Running…" status widget is gone) and every element
        is drawn (no skeleton placeholders left where a lazily loaded widget, equation or chart will be)."""
        self.page.wait_for_function(SETTLED, polling=100)

    def arrive(self, label: str) -> None:
        self.page.get_by_role("heading", name=PAGES[label], exact=True).wait_for()
        self.settle()

    def open(self, label: str) -> None:
        """Go to a page the way a visitor does: its link in the sidebar (no page load, no deep-link probes)."""
        self.page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=label, exact=True).click()
        self.arrive(label)

    def count(self, selector: str) -> int:
        return self.page.locator(selector).count()

    def shot(self, name: str, full_page: bool = False) -> Path:
        path = SHOTS / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def close(self) -> None:
        self.page.close()


def chart_vertices(page) -> int:
    """Points drawn by the line marks of the page's vega charts (SVG path vertices: one M or L each)."""
    paths = page.eval_on_selector_all('[data-testid="stVegaLiteChart"] .mark-line path',
                                      "els => els.map(e => e.getAttribute('d') || '')")
    return sum(len(re.findall(r"[ML]", d)) for d in paths)


def png_size(blob: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    assert blob[:8] == b"\x89PNG\r\n\x1a\n", blob[:16]
    return struct.unpack(">II", blob[16:24])


# --------------------------------------------------------------------------------- the Lecture demo, live

@pytest.fixture(scope="module")
def lecture_demo(browser, open_server):
    """Click Lecture demo on Home, watch Train until every run has ended -> what was seen on the way."""
    url, home = open_server
    tab = Tab(browser, url)
    button = tab.page.get_by_role("button", name="Lecture demo")
    expect(button).to_be_enabled()
    button.click()
    tab.page.get_by_text("Queued 3 run(s)").wait_for()
    tab.settle()
    tab.open("Train")
    looks, deadline, shot = [], time.monotonic() + 120, None
    while time.monotonic() < deadline:  # one look every half second: the page refreshes itself once a second
        progress = tab.page.locator('[data-testid="stProgress"]').all_inner_texts()
        looks.append({"progress": progress, "vertices": chart_vertices(tab.page)})
        if shot is None and looks[-1]["vertices"] >= 20:
            shot = tab.shot("train-live")  # the live chart mid-training, for the README
        if not progress and len(looks) > 1 and RunStore(home).runs(status=["queued", "running"]).empty:
            break
        tab.page.wait_for_timeout(500)
    tab.settle()
    done = tab.page.get_by_text(re.compile(r"BLEU .* on the test set"))
    expect(done).to_have_count(3)  # waits out the moment a rerun still shows the old lines beside the new
    finished = done.all_inner_texts()
    errors = list(tab.errors)
    tab.close()
    return {"looks": looks, "finished": finished, "errors": errors, "runs": RunStore(home).runs()}


def test_lecture_demo_trains_and_the_live_chart_grows(lecture_demo):
    looks = lecture_demo["looks"]
    counts = [look["vertices"] for look in looks]
    assert max(counts) > 0, looks
    assert any(b > a > 0 for a, b in zip(counts, counts[1:])), f"the live chart never gained points: {counts}"
    steps = {text for look in looks for text in look["progress"] if "step" in text}
    assert len(steps) >= 2, f"the progress text never moved: {steps}"  # two looks saw different steps
    runs = lecture_demo["runs"]
    assert sorted(runs["variant"]) == ["additive", "dot", "none"]
    assert set(runs["status"]) == {"done"}, runs[["status", "error"]]
    assert len(lecture_demo["finished"]) == 3  # listed on Train as finished, with their BLEU
    assert not lecture_demo["errors"]



# ------------------------------------------------------------------------------------------ every page

@pytest.fixture(scope="module")
def tour(browser, open_server, lecture_demo):
    """Visit every page after the demo has trained, through the sidebar; screenshot each -> what each showed."""
    url, _ = open_server
    tab = Tab(browser, url)
    seen = {}
    for label in PAGES:
        tab.errors.clear()
        tab.open(label)
        if label in ("Compare", "Attention", "Curves", "Data", "Playground"):  # drawn by vega-embed after the run
            tab.page.locator('[data-testid="stVegaLiteChart"] svg').first.wait_for()
        seen[label] = {"exceptions": tab.count('[data-testid="stException"]'),
                       "error_boxes": tab.page.locator('[data-testid="stAlertContentError"]').all_inner_texts(),
                       "charts": tab.count('[data-testid="stVegaLiteChart"]'),
                       "console": list(tab.errors), "shot": tab.shot(label.lower())}
        tab.shot(f"full-page/{label.lower()}", full_page=True)  # the whole page, for reviewing what is below
    tab.close()
    return seen


@pytest.mark.parametrize("label", list(PAGES))
def test_every_page_loads_without_exceptions_or_console_errors(tour, label):
    seen = tour[label]
    assert seen["exceptions"] == 0 and not seen["error_boxes"], seen
    assert not seen["console"], seen["console"]


def test_screenshots_of_every_page_are_written_at_1600x1000(tour):
    for label, seen in tour.items():
        assert png_size(seen["shot"].read_bytes()) == (1600, 1000), label
    assert tour["Compare"]["charts"] == 1 and tour["Curves"]["charts"] == 1


# ------------------------------------------------------------------------------------ attention and PNG

def test_attention_page_draws_heatmaps_for_the_trained_runs(browser, open_server, lecture_demo):
    tab = Tab(browser, open_server[0])
    tab.open("Attention")
    chart = tab.page.locator('[data-testid="stVegaLiteChart"]')
    expect(chart).to_have_count(1)
    tab.page.locator('[data-testid="stVegaLiteChart"] .mark-rect path').first.wait_for()
    cells = tab.count('[data-testid="stVegaLiteChart"] .mark-rect path')
    assert cells > 10  # heatmap cells of additive and dot
    assert tab.page.get_by_text("one vector for every step").count() == 1  # none: why it has no map
    assert tab.count('[data-testid="stException"]') == 0 and tab.count('[data-testid="stAlertContentError"]') == 0
    assert not tab.errors
    tab.close()


def test_png_download_of_a_chart_is_a_png(browser, open_server, lecture_demo, tmp_path):
    tab = Tab(browser, open_server[0])
    tab.open("Attention")
    with tab.page.expect_download() as download:
        # our button, not the "Download as PNG" of Streamlit's own chart toolbar
        tab.page.locator('[data-testid="stDownloadButton"]').get_by_role("button", name="PNG", exact=True).first.click()
    assert download.value.suggested_filename == "attention-maps.png"
    target = tmp_path / "chart.png"
    download.value.save_as(target)
    width, height = png_size(target.read_bytes())
    assert width > 200 and height > 100
    assert not tab.errors
    tab.close()


# --------------------------------------------------------------------------------- read-only and admin

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


# ------------------------------------------------------------------------------------------ the sidebar

def test_the_sidebar_line_on_train_follows_the_runs(browser, open_server, lecture_demo):
    """Train redraws only its live fragment each second; when a run ends, the sidebar's line must say so."""
    url, home = open_server
    store = RunStore(home)
    ids = [store.create_run(PRESETS["tiny"], name=f"another visitor's run {i}", status="running") for i in (1, 2)]
    tab = Tab(browser, url)
    try:
        tab.open("Train")
        line = tab.page.locator('[data-testid="stSidebar"] [data-testid="stCaptionContainer"]').filter(has_text="stored")
        expect(line).to_contain_text("2 training")
        store.set_status(ids[0], "cancelled")   # one ends, one trains on: the page keeps watching
        expect(line).to_contain_text("1 training", timeout=10_000)
        assert not tab.errors
    finally:
        tab.close()
        store.set_status(ids[1], "cancelled")
        store.delete(ids)
