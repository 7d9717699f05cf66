"""pages/heads.py: a Transformer run's layers x heads grid for each kind of attention, the head average and
the per-head summary; for a store of RNN runs, the line that heads exist only in the Transformer family.
The page runs inside the frame's marker (its link in dashboard.py is the frame's business)."""
import dataclasses
import json
import os

import pytest
from streamlit.testing.v1 import AppTest

from attn.config import PRESETS, ModelConfig
from attn.runs.store import RunStore
from attn.training.experiment import run
from tests.app.apptest import RUN_TIMEOUT, ROOT, assert_clean, charts_of

SCRIPT = f"""
import runpy
from attn.app import frame
with frame.framed():
    runpy.run_path({os.path.join(ROOT, "pages", "heads.py")!r}, run_name="__page__")
"""
ENCDEC = ModelConfig(family="transformer", arch="encdec", hidden=16, layers=2, heads=2, ff=32, positions="t5")
DECODER = dataclasses.replace(ENCDEC, arch="decoder", positions="learned", max_positions=40)


@pytest.fixture(scope="module")
def transformer_home(tmp_path_factory):
    """ATTN_HOME with a tiny 2-layer, 2-head encoder-decoder and a decoder-only Transformer run, finished."""
    path = tmp_path_factory.mktemp("heads")
    store = RunStore(path)
    for model in (ENCDEC, DECODER):
        cfg = dataclasses.replace(PRESETS["tiny"], model=model)
        cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, epochs=1))
        store.save_finished(cfg, run(cfg))
    store.close()
    return path


def heads_page(home, monkeypatch) -> AppTest:
    monkeypatch.setenv("ATTN_HOME", str(home))
    return AppTest.from_string(SCRIPT, default_timeout=RUN_TIMEOUT).run()


def test_an_encoder_decoder_gets_a_layers_by_heads_grid_of_each_kind_and_the_summary(transformer_home, monkeypatch):
    at = heads_page(transformer_home, monkeypatch)
    assert_clean(at)
    assert at.title[0].value == "Heads"
    ids = dict(zip(RunStore(transformer_home).runs()["variant"], RunStore(transformer_home).runs()["id"]))
    at.selectbox(key="heads.run").set_value(ids["encdec·t5"]).run()
    assert_clean(at)
    assert at.radio(key="heads.kind").options == ["encoder self-attention", "decoder self-attention",
                                                  "cross-attention"]
    for kind in ("encoder", "decoder", "cross"):
        at.radio(key="heads.kind").set_value(kind).run()
        assert_clean(at)
        grid, summary = charts_of(at)
        spec = json.loads(grid.proto.spec)
        assert "facet" in spec and spec["facet"]["row"]["field"] == "layer" and spec["facet"]["column"]["field"] == "head"
        assert "What each head does" in summary.proto.spec
    at.radio(key="heads.show").set_value("head average").run()
    assert_clean(at)
    assert "layer 2: mean of 2 heads" in charts_of(at)[0].proto.spec
    at.selectbox(key="heads.layer").set_value(1).run()
    assert_clean(at)
    assert "layer 1: mean of 2 heads" in charts_of(at)[0].proto.spec


def test_a_decoder_only_transformer_has_no_encoder_self_attention(transformer_home, monkeypatch):
    at = heads_page(transformer_home, monkeypatch)
    ids = dict(zip(RunStore(transformer_home).runs()["variant"], RunStore(transformer_home).runs()["id"]))
    at.selectbox(key="heads.run").set_value(ids["dec·learned"]).run()
    assert_clean(at)
    assert at.radio(key="heads.kind").options == ["decoder self-attention", "cross-attention"]
    assert "facet" in charts_of(at)[0].proto.spec


def test_rnn_runs_get_the_line_that_heads_are_transformer_only(trained, monkeypatch):
    at = heads_page(trained, monkeypatch)
    assert_clean(at)
    assert not charts_of(at)
    assert "Heads exist only in the **Transformer family**" in at.info[0].value
    assert "**Train** (in the sidebar)" in at.info[0].value  # where to go instead
