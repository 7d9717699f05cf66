"""What the browser tests share: a server of dashboard.py on a free port, a browser tab that records
console errors, and what is read off a page (chart points, PNG sizes).

Debian's Chromium, driven by Playwright. Timeouts here only guard against a hang: every wait is for
an event (a heading, a text, a count), never for a time to pass.
"""
from __future__ import annotations

import os
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

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1600, "height": 1000}
# Navigation label -> the page's title: a page has arrived when its title shows.
PAGES = {"Home": "Attention Lab", "Data": "Data", "Train": "Train", "Compare": "Compare by sentence length",
         "Attention": "Attention maps", "Curves": "Loss curves", "Runs": "Runs",
         "Playground": "Playground: scaled dot-product attention",
         "Heads": "Heads", "Sweep": "Sweep", "Lecture view": "Lecture demo"}  # its heading is the study's name: the Home button's study in the tour
SETTLED = """() => !document.querySelector('[data-testid="stStatusWidget"], [data-testid^="stSkeleton"], '
                                      + '[data-testid="stAppSkeleton"]')"""
TIMEOUT_MS = 120_000   # a page, a text or a chart that takes longer has hung
SERVER_START_S = 300   # the same for a server's first health check


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(home: Path, log: Path, **settings: str):
    """`streamlit run dashboard.py` on a free port with ATTN_HOME=home and `settings` -> its base URL.

    Waits for /_stcore/health to say "ok"; at the end kills the server's whole process group
    (the server and its training workers).
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTN_")}  # only this test's settings
    env.update(ATTN_HOME=str(home), **settings)
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.headless", "true",
                                 "--server.port", str(port), "--server.address", "127.0.0.1",
                                 "--browser.gatherUsageStats", "false"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with code {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer {url}/_stcore/health within {SERVER_START_S} s:\n"
                            f"{log.read_text()[-3000:]}")
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


class Tab:
    """One browser tab on the app, with the console errors and uncaught page errors it has seen."""

    def __init__(self, browser, url: str, label: str = "Home", path: str = ""):
        self.url = url
        self.page = browser.new_page(viewport=VIEWPORT, accept_downloads=True)
        self.page.set_default_timeout(TIMEOUT_MS)
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console: {m.text} ({m.location.get('url')})")
                     if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.goto(url + path)
        self.arrive(label)

    def settle(self) -> None:
        """Wait until the script run is over (Streamlit's "Running…" status widget is gone) and every element
        is drawn (no skeleton placeholders left where a lazily loaded widget, equation or chart will be)."""
        self.page.wait_for_function(SETTLED, polling=100)

    def arrive(self, label: str) -> None:
        self.page.get_by_role("heading", name=PAGES[label], exact=True).wait_for()
        if label == "Home":  # Home draws its head before it reads the store (a fresh server's first view is
            # fast): its title and a quiet status widget can both show before its right column exists
            self.page.get_by_role("button", name="Lecture demo").wait_for()
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


LINE_POINTS_JS = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"] .mark-line path')]
    .reduce((n, e) => n + ((e.getAttribute('d') || '').match(/[ML]/g) || []).length, 0)"""


def chart_vertices(page) -> int:
    """Points drawn by the line marks of the page's vega charts (SVG path vertices: one M or L each)."""
    return page.evaluate(LINE_POINTS_JS)


def png_size(blob: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    assert blob[:8] == b"\x89PNG\r\n\x1a\n", blob[:16]
    return struct.unpack(">II", blob[16:24])


def chart_points_js(more_than: int) -> str:
    """A JS predicate: the page's line charts have more than `more_than` points."""
    return f"() => ({LINE_POINTS_JS})() > {more_than}"
