"""The dashboard in a real browser: the Lecture demo trained live, every page, charts and downloads.

What only a browser shows: pages that render without an exception box or a console error, the live
loss chart growing while the Lecture demo trains and its BLEU-by-length chart moving to later checkpoints
(ending at the runs' last step), attention heatmaps drawn by vega-embed, a PNG that
downloads, the sidebar's line following runs that end. Screenshots of every page (1600×1000) land in
artifacts/screenshots/.

One server for this module, on a free loopback port with its own ATTN_HOME, whose Lecture demo is the
tiny preset (ATTN_DEMO_PRESET=tiny, ATTN_DEMO_EPOCHS so training lasts long enough to watch it redraw).
Read-only mode, the admin password and deep links are in test_browser_access.py.
"""
from __future__ import annotations

import re

import pytest

from attn.config import PRESETS
from attn.runs.store import RunStore
from tests.app.browser import PAGES, TIMEOUT_MS, Tab, chart_points_js, chart_vertices, png_size, serve

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout, expect
except ImportError:  # pragma: no cover - conftest's browser fixture says what to install
    PlaywrightTimeout, expect = TimeoutError, None

DEMO_EPOCHS = "200"  # tiny trains its 2 epochs in a fraction of a second; 200 take several: several redraws
TRAINING_MS = 600_000  # the demo takes seconds; this only guards against a hang
# The progress texts that show a step ("... step 10/40 ..."), and whether they differ from `first`.
STEPS_JS = """() => [...document.querySelectorAll('[data-testid="stProgress"]')].map(e => e.innerText)
    .filter(t => t.includes('step'))"""
MOVED_JS = f"""(first) => {{ const now = ({STEPS_JS})();
    return now.length > 0 && JSON.stringify(now) !== JSON.stringify(first); }}"""
# The newest step the live BLEU-by-length chart says it draws (its subtitle "while training: step 1,234 (..."
# or "while training: steps 1,200–1,234 (..." for runs at different steps), or null before it shows.
LENGTH_STEP_JS = r"""() => { const t = [...document.querySelectorAll('[data-testid="stVegaLiteChart"] svg text')]
    .map(e => e.textContent).find(s => /while training: steps? [\d,]+/.test(s));
    if (!t) return null;
    const m = t.match(/steps? ([\d,]+)(?:–([\d,]+))?/);
    return parseInt((m[2] || m[1]).replace(/,/g, ''), 10); }"""
LATER_JS = f"(first) => {{ const now = ({LENGTH_STEP_JS})(); return now !== null && now > first; }}"


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    """An open server whose Lecture demo is the tiny preset -> (base URL, ATTN_HOME)."""
    home = tmp_path_factory.mktemp("open")
    with serve(home, home.parent / "open-server.log", ATTN_DEMO_PRESET="tiny", ATTN_DEMO_EPOCHS=DEMO_EPOCHS) as url:
        yield url, home


def _happens(page, predicate_js: str, arg=None) -> bool:
    """Wait for a JS predicate to hold -> True, or False when it never did (within TIMEOUT_MS)."""
    try:
        page.wait_for_function(predicate_js, arg=arg, polling=100, timeout=TIMEOUT_MS)
        return True
    except PlaywrightTimeout:
        return False


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
    # The page redraws itself once a second while the runs train: wait for its first points and step,
    # then for a redraw with more points and a progress text other than the first one seen.
    seen = {"drawn": _happens(tab.page, chart_points_js(0)),
            "stepping": _happens(tab.page, f"() => ({STEPS_JS})().length > 0")}
    # The live BLEU-by-length chart (issue 13): drawn at a checkpoint, then (below) redrawn at a later one.
    seen["length drawn"] = _happens(tab.page, f"() => ({LENGTH_STEP_JS})() !== null")
    first_length = tab.page.evaluate(LENGTH_STEP_JS)
    first_points, first_steps = chart_vertices(tab.page), tab.page.evaluate(STEPS_JS)
    seen["grew"] = _happens(tab.page, chart_points_js(first_points))
    seen["points"] = (first_points, chart_vertices(tab.page))
    if seen["grew"]:
        tab.shot("train-live")  # the live chart mid-training, for the README
    seen["progress moved"] = _happens(tab.page, MOVED_JS, first_steps)
    seen["length later"] = (first_length, _happens(tab.page, LATER_JS, first_length) and tab.page.evaluate(LENGTH_STEP_JS))
    done = tab.page.get_by_text(re.compile(r"BLEU .* on the test set"))
    expect(done).to_have_count(3, timeout=TRAINING_MS)  # every run ended and is listed as finished
    tab.settle()
    seen["length final"] = tab.page.evaluate(LENGTH_STEP_JS)  # the finished runs' picture: their last checkpoint
    seen.update(finished=done.all_inner_texts(), errors=list(tab.errors), runs=RunStore(home).runs())
    tab.close()
    return seen


def test_lecture_demo_trains_and_the_live_chart_grows(lecture_demo):
    assert lecture_demo["drawn"] and lecture_demo["stepping"], "the live chart or the progress never showed a step"
    assert lecture_demo["grew"], f"the live chart never gained points (points before/after: {lecture_demo['points']})"
    assert lecture_demo["progress moved"], "the progress text never showed another step"
    assert lecture_demo["length drawn"], "the live BLEU-by-length chart never showed a checkpoint"
    first, later = lecture_demo["length later"]
    assert later and later > first, f"the live BLEU-by-length chart stayed at step {first}"
    last_step = int(lecture_demo["runs"]["step"].max())  # where the runs ended: their last checkpoint's step
    assert lecture_demo["length final"] == last_step, (lecture_demo["length final"], last_step)
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
        if label in ("Compare", "Attention", "Curves", "Data", "Playground", "Lecture view"):  # drawn by vega-embed after the run
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
    assert tab.page.get_by_text("one fixed vector", exact=True).count() == 1  # none: why it has no map
    assert tab.page.get_by_role("button", name="Show where it looks").count() == 1  # ... and its saliency, a click away
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
        expect(line).to_contain_text("1 training")
        assert not tab.errors
    finally:
        tab.close()
        store.set_status(ids[1], "cancelled")
        store.delete(ids)
