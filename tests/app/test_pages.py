"""Every page through Streamlit's AppTest on an empty store of its own: widgets, charts, the Data page's
choices and uploads, the Playground, and errors shown as messages, never as tracebacks."""
import json

import pytest
from streamlit.testing.v1 import AppTest

from attn.config import PRESETS
from attn.runs.store import RunStore
from tests.app.apptest import PAGES, TSV, assert_clean, charts_of, open_page, start_app


# ------------------------------------------------------------------------------ every page, empty store

MAIN_WIDGETS = {
    "home": [("button", "home.lecture_button"), ("button", "home.length_button")],
    "data": [("radio", "data.source"), ("selectbox", "data.task"), ("slider", "data.length"),
             ("number_input", "data.n_train"), ("slider", "data.n_buckets"), ("text_input", "data.edges")],
    "train": [("multiselect", "train.variants"), ("text_input", "train.seeds"), ("selectbox", "train.style"),
              ("number_input", "train.emb"), ("number_input", "train.hidden"), ("number_input", "train.epochs"),
              ("number_input", "train.batch"), ("number_input", "train.lr"), ("slider", "train.teacher_forcing"),
              ("button", "train.queue_button")],
    "playground": [("number_input", "playground.seed"), ("radio", "playground.mask"),
                   ("toggle", "playground.scaled")],
}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_with_an_empty_store(app, page):
    at = open_page(app, page)
    assert_clean(at)
    for kind, key in MAIN_WIDGETS.get(page, []):
        assert getattr(at, kind)(key=key) is not None
    assert at.toggle(key="slide_style").value is False
    assert "0 runs stored" in at.sidebar.caption[0].value


@pytest.mark.parametrize("page", ["compare", "attention", "curves", "runs"])
def test_pages_without_runs_say_what_to_do(app, page):
    at = open_page(app, page)
    assert "Lecture demo" in at.info[0].value and not charts_of(at)


def test_home_shows_the_equation_of_every_variant(app):
    assert len(app.latex) == 5
    # one query q_t for every score, and the note says which state it is in each decoder style
    assert all("q_t" in l.value for l in app.latex if "e_{tj} =" in l.value)
    assert any("s_{t-1}" in c.value and "Luong" in c.value for c in app.caption)
    assert "No runs stored yet" in app.info[0].value
    assert any("toy-fr" in m.value and "4 epochs" in m.value for m in app.markdown)  # the lecture demo


def test_home_says_what_this_machine_will_take_not_a_fixed_claim(app):
    texts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    assert not any("under a minute" in t for t in texts)
    timings = [c.value for c in app.caption if c.value.startswith(":material/timer:")]
    assert len(timings) == 2  # one line per demo, from attn.runs.estimate (an empty store: it measures)
    assert all("measuring" in t or "on this machine" in t or "no time estimate" in t for t in timings), timings


def test_train_says_what_the_form_would_take_before_anything_is_queued(app, home):
    """An estimate from this machine's stored runs (or a short measuring run) under the form: one line."""
    at = open_page(app, "train")
    assert_clean(at)
    timings = [c.value for c in at.caption if c.value.startswith(":material/timer:")]
    assert len(timings) == 1, timings
    assert "measuring" in timings[0] or "on this machine" in timings[0] or "no time estimate" in timings[0]
    assert RunStore(home).runs().empty  # an estimate queues nothing


def test_home_describes_the_demo_the_server_chose(home, monkeypatch):
    monkeypatch.setenv("ATTN_DEMO_PRESET", "tiny")
    monkeypatch.setenv("ATTN_DEMO_EPOCHS", "7")
    at = start_app()
    assert_clean(at)
    assert any("task reverse" in m.value and "7 epochs" in m.value and "ATTN_DEMO_PRESET" in m.value
               for m in at.markdown)


def test_widget_values_survive_switching_pages(app):
    at = open_page(app, "train")
    at.number_input(key="train.epochs").set_value(3).run()
    at.text_input(key="train.seeds").set_value("0,1").run()
    open_page(at, "playground")
    at = open_page(at, "train")
    assert at.number_input(key="train.epochs").value == 3
    assert at.text_input(key="train.seeds").value == "0,1"


def test_bad_train_settings_show_an_error_and_queue_nothing(app, home):
    at = open_page(app, "train")
    at.text_input(key="train.seeds").set_value("zero").run()
    at.button(key="train.queue_button").click().run()
    assert not at.exception and "seeds" in at.error[0].value
    at.text_input(key="train.seeds").set_value("0").run()
    at.number_input(key="train.hidden").set_value(33).run()
    at.button(key="train.queue_button").click().run()
    assert not at.exception and "must be even" in at.error[0].value
    assert RunStore(home).runs().empty


def test_train_page_shows_progress_and_cancel_for_an_active_run(app, home):
    run_id = RunStore(home).create_run(PRESETS["tiny"], status="queued")
    at = open_page(app, "train")
    assert_clean(at)
    assert "queued" in at.progress[0].text
    assert at.button(key=f"train.{run_id}.cancel_button") is not None
    assert len(charts_of(at)) == 1
    RunStore(home).set_status(run_id, "cancelled", error="stopped by request")
    at = open_page(at, "train")
    assert "No run is training" in at.info[0].value
    assert any("cancelled: stopped by request" in m.value for m in at.markdown)  # listed as recently finished
    at.button(key=f"train.{run_id}.resubmit_button").click().run()
    assert_clean(at)
    newest = RunStore(home).runs().iloc[0]  # newest first: the same config, queued again
    assert newest["id"] != run_id and newest["status"] in ("queued", "running")
    from attn.app import state
    state.runner().cancel(newest["id"])  # the server's runner (one per ATTN_HOME), outside a script run


def test_a_broken_store_shows_errors_not_tracebacks(home):
    (home / "runs.sqlite").write_text("not a database, " * 100)
    at = start_app()
    for page in PAGES:
        at = open_page(at, page)
        assert not at.exception
        if page != "playground":  # the playground never reads the store
            assert any("runs.sqlite" in e.value for e in at.error), page


# ------------------------------------------------------------------------------------------- charts

def _backgrounds(at: AppTest) -> set:
    return {json.loads(c.proto.spec).get("config", {}).get("background") for c in charts_of(at)}


def test_slide_style_reaches_the_charts(app):
    at = open_page(app, "playground")
    assert _backgrounds(at) == {None}  # screen style: the page's own background
    at.toggle(key="slide_style").set_value(True).run()
    assert _backgrounds(at) == {"white"}
    assert open_page(at, "data").toggle(key="slide_style").value is True  # and it stays on across pages


def test_every_chart_has_png_and_svg_downloads(app):
    at = open_page(app, "playground")
    labels = [b.label for b in at.download_button]
    assert len(charts_of(at)) == 5
    assert labels.count("PNG") == 5 and labels.count("SVG") == 5


# ------------------------------------------------------------------------------------------ playground

def test_playground_default_shapes_are_3x5_weights_and_3x6_output(app):
    at = open_page(app, "playground")
    assert_clean(at)
    shapes = {m.label: m.value for m in at.metric}
    assert shapes["weights shape"] == "(3, 5)" and shapes["output shape"] == "(3, 6)"
    assert shapes["Q shape"] == "(3, 4)" and shapes["K shape"] == "(5, 4)" and shapes["V shape"] == "(5, 6)"
    assert at.number_input(key="playground.seed").value == 0


def test_playground_masks_and_scaling_render(app):
    at = open_page(app, "playground")
    for mask in ("causal", "custom", "none"):
        at.radio(key="playground.mask").set_value(mask).run()
        assert_clean(at)
    at.toggle(key="playground.scaled").set_value(False).run()
    at.number_input(key="playground.seed").set_value(3).run()
    assert_clean(at)
    assert "/ √d" not in charts_of(at)[0].proto.spec


# ------------------------------------------------------------------------------------------------ data

def test_data_page_stores_the_chosen_task_for_train(app):
    at = open_page(app, "data")
    at.selectbox(key="data.task").set_value("reverse").run()
    assert_clean(at)
    assert at.slider(key="data.length").value == (3, 20)  # the new task's default range
    assert at.session_state["data_config"].task == "reverse"
    assert len(charts_of(at)) == 1 and len(at.table) == 1
    at = open_page(at, "train")
    assert "task reverse" in at.markdown[0].value


def test_data_page_defaults_give_the_lecture_data(app):
    at = open_page(app, "data")
    assert at.session_state["data_config"] == PRESETS["lecture"].data


def test_data_page_shows_bad_bucket_edges_as_an_error(app):
    at = open_page(app, "data")
    at.text_input(key="data.edges").set_value("10,5").run()
    assert not at.exception and "increasing" in at.error[0].value


def test_malformed_upload_shows_the_corpus_error_not_an_exception(app):
    at = open_page(app, "data")
    at.radio(key="data.source").set_value("import a corpus").run()
    at.file_uploader(key="data.files_upload").set_value(("bad.tsv", b"no tab here\nnor here\n", "text/plain")).run()
    assert not at.exception
    assert "bad.tsv" in at.error[0].value and "tab" in at.error[0].value


def test_good_upload_is_stored_by_content_hash_and_used_by_train(app, home):
    at = open_page(app, "data")
    at.radio(key="data.source").set_value("import a corpus").run()
    at.file_uploader(key="data.files_upload").set_value(("fr.tsv", TSV, "text/plain")).run()
    assert_clean(at)
    cfg = at.session_state["data_config"]
    assert cfg.corpus and cfg.corpus_sha256 and (home / "corpora" / cfg.corpus_sha256).is_dir()
    at = open_page(at, "train")
    assert "corpus fr.tsv" in at.markdown[0].value  # called by its file name, not its hash


def test_runs_page_deletes_finished_runs_and_refuses_active_ones(app, home):
    store = RunStore(home)
    done = store.create_run(PRESETS["tiny"], status="cancelled")
    active = store.create_run(PRESETS["tiny"].with_variant("dot"), status="queued")
    at = open_page(app, "runs")
    at.multiselect(key="runs.selected").set_value([active]).run()
    at.checkbox(key="runs.confirm_delete").check().run()
    at.button(key="runs.delete_button").click().run()
    assert not at.exception and "cancel it before deleting" in at.error[0].value
    at.multiselect(key="runs.selected").set_value([done]).run()
    at.button(key="runs.delete_button").click().run()
    assert not at.exception and "Deleted 1" in at.success[0].value
    assert list(store.runs()["id"]) == [active]
