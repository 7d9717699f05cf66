"""Every page on a store holding Transformer runs: a tiny decoder-only one (learned positions) and a tiny
encoder-decoder one (T5 bias), trained here with attn.training.experiment.run and stored as the CLI stores
them. Each page renders without an exception or an error box; the Playground draws their trained tables."""
import dataclasses
import os

import pytest

from attn.config import PRESETS, ModelConfig
from attn.runs.store import RunStore
from attn.training.experiment import run
from tests.app.apptest import PAGES, ROOT, assert_clean, charts_of, open_page, start_app

TINY_DECODER = ModelConfig(family="transformer", arch="decoder", hidden=16, layers=1, heads=2, ff=32,
                           positions="learned", max_positions=40)
TINY_ENCDEC = dataclasses.replace(TINY_DECODER, arch="encdec", positions="t5")
EVERY_PAGE = [p for p in (*PAGES, "lecture") if os.path.exists(os.path.join(ROOT, "pages", f"{p}.py"))]


@pytest.fixture(scope="module")
def transformer_home(tmp_path_factory):
    """ATTN_HOME with two finished Transformer runs (seed 0, the tiny preset's data and training)."""
    path = tmp_path_factory.mktemp("transformers")
    store = RunStore(path)
    for model in (TINY_DECODER, TINY_ENCDEC):
        cfg = dataclasses.replace(PRESETS["tiny"], model=model)
        store.save_finished(cfg, run(cfg))
    store.close()
    return path


@pytest.fixture
def transformer_app(transformer_home, monkeypatch):
    monkeypatch.setenv("ATTN_HOME", str(transformer_home))
    return start_app()


def test_the_store_holds_both_transformers_by_label(transformer_home):
    runs = RunStore(transformer_home).runs()
    assert sorted(runs["variant"]) == ["dec·learned", "encdec·t5"] and set(runs["status"]) == {"done"}


@pytest.mark.parametrize("page", EVERY_PAGE)
def test_every_page_renders_transformer_runs(transformer_app, page):
    at = transformer_app if page == "home" else open_page(transformer_app, page)
    assert_clean(at)


def test_playground_draws_each_runs_trained_table(transformer_app, transformer_home):
    at = open_page(transformer_app, "playground")
    at.radio(key="playground.panel").set_value("positions").run()
    assert_clean(at)
    assert at.title[0].value == "Playground: positional encodings" and len(charts_of(at)) == 1
    ids = dict(zip(RunStore(transformer_home).runs()["variant"], RunStore(transformer_home).runs()["id"]))
    at.selectbox(key="playground.positions.run").set_value(ids["dec·learned"]).run()
    assert_clean(at)
    assert at.radio(key="playground.positions.mode").options == ["causal (a decoder: keys j ≤ i)"]
    assert "trained table" in charts_of(at)[0].proto.spec
    at.selectbox(key="playground.positions.run").set_value(ids["encdec·t5"]).run()
    at.radio(key="playground.positions.mode").set_value("bidirectional").run()
    assert_clean(at)
    assert "trained table: one line per head" in charts_of(at)[0].proto.spec
    at.slider(key="playground.positions.last_key").set_value(3).run()  # the query follows into the shorter range
    assert_clean(at)
