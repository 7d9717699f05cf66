"""The Train form cannot lie (issue 17): a bad field queues nothing and is named with its range, help texts
state the ranges attn.config checks, a message that stays until the next click, the
Transformer fields; the visitor's limit and the chosen data and slide style survive a reload (issue 17.8)."""
from __future__ import annotations

import dataclasses

from attn.app.state import SHARED_VISITOR, visitor_key
from attn.config import PRESETS
from attn.runs.plans import data_param
from attn.runs.store import RunStore
from tests.app.apptest import assert_clean, new_app, open_page, start_app


def _cancel_everything(home) -> None:
    from attn.app import state
    for run_id in RunStore(home).runs(status=["queued", "running"])["id"]:
        state.runner().cancel(run_id)


def test_out_of_range_numbers_queue_nothing_and_one_message_names_each(app, home):
    at = open_page(app, "train")
    at.number_input(key="train.hidden").set_value(0).run()
    at.number_input(key="train.epochs").set_value(10000).run()
    at.number_input(key="train.lr").set_value(0.0).run()
    at.button(key="train.queue_button").click().run()
    assert not at.exception and len(at.error) == 1 and not at.success
    message = at.error[0].value
    assert "Nothing was queued" in message
    for said in ("model.hidden = 0", "2..1024", "train.epochs = 10000", "1..200", "train.lr = 0.0", "1e-06..1.0"):
        assert said in message, (said, message)
    assert RunStore(home).runs().empty


def test_help_texts_state_the_ranges_the_config_checks(app, monkeypatch):
    at = open_page(app, "train")
    assert at.number_input(key="train.lr").help.endswith("Allowed: 1e-06..1.0.")  # the config's, not 1e-5
    assert at.number_input(key="train.hidden").help.endswith("Allowed: 2..1024.")
    assert "at most 100" in at.text_input(key="train.seeds").help


def test_the_queued_message_stays_until_the_next_click(home, monkeypatch):
    monkeypatch.setenv("ATTN_MAX_JOBS", "1")
    at = open_page(start_app(), "train")
    at.selectbox(key="train.preset").set_value("tiny")
    at.button(key="train.preset_button").click().run()
    at.button(key="train.queue_button").click().run()
    try:
        assert "3 run(s) queued" in at.success[0].value
        at.text_input(key="train.seeds").set_value("1").run()  # another rerun, no click
        assert "3 run(s) queued" in at.success[0].value
    finally:
        _cancel_everything(home)


def test_the_transformer_fields_show_only_for_that_family_and_queue_one_per_seed(app, home):
    at = open_page(app, "train")
    assert not [s for s in at.selectbox if s.key == "train.positions"]
    at.segmented_control(key="train.family").set_value("transformer").run()
    at.selectbox(key="train.positions").set_value("alibi").run()
    at.number_input(key="train.heads").set_value(3).run()  # does not divide the hidden size 128
    assert_clean(at)
    at.button(key="train.queue_button").click().run()
    assert "model.heads = 3 must divide model.hidden = 128" in at.error[0].value and RunStore(home).runs().empty
    at.number_input(key="train.heads").set_value(4).run()
    assert any("dec·alibi" in c.value for c in at.caption), [c.value for c in at.caption]
    at.text_input(key="train.seeds").set_value("0,1").run()
    at.button(key="train.queue_button").click().run()
    try:
        assert "2 run(s) queued" in at.success[0].value  # one model per seed: no RNN variants multiplied
        configs = RunStore(home).configs(list(RunStore(home).runs()["id"]))
        assert {(c["model"]["family"], c["model"]["positions"], c["model"]["heads"]) for c in configs.values()} \
            == {("transformer", "alibi", 4)}
    finally:
        _cancel_everything(home)


# ------------------------------------------------------------------------------ surviving a reload

def test_the_visitors_limit_holds_after_a_reload(home, monkeypatch):
    monkeypatch.setenv("ATTN_MAX_QUEUED", "3")
    monkeypatch.setenv("ATTN_MAX_JOBS", "1")
    at = open_page(start_app(), "train")
    at.selectbox(key="train.preset").set_value("tiny")
    at.button(key="train.preset_button").click().run()
    at.number_input(key="train.epochs").set_value(200).run()  # long enough to still be queued or training
    at.button(key="train.queue_button").click().run()
    try:
        assert "3 run(s) queued" in at.success[0].value
        again = open_page(start_app(), "train")  # a reload: a new session of the same visitor
        again.text_input(key="train.seeds").set_value("5").run()
        again.button(key="train.queue_button").click().run()
        assert "you already have 3 runs queued or training" in again.error[0].value
        assert len(RunStore(home).runs()) == 3
    finally:
        _cancel_everything(home)


def test_a_visitor_is_told_apart_by_the_xsrf_token_then_the_address():
    # the cookie's mask changes with every response; the token under it is the browser's own
    token = bytes(range(16))
    first = "2|01020304|" + bytes(b ^ m for b, m in zip(token, b"\x01\x02\x03\x04" * 4)).hex() + "|1700000000"
    second = "2|0a0b0c0d|" + bytes(b ^ m for b, m in zip(token, b"\x0a\x0b\x0c\x0d" * 4)).hex() + "|1700000000"
    assert visitor_key(first, None) == visitor_key(second, "10.0.0.1") != visitor_key("2|01020304|ff|1", None)
    assert visitor_key(None, "10.0.0.1") != visitor_key(None, "10.0.0.2")
    assert visitor_key(None, None) == SHARED_VISITOR


def test_slide_style_and_the_chosen_data_survive_a_reload(home):
    reverse = dataclasses.replace(PRESETS["lecture"].data, task="reverse", min_len=3, max_len=12, n_train=500)
    at = new_app()
    at.query_params.update({"style": "slide", "data": data_param(reverse)})
    at = open_page(at.run(), "train")
    assert_clean(at)
    assert at.toggle(key="slide_style").value is True
    assert "task reverse" in at.markdown[0].value and "500 training" in at.markdown[0].value
    at.toggle(key="slide_style").set_value(False).run()
    assert "style" not in at.query_params and "data" in at.query_params  # the URL follows the choices


def test_settings_in_the_url_follow_the_page(app):
    at = app.toggle(key="slide_style").set_value(True).run()
    assert at.query_params["style"] == "slide"
    at = open_page(at, "data")
    at.selectbox(key="data.task").set_value("reverse").run()
    assert '"task":"reverse"' in at.query_params["data"]


def test_a_bad_data_link_is_a_warning_and_the_default_data(home):
    at = new_app()
    at.query_params["data"] = '{"task":"reverse","n_train":0}'
    at.run()
    assert not at.exception and not at.error
    assert "data.n_train = 0" in at.warning[0].value and "default data" in at.warning[0].value
    at = open_page(at, "train")
    assert "task toy-fr" in at.markdown[0].value


def test_the_live_chart_stays_as_the_finished_picture_when_the_last_run_ends(app, home):
    from attn.training.events import TrainEvent
    store = RunStore(home)
    run_id = store.create_run(PRESETS["tiny"], status="running")
    for step in (2, 4, 6):
        store.record_event(run_id, TrainEvent("epoch", step, 6, step // 2, 3, 0.1 * step, train_loss=3.0 / step,
                                              valid_loss=3.2 / step))
    store.flush(run_id)
    at = open_page(app, "train")
    assert len(at.get("vega_lite_chart")) == 1  # training: the live chart
    store.set_status(run_id, "cancelled", error="stopped by request")
    at = open_page(at, "train")
    assert_clean(at)
    assert "No run is training" in at.info[0].value
    assert len(at.get("vega_lite_chart")) == 1, "the chart vanished when the last run ended"
    assert any(c.value.startswith("Finished: the loss") for c in at.caption)


def test_the_parameter_count_of_what_will_be_queued_is_the_built_models(app):
    from attn.nn.model import count_parameters
    from attn.nn.models import build_model
    from attn.viz.datasets import data_overview
    from attn.data.load import load_data
    at = open_page(app, "train")
    at.selectbox(key="train.preset").set_value("tiny")
    at.button(key="train.preset_button").click().run()
    at.segmented_control(key="train.family").set_value("transformer").run()
    at.button(key="train.count_button").click().run()
    assert_clean(at)
    data = PRESETS["tiny"].data
    overview = data_overview(load_data(data), data)
    model = dataclasses.replace(PRESETS["tiny"].model, family="transformer", arch="decoder", layers=2, heads=4)
    expected = count_parameters(build_model(model, overview["src_vocab"], overview["tgt_vocab"]))
    assert any(f"**dec·sinusoidal**: {expected:,} parameters" in c.value for c in at.caption), \
        [c.value for c in at.caption]


def test_a_demo_click_records_a_study_and_links_its_lecture_view(home, monkeypatch):
    monkeypatch.setenv("ATTN_DEMO_PRESET", "tiny")
    at = start_app().button(key="home.lecture_button").click().run()
    try:
        assert_clean(at)
        studies = RunStore(home).studies()
        assert list(zip(studies["name"], studies["kind"], studies["runs"])) == [("Lecture demo", "lecture", 3)]
        links = [link.proto for link in at.get("page_link")]
        assert [(p.page, p.query_string) for p in links if "lecture view" in p.label] == \
            [("lecture", f"study={studies['id'][0]}")]
    finally:
        _cancel_everything(home)


def test_the_estimate_under_the_form_is_kept_per_store_version_but_not_while_measuring(home, monkeypatch):
    """The Train form reruns on every change; its estimate reads every stored run's config, so a finished
    estimate is kept until the store changes; one that is still measuring is asked again."""
    from types import SimpleNamespace

    from attn.app import state
    from attn.runs import estimate as estimate_module

    store, asked = RunStore(home), []
    basis = {"now": "stored runs"}

    def fake_estimate(configs, jobs=None, store=None, measuring="wait"):
        asked.append(len(configs))
        return estimate_module.Estimate(12.0, 10.0, 14.0, basis["now"], 3, f"about 12 s ({len(asked)})")

    monkeypatch.setattr(estimate_module, "estimate_runs", fake_estimate)
    monkeypatch.setattr(state, "store", lambda: store)
    monkeypatch.setattr(state, "runner", lambda: SimpleNamespace(max_jobs=2))
    monkeypatch.setattr(state, "_ESTIMATES", {})
    demo = [PRESETS["tiny"].with_variant(v) for v in ("none", "dot")]
    assert state.estimate_note(demo) == state.estimate_note(demo) == "about 12 s (1)"
    store.create_run(PRESETS["tiny"])  # the store's version moves on: estimated again
    assert state.estimate_note(demo) == "about 12 s (2)" and asked == [2, 2]
    basis["now"] = "measuring"
    store.create_run(PRESETS["tiny"].with_variant("dot"))
    state.estimate_note(demo), state.estimate_note(demo)
    assert len(asked) == 4  # a measuring estimate is never kept
