"""The pages that read runs, on the tiny runs the `trained` fixture queued from the Train page: Compare,
Attention, Curves, Home, Runs, and what every visitor sees after another writer changed the store."""
from attn.config import PRESETS
from attn.runs.store import RunStore
from tests.app.apptest import assert_clean, charts_of, open_page, start_app


def test_tiny_training_from_train_page_finishes(trained):
    runs = RunStore(trained).runs()
    assert sorted(runs["variant"]) == ["additive", "dot", "none"]
    assert set(runs["status"]) == {"done"}, runs[["status", "error"]]


def test_compare_shows_the_trained_runs(trained_app):
    at = open_page(trained_app, "compare")
    assert_clean(at)
    assert len(at.multiselect(key="compare.runs").value) == 3
    assert len(charts_of(at)) == 1 and len(at.dataframe) == 1
    assert set(at.dataframe[0].value["variant"]) == {"none", "additive", "dot"}
    assert any("Luong decoder" in c.value for c in at.main.caption)
    at.selectbox(key="compare.metric").set_value("align").run()
    assert_clean(at)
    assert set(at.dataframe[0].value["variant"]) == {"additive", "dot"}  # none has no attention to score


def test_attention_draws_maps_and_explains_the_missing_one(trained_app):
    at = open_page(trained_app, "attention")
    assert_clean(at)
    assert len(charts_of(at)) == 1 and len(at.dataframe[0].value) == 3
    assert any("one fixed vector" in m.value for m in at.markdown)
    at.radio(key="attention.view").set_value("reference").run()
    assert_clean(at)
    assert "gold" in charts_of(at)[0].proto.spec
    at.selectbox(key="attention.bucket").select_index(2).run()
    assert_clean(at)
    at.radio(key="attention.source").set_value("your own").run()
    at.text_input(key="attention.text").set_value("a b c d zz").run()
    assert_clean(at)
    assert len(charts_of(at)) == 1


def test_typed_sentence_is_read_in_the_tasks_form_and_the_page_says_so(trained_app):
    at = open_page(trained_app, "attention")
    at.radio(key="attention.source").set_value("your own").run()
    at.text_input(key="attention.text").set_value("a b c d zz").run()  # reverse writes one symbol per token
    assert_clean(at)
    assert any("`a b c d z z`" in m.value for m in at.markdown)  # the tokens the models actually read
    assert any("wrote every symbol separately" in c.value for c in at.main.caption)
    at.text_input(key="attention.text").set_value(" ").run()
    assert_clean(at)
    assert "Type a sentence" in at.info[0].value


def test_curves_show_the_trained_runs_every_way(trained_app):
    at = open_page(trained_app, "curves")
    assert_clean(at)
    assert len(at.multiselect(key="curves.runs").value) == 3 and len(charts_of(at)) == 1
    for x in ("epoch", "elapsed"):
        at.radio(key="curves.x").set_value(x).run()
        assert_clean(at)
    at.radio(key="curves.layout").set_value("overlay").run()
    at.toggle(key="curves.log").set_value(True).run()
    at.slider(key="curves.smoothing").set_value(0.5).run()
    assert_clean(at)
    assert "log" in charts_of(at)[0].proto.spec


def test_home_shows_counts_and_the_last_comparison(trained_app):
    assert_clean(trained_app)
    assert {m.label: m.value for m in trained_app.metric} == {"done": "3"}
    assert len(trained_app.dataframe[0].value) == 3
    assert "3 runs stored" in trained_app.sidebar.caption[0].value


def test_lecture_demo_returns_trained_runs_at_once(trained_app, trained, monkeypatch):
    monkeypatch.setitem(PRESETS, "lecture", PRESETS["tiny"])  # the tiny runs stand in for the lecture
    at = trained_app.button(key="home.lecture_button").click().run()
    assert_clean(at)
    assert "trained before" in at.success[0].value
    assert len(RunStore(trained).runs()) == 3


def test_runs_page_filters_renames_and_exports(trained_app, trained):
    at = open_page(trained_app, "runs")
    assert_clean(at)
    assert len(at.dataframe[0].value) == 3
    at.multiselect(key="runs.variant").set_value(["dot"]).run()
    assert list(at.dataframe[0].value["variant"]) == ["dot"]
    run_id = at.dataframe[0].value["id"][0]
    at.multiselect(key="runs.selected").set_value([run_id]).run()
    at.text_input(key="runs.new_name").set_value("dot, tiny").run()
    at.button(key="runs.rename_button").click().run()
    assert_clean(at)
    assert RunStore(trained).run(run_id).name == "dot, tiny"
    assert {b.label for b in at.download_button} >= {"CSV (bucket metrics)", "JSON (configs, metrics, curves)"}


# ------------------------------------------------------------------ what is kept between reruns and visitors

def test_pages_show_runs_renamed_added_and_deleted_elsewhere_on_the_next_rerun(trained_copy):
    at = open_page(start_app(), "compare")
    assert_clean(at)
    store = RunStore(trained_copy)  # another writer, as the CLI or a training worker is
    dot = store.runs(variant="dot")["id"][0]
    store.rename(dot, "renamed elsewhere")
    at.run()
    assert "renamed elsewhere" in at.multiselect(key="compare.runs").options
    queued = store.create_run(PRESETS["tiny"].with_variant("general"))
    at.run()
    assert "4 runs stored" in at.sidebar.caption[0].value and "1 queued" in at.sidebar.caption[0].value
    store.delete([queued], force=True)
    store.delete([dot])
    at.run()
    assert_clean(at)
    assert "renamed elsewhere" not in at.multiselect(key="compare.runs").options
    assert set(at.dataframe[0].value["variant"]) == {"none", "additive"}
    at = open_page(at, "home")
    assert {m.label: m.value for m in at.metric} == {"done": "2"}
    assert "2 runs stored" in at.sidebar.caption[0].value


def test_compare_and_attention_open_on_the_lecture_study_and_keep_it_in_the_url(trained_copy):
    store = RunStore(trained_copy)
    ids = list(store.runs()["id"])
    demo = store.add_study("Lecture demo", "lecture", ids)
    for page in ("compare", "attention"):
        at = open_page(start_app(), page)
        assert_clean(at)
        assert at.selectbox(key=f"{page}.group").value == f"study-{demo}"  # not simply the newest group
        assert f"study-{demo}" in str(at.query_params["group"])
    at = open_page(start_app(), "compare")
    assert any("falls most" in c.value or "one length bucket" in c.value for c in at.main.caption)


def test_compare_opens_on_the_study_this_visitor_just_queued(trained_copy):
    from attn.app.actions import Submitted
    store = RunStore(trained_copy)
    ids = list(store.runs()["id"])
    mine = store.add_study("Train form", "train", ids[:2])
    store.add_study("Lecture demo", "lecture", ids)  # newer, but this visitor queued the other
    at = start_app()
    at.session_state["outcome_train"] = Submitted(ids[:2], 2, [], mine)  # what the Train page keeps of a click
    at = open_page(at, "compare")
    assert_clean(at)
    assert at.selectbox(key="compare.group").value == f"study-{mine}"


# ------------------------------------------------------------------ the Data page (no runs needed)

def test_data_page_names_an_uploaded_corpus_by_its_file(app):
    from tests.app.apptest import TSV
    at = open_page(app, "data")
    at.radio(key="data.source").set_value("import a corpus").run()
    at.file_uploader(key="data.files_upload").set_value(("eng-fra.tsv", TSV, "text/plain")).run()
    assert_clean(at)
    assert any("Train will use: corpus eng-fra.tsv" in c.value for c in at.main.caption)  # not "imported d952b…"


def test_data_page_sets_a_test_range_longer_than_training(app):
    at = open_page(app, "data")
    at.selectbox(key="data.task").set_value("reverse").run()
    at.slider(key="data.length").set_value((3, 10)).run()
    at.slider(key="data.test_length").set_value((3, 20)).run()
    assert_clean(at)
    cfg = at.session_state["data_config"]
    assert (cfg.max_len, cfg.test_min_len, cfg.test_max_len) == (10, 3, 20)
    at.slider(key="data.test_length").set_value((3, 10)).run()  # as in training: the config runs are cached under
    assert (at.session_state["data_config"].test_min_len, at.session_state["data_config"].test_max_len) == (None, None)


def test_attention_shows_a_transformers_cross_attention_layer_by_layer(home):
    import json
    import os
    import subprocess
    import sys
    env = {**os.environ, "ATTN_HOME": str(home)}
    subprocess.run([sys.executable, "-m", "attn", "train", "--preset", "tiny", "--family", "transformer", "--arch",
                    "decoder", "--positions", "alibi", "--jobs", "1"], env=env, check=True, capture_output=True,
                   timeout=600)
    at = open_page(start_app(), "attention")
    assert_clean(at)
    assert at.selectbox(key="attention.layer").value == 2  # the last layer: the map stored with the run
    at.selectbox(key="attention.layer").set_value(1).run()
    assert_clean(at)
    assert "dec·alibi · layer 1" in str(json.loads(charts_of(at)[0].proto.spec))
