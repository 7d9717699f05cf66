"""What only a browser shows on the pages that read runs: wide attention maps inside the page column,
the test-sentence box following the length bucket, and Data's histogram clear of the pairs table in
slide style (issue 17, items 3 and 4).

One server on a store of tiny runs (additive, dot, general) on sentences up to 30 tokens, trained by
the CLI before the server starts.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from tests.app.browser import ROOT, Tab, serve

TRAIN_TIMEOUT_S = 600  # the three tiny runs take seconds; this only guards against a hang
CHART = '[data-testid="stVegaLiteChart"]'


@pytest.fixture(scope="module")
def long_server(tmp_path_factory):
    """A server on tiny runs whose test sentences reach 30 tokens -> its base URL."""
    home = tmp_path_factory.mktemp("long")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTN_")}
    env["ATTN_HOME"] = str(home)
    subprocess.run([sys.executable, "-m", "attn", "train", "--preset", "tiny", "--variants", "additive,dot,general",
                    "--max-len", "30", "--n-test", "60", "--jobs", "1"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=TRAIN_TIMEOUT_S)
    with serve(home, home.parent / "long-server.log") as url:
        yield url


def _main_right(tab: Tab) -> float:
    """The right edge of the page's column: where its full-width title element ends."""
    box = tab.page.locator('[data-testid="stHeading"]').first.bounding_box()
    return box["x"] + box["width"]


def _choose_last(tab: Tab, label: str) -> None:
    """Open the selectbox labelled `label` (a combobox) and click its last option."""
    tab.page.get_by_role("combobox", name=label).click()
    tab.page.get_by_role("option").last.click()
    tab.settle()


def _sentence_in(tab: Tab, lo: int, hi: int, timeout_s: float = 60.0) -> str:
    """The test-sentence box's text once it names a sentence of lo..hi tokens, or its last text after
    `timeout_s` (a guard against hanging: the page's rerun after the bucket change may still be running)."""
    box = tab.page.get_by_role("combobox", name="Test sentence")
    deadline = time.monotonic() + timeout_s
    while True:
        text = box.input_value()
        found = re.search(r"· (\d+) tokens", text)
        if (found and lo <= int(found.group(1)) <= hi) or time.monotonic() > deadline:
            return text
        tab.page.wait_for_timeout(250)


def test_attention_maps_of_the_longest_sentences_fit_the_column_and_the_box_follows_the_bucket(browser, long_server):
    tab = Tab(browser, long_server)
    tab.open("Attention")
    _choose_last(tab, "Length bucket")  # the last bucket: the longest sentences
    bucket = tab.page.get_by_role("combobox", name="Length bucket").input_value()
    lo, hi = map(int, re.fullmatch(r"(\d+)-(\d+)", bucket).groups())
    sentence = _sentence_in(tab, lo, hi)
    tokens = int(re.search(r"· (\d+) tokens", sentence).group(1))
    assert lo <= tokens <= hi, (bucket, sentence)  # issue 17: it still showed "#0 · 14 tokens" in bucket 34-40
    tab.page.locator(CHART).first.locator("canvas, svg").first.wait_for()
    right = _main_right(tab)
    for chart in tab.page.locator(CHART).all():
        box = chart.bounding_box()
        assert box["x"] + box["width"] <= right + 1, (box, right)  # nothing reached by scrolling sideways
    assert not tab.errors, tab.errors
    tab.close()


def test_data_histogram_does_not_overlap_the_pairs_table_in_slide_style(browser, long_server):
    tab = Tab(browser, long_server)
    tab.page.locator('[data-testid="stSidebar"]').get_by_text("Slide style").click()
    tab.settle()
    tab.open("Data")
    tab.page.locator(CHART).first.locator("canvas, svg").first.wait_for()
    chart = tab.page.locator(CHART).first.bounding_box()
    table = tab.page.locator('[data-testid="stTable"]').first.bounding_box()
    apart = (chart["x"] + chart["width"] <= table["x"] or table["x"] + table["width"] <= chart["x"]
             or chart["y"] + chart["height"] <= table["y"] or table["y"] + table["height"] <= chart["y"])
    assert apart, (chart, table)
    assert not tab.errors, tab.errors
    tab.close()
