"""The dashboard through Streamlit's AppTest, and the pure helpers behind its pages.

Every test runs against its own ATTN_HOME (never ./runs). One tiny training (reverse task, 2 epochs,
emb 16, hidden 32) is queued from the Train page once per module; the Compare, Attention, Curves,
Home and Runs tests read the runs it stored.
"""
import gzip
import json
import os
import shutil
import time

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from attn.viz import support as ds
from attn.config import PRESETS, ConfigError, DataConfig
from attn.data.corpus import CorpusOptions
from attn.data.pairs import Pair, ParallelData
from attn.runs.store import FINISHED, RunStore

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGES = ("home", "data", "train", "compare", "attention", "curves", "runs", "playground")
TSV = "Go.\tVa !\nHi.\tSalut !\nRun!\tCours !\nWho?\tQui ?\nWow!\tÇa alors !\nFire!\tAu feu !\n".encode()


def _app() -> AppTest:
    at = AppTest.from_file(os.path.join(ROOT, "dashboard.py"), default_timeout=60)
    return at.run()


def _open(at: AppTest, page: str) -> AppTest:
    return at.switch_page(f"pages/{page}.py").run()


def _charts(at: AppTest) -> list:
    return list(at.get("vega_lite_chart"))


def _clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTN_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def app(home):
    return _app()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Tiny runs (none, additive, dot; seed 0) queued from the Train page; waits until they end."""
    path = tmp_path_factory.mktemp("trained")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ATTN_HOME", str(path))
        at = _open(_app(), "train")
        at.selectbox(key="train.preset").set_value("tiny")
        at.button(key="train.preset_button").click().run()
        at.button(key="train.queue_button").click().run()
        _clean(at)
        assert "3 run(s) queued" in at.success[0].value
        assert len(at.progress) == 3 and len(_charts(at)) == 1  # live progress and the live chart
        store = RunStore(path)
        _until(lambda: len(store.runs()) == 3 and set(store.runs()["status"]) <= set(FINISHED), 60,
               "the tiny runs to finish")
    return path


@pytest.fixture
def trained_app(trained, monkeypatch):
    monkeypatch.setenv("ATTN_HOME", str(trained))
    return _app()


# ------------------------------------------------------------------------------ every page, empty store

MAIN_WIDGETS = {
    "home": [("button", "home.lecture_button")],
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
    at = _open(app, page)
    _clean(at)
    for kind, key in MAIN_WIDGETS.get(page, []):
        assert getattr(at, kind)(key=key) is not None
    assert at.toggle(key="slide_style").value is False
    assert "0 runs stored" in at.sidebar.caption[0].value


@pytest.mark.parametrize("page", ["compare", "attention", "curves", "runs"])
def test_pages_without_runs_say_what_to_do(app, page):
    at = _open(app, page)
    assert "Lecture demo" in at.info[0].value and not _charts(at)


def test_home_shows_the_equation_of_every_variant(app):
    assert len(app.latex) == 5
    # one query q_t for every score, and the note says which state it is in each decoder style
    assert all("q_t" in l.value for l in app.latex if "e_{tj} =" in l.value)
    assert any("s_{t-1}" in c.value and "Luong" in c.value for c in app.caption)
    assert "No runs stored yet" in app.info[0].value
    assert any("toy-fr" in m.value and "under a minute" in m.value for m in app.markdown)  # the lecture demo


def test_home_describes_the_demo_the_server_chose(home, monkeypatch):
    monkeypatch.setenv("ATTN_DEMO_PRESET", "tiny")
    monkeypatch.setenv("ATTN_DEMO_EPOCHS", "7")
    at = _app()
    _clean(at)
    assert any("task reverse" in m.value and "7 epochs" in m.value and "ATTN_DEMO_PRESET" in m.value
               for m in at.markdown)


def test_widget_values_survive_switching_pages(app):
    at = _open(app, "train")
    at.number_input(key="train.epochs").set_value(3).run()
    at.text_input(key="train.seeds").set_value("0,1").run()
    _open(at, "playground")
    at = _open(at, "train")
    assert at.number_input(key="train.epochs").value == 3
    assert at.text_input(key="train.seeds").value == "0,1"


def test_bad_train_settings_show_an_error_and_queue_nothing(app, home):
    at = _open(app, "train")
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
    at = _open(app, "train")
    _clean(at)
    assert "queued" in at.progress[0].text
    assert at.button(key=f"train.{run_id}.cancel_button") is not None
    assert len(_charts(at)) == 1
    RunStore(home).set_status(run_id, "cancelled", error="stopped by request")
    at = _open(at, "train")
    assert "No run is training" in at.info[0].value
    assert any("cancelled: stopped by request" in m.value for m in at.markdown)  # listed as recently finished
    at.button(key=f"train.{run_id}.resubmit_button").click().run()
    _clean(at)
    newest = RunStore(home).runs().iloc[0]  # newest first: the same config, queued again
    assert newest["id"] != run_id and newest["status"] in ("queued", "running")
    from attn.app import ui
    ui.runner().cancel(newest["id"])  # the server's runner (one per ATTN_HOME), outside a script run


def test_a_broken_store_shows_errors_not_tracebacks(home):
    (home / "runs.sqlite").write_text("not a database, " * 100)
    at = _app()
    for page in PAGES:
        at = _open(at, page)
        assert not at.exception
        if page != "playground":  # the playground never reads the store
            assert any("runs.sqlite" in e.value for e in at.error), page


# ------------------------------------------------------------------------------------------- charts

def _backgrounds(at: AppTest) -> set:
    return {json.loads(c.proto.spec).get("config", {}).get("background") for c in _charts(at)}


def test_slide_style_reaches_the_charts(app):
    at = _open(app, "playground")
    assert _backgrounds(at) == {None}  # screen style: the page's own background
    at.toggle(key="slide_style").set_value(True).run()
    assert _backgrounds(at) == {"white"}
    assert _open(at, "data").toggle(key="slide_style").value is True  # and it stays on across pages


def test_every_chart_has_png_and_svg_downloads(app):
    at = _open(app, "playground")
    labels = [b.label for b in at.download_button]
    assert len(_charts(at)) == 5
    assert labels.count("PNG") == 5 and labels.count("SVG") == 5


# ------------------------------------------------------------------------------------------ playground

def test_playground_default_shapes_are_3x5_weights_and_3x6_output(app):
    at = _open(app, "playground")
    _clean(at)
    shapes = {m.label: m.value for m in at.metric}
    assert shapes["weights shape"] == "(3, 5)" and shapes["output shape"] == "(3, 6)"
    assert shapes["Q shape"] == "(3, 4)" and shapes["K shape"] == "(5, 4)" and shapes["V shape"] == "(5, 6)"
    assert at.number_input(key="playground.seed").value == 0


def test_playground_masks_and_scaling_render(app):
    at = _open(app, "playground")
    for mask in ("causal", "custom", "none"):
        at.radio(key="playground.mask").set_value(mask).run()
        _clean(at)
    at.toggle(key="playground.scaled").set_value(False).run()
    at.number_input(key="playground.seed").set_value(3).run()
    _clean(at)
    assert "/ √d" not in _charts(at)[0].proto.spec


# ------------------------------------------------------------------------------------------------ data

def test_data_page_stores_the_chosen_task_for_train(app):
    at = _open(app, "data")
    at.selectbox(key="data.task").set_value("reverse").run()
    _clean(at)
    assert at.slider(key="data.length").value == (3, 20)  # the new task's default range
    assert at.session_state["data_config"].task == "reverse"
    assert len(_charts(at)) == 1 and len(at.table) == 1
    at = _open(at, "train")
    assert "task reverse" in at.markdown[0].value


def test_data_page_defaults_give_the_lecture_data(app):
    at = _open(app, "data")
    assert at.session_state["data_config"] == PRESETS["lecture"].data


def test_data_page_shows_bad_bucket_edges_as_an_error(app):
    at = _open(app, "data")
    at.text_input(key="data.edges").set_value("10,5").run()
    assert not at.exception and "increasing" in at.error[0].value


def test_malformed_upload_shows_the_corpus_error_not_an_exception(app):
    at = _open(app, "data")
    at.radio(key="data.source").set_value("import a corpus").run()
    at.file_uploader(key="data.files_upload").set_value(("bad.tsv", b"no tab here\nnor here\n", "text/plain")).run()
    assert not at.exception
    assert "bad.tsv" in at.error[0].value and "tab" in at.error[0].value


def test_good_upload_is_stored_by_content_hash_and_used_by_train(app, home):
    at = _open(app, "data")
    at.radio(key="data.source").set_value("import a corpus").run()
    at.file_uploader(key="data.files_upload").set_value(("fr.tsv", TSV, "text/plain")).run()
    _clean(at)
    cfg = at.session_state["data_config"]
    assert cfg.corpus and cfg.corpus_sha256 and (home / "corpora" / cfg.corpus_sha256).is_dir()
    at = _open(at, "train")
    assert "imported corpus" in at.markdown[0].value


def test_load_upload_returns_the_reason_for_a_bad_file():
    data, error = ds.load_upload([("broken.tsv", b"one\ntwo\nthree\n")])
    assert data is None and error.startswith("broken.tsv") and "no tab" in error


def test_load_upload_reads_a_tsv_and_two_parallel_files():
    data, error = ds.load_upload([("fr.tsv", gzip.compress(TSV))])
    assert error is None and len(data.train) + len(data.valid) + len(data.test) == 6
    src, tgt = b"a b\nc d\ne f\n", b"A B\nC D\nE F\n"
    data, error = ds.load_upload([("s.txt", src), ("t.txt", tgt)], CorpusOptions(lowercase=True))
    assert error is None and data.name == "s.txt+t.txt"


def test_load_upload_refuses_misaligned_files_and_wrong_counts():
    _, error = ds.load_upload([("s.txt", b"a\nb\n"), ("t.txt", b"a\n")])
    assert "different line counts" in error
    assert "got 3 files" in ds.load_upload([("a", b"x"), ("b", b"x"), ("c", b"x")])[1]
    assert "zip archive" in ds.load_upload([("c.zip", b"PK\x03\x04rest")])[1]


# --------------------------------------------------------------------------------------- with runs

def test_tiny_training_from_train_page_finishes(trained):
    runs = RunStore(trained).runs()
    assert sorted(runs["variant"]) == ["additive", "dot", "none"]
    assert set(runs["status"]) == {"done"}, runs[["status", "error"]]


def test_compare_shows_the_trained_runs(trained_app):
    at = _open(trained_app, "compare")
    _clean(at)
    assert len(at.multiselect(key="compare.runs").value) == 3
    assert len(_charts(at)) == 1 and len(at.dataframe) == 1
    assert set(at.dataframe[0].value["variant"]) == {"none", "additive", "dot"}
    assert any("Luong decoder" in c.value for c in at.main.caption)
    at.selectbox(key="compare.metric").set_value("align").run()
    _clean(at)
    assert set(at.dataframe[0].value["variant"]) == {"additive", "dot"}  # none has no attention to score


def test_attention_draws_maps_and_explains_the_missing_one(trained_app):
    at = _open(trained_app, "attention")
    _clean(at)
    assert len(_charts(at)) == 1 and len(at.dataframe[0].value) == 3
    assert any("one fixed vector" in m.value for m in at.markdown)
    at.radio(key="attention.view").set_value("reference").run()
    _clean(at)
    assert "gold" in _charts(at)[0].proto.spec
    at.selectbox(key="attention.bucket").select_index(2).run()
    _clean(at)
    at.radio(key="attention.source").set_value("your own").run()
    at.text_input(key="attention.text").set_value("a b c d zz").run()
    assert not at.exception and len(_charts(at)) == 1
    assert "zz" in at.warning[0].value  # unknown words are named


def test_curves_show_the_trained_runs_every_way(trained_app):
    at = _open(trained_app, "curves")
    _clean(at)
    assert len(at.multiselect(key="curves.runs").value) == 3 and len(_charts(at)) == 1
    for x in ("epoch", "elapsed"):
        at.radio(key="curves.x").set_value(x).run()
        _clean(at)
    at.radio(key="curves.layout").set_value("overlay").run()
    at.toggle(key="curves.log").set_value(True).run()
    at.slider(key="curves.smoothing").set_value(0.5).run()
    _clean(at)
    assert "log" in _charts(at)[0].proto.spec


def test_home_shows_counts_and_the_last_comparison(trained_app):
    _clean(trained_app)
    assert {m.label: m.value for m in trained_app.metric} == {"done": "3"}
    assert len(trained_app.dataframe[0].value) == 3
    assert "3 runs stored" in trained_app.sidebar.caption[0].value


def test_lecture_demo_returns_trained_runs_at_once(trained_app, trained, monkeypatch):
    monkeypatch.setitem(PRESETS, "lecture", PRESETS["tiny"])  # the tiny runs stand in for the lecture
    at = trained_app.button(key="home.lecture_button").click().run()
    _clean(at)
    assert "trained before" in at.success[0].value
    assert len(RunStore(trained).runs()) == 3


def test_runs_page_filters_renames_and_exports(trained_app, trained):
    at = _open(trained_app, "runs")
    _clean(at)
    assert len(at.dataframe[0].value) == 3
    at.multiselect(key="runs.variant").set_value(["dot"]).run()
    assert list(at.dataframe[0].value["variant"]) == ["dot"]
    run_id = at.dataframe[0].value["id"][0]
    at.multiselect(key="runs.selected").set_value([run_id]).run()
    at.text_input(key="runs.new_name").set_value("dot, tiny").run()
    at.button(key="runs.rename_button").click().run()
    _clean(at)
    assert RunStore(trained).run(run_id)["name"] == "dot, tiny"
    assert {b.label for b in at.download_button} >= {"CSV (bucket metrics)", "JSON (configs, metrics, curves)"}


def test_runs_page_deletes_finished_runs_and_refuses_active_ones(app, home):
    store = RunStore(home)
    done = store.create_run(PRESETS["tiny"], status="cancelled")
    active = store.create_run(PRESETS["tiny"].with_variant("dot"), status="queued")
    at = _open(app, "runs")
    at.multiselect(key="runs.selected").set_value([active]).run()
    at.checkbox(key="runs.confirm_delete").check().run()
    at.button(key="runs.delete_button").click().run()
    assert not at.exception and "cancel it before deleting" in at.error[0].value
    at.multiselect(key="runs.selected").set_value([done]).run()
    at.button(key="runs.delete_button").click().run()
    assert not at.exception and "Deleted 1" in at.success[0].value
    assert list(store.runs()["id"]) == [active]


# ------------------------------------------------------------------ read-only lecture mode, admin password

def _sign_in(at: AppTest, password: str) -> AppTest:
    return at.text_input(key="admin_password_input").input(password).run()


def test_read_only_train_page_refuses_queueing_and_creates_no_run(home, monkeypatch):
    monkeypatch.setenv("ATTN_READ_ONLY", "1")
    at = _open(_app(), "train")
    _clean(at)
    assert "read-only lecture mode" in at.info[0].value
    assert at.button(key="train.queue_button").disabled
    assert "Read-only" in at.sidebar.caption[1].value and not at.sidebar.text_input  # no password: no field
    assert _open(at, "home").button(key="home.lecture_button").disabled
    assert RunStore(home).runs().empty


# ------------------------------------------------------------------ what is kept between reruns and visitors

@pytest.fixture
def trained_copy(trained, tmp_path, monkeypatch):
    """A copy of the trained store that a test may change, as ATTN_HOME."""
    home = tmp_path / "copy"
    shutil.copytree(trained, home)
    monkeypatch.setenv("ATTN_HOME", str(home))
    return home


def test_pages_show_runs_renamed_added_and_deleted_elsewhere_on_the_next_rerun(trained_copy):
    at = _open(_app(), "compare")
    _clean(at)
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
    _clean(at)
    assert "renamed elsewhere" not in at.multiselect(key="compare.runs").options
    assert set(at.dataframe[0].value["variant"]) == {"none", "additive"}
    at = _open(at, "home")
    assert {m.label: m.value for m in at.metric} == {"done": "2"}
    assert "2 runs stored" in at.sidebar.caption[0].value


def _charts_two_ways(builder: str, args: tuple, kwargs: dict) -> None:
    """An AppTest script: one chart through ui.show_chart (kept spec), then through st.altair_chart."""
    import altair as alt
    import streamlit as st
    from attn.app import ui
    from attn.viz import charts
    build = getattr(charts, builder)
    ui.show_chart(build, *args, key="kept", name="same-chart", **kwargs)
    chart = build(*args, **kwargs).properties(autosize=alt.AutoSizeParams(type="pad", contains="padding"))
    st.altair_chart(chart, width="content", alt="same chart")


BUCKETS = pd.DataFrame({"variant": ["none", "dot"] * 4, "seed": [0, 0, 1, 1] * 2,
                        "bucket": ["1-5"] * 4 + ["6-9"] * 4, "lo": [1] * 4 + [6] * 4, "hi": [5] * 4 + [9] * 4,
                        "n": [10] * 8, "bleu": [50.0, 80.0, 52.0, 81.0, 20.0, 70.0, 25.0, 72.5]})


@pytest.mark.parametrize("builder, args, kwargs", [
    ("metric_by_bucket", (BUCKETS, "bleu"), {"band": "std", "style": "slide"}),
    ("matrix_heatmap", (np.arange(12.0).reshape(3, 4) - 6, ["q1", "q2", "q3"], list("abcd")), {"title": "Q"}),
    ("attention_grid", ([{"title": "dot", "src_tokens": ["a", "b"], "out_tokens": ["b", "a", "</s>"],
                          "weights": np.array([[0.1, 0.9], [0.8, 0.2], [0.5, 0.5]]),
                          "gold": frozenset({(0, 1), (1, 0)})}],), {}),
    ("length_histogram", ([3, 4, 4, 5, 9, 12], [3, 6, 13]), {}),
])
def test_a_kept_chart_sends_the_browser_what_altair_chart_sends(home, builder, args, kwargs):
    at = AppTest.from_function(_charts_two_ways, args=(builder, args, kwargs), default_timeout=60).run()
    _clean(at)
    kept, direct = _charts(at)
    assert kept.proto == direct.proto
    assert len(at.download_button) == 2


def _charts_of_frames(frames: list) -> None:
    """An AppTest script: one metric_by_bucket chart per frame."""
    from attn.app import ui
    from attn.viz import charts
    for i, frame in enumerate(frames):
        ui.show_chart(charts.metric_by_bucket, frame, "bleu", key=f"chart{i}")


def test_kept_charts_are_told_apart_by_every_value_of_their_data(home):
    changed = BUCKETS.copy()
    changed.loc[7, "bleu"] = 72.6  # same shape, columns and types; one value differs
    at = AppTest.from_function(_charts_of_frames, args=([BUCKETS, changed, BUCKETS.copy()],),
                               default_timeout=60).run()
    _clean(at)
    first, second, third = ((c.proto.spec, list(c.proto.datasets)) for c in _charts(at))
    assert first[1][0].data.data != second[1][0].data.data
    assert first == third


def test_the_chart_key_covers_every_row_of_a_large_frame():
    from attn.app import ui
    big = pd.DataFrame({"x": np.arange(60_000), "loss": np.ones(60_000)})  # Streamlit's own hash samples these
    other = big.copy()
    other.loc[31_337, "loss"] = 2.0
    assert ui._frame_digest(big) == ui._frame_digest(big.copy())
    assert ui._frame_digest(big) != ui._frame_digest(other)
    assert ui._array_digest(big.to_numpy()) != ui._array_digest(other.to_numpy())


def _write_actions(run_id: str) -> None:
    """An AppTest script: call every write action of attn_ui directly and show what each one did."""
    import streamlit as st
    from attn.app import ui
    from attn.viz import support as ds
    ids, _, errors = ui.submit_all(ds.lecture_configs("tiny"))
    st.error(f"submit_all: {ids} {errors}")
    for action, args in ((ui.resubmit, (run_id,)), (ui.cancel, (run_id,)), (ui.delete_runs, ([run_id],)),
                         (ui.rename_run, (run_id, "no such key"))):
        action(*args)
        st.error(f"{action.__name__}: {st.session_state.pop('notice', None)}")
    try:
        ui.store_corpus([("fr.tsv", b"a\tb\n")])
    except ui.Refused as exc:
        st.error(f"store_corpus: {exc}")


def test_every_write_action_refuses_in_read_only_mode_not_only_its_button(home, monkeypatch):
    store = RunStore(home)
    run_id = store.create_run(PRESETS["tiny"], status="failed")
    before = store.run(run_id)
    monkeypatch.setenv("ATTN_READ_ONLY", "1")
    at = AppTest.from_function(_write_actions, args=(run_id,), default_timeout=60).run()
    assert not at.exception
    messages = [e.value for e in at.error]
    assert [m.split(":")[0] for m in messages] == ["submit_all", "resubmit", "cancel", "delete_runs", "rename_run",
                                                  "store_corpus"]
    assert all("read-only lecture mode" in m for m in messages), messages
    after = store.run(run_id)
    assert list(store.runs()["id"]) == [run_id] and (after["name"], after["status"]) == (before["name"], "failed")
    assert not (home / "corpora").exists() or not any((home / "corpora").iterdir())


def test_read_only_refuses_uploads_and_runs_page_writes(home, monkeypatch):
    RunStore(home).create_run(PRESETS["tiny"], status="cancelled")
    monkeypatch.setenv("ATTN_READ_ONLY", "1")
    at = _open(_app(), "data")
    at.radio(key="data.source").set_value("import a corpus").run()
    assert at.file_uploader(key="data.files_upload").disabled and "uploading a corpus" in at.info[0].value
    at = _open(at, "runs")
    _clean(at)
    assert "renaming runs and deleting runs are switched off" in at.info[0].value
    assert at.button(key="runs.delete_button").disabled and at.button(key="runs.rename_button").disabled


def test_admin_password_guards_delete(home, monkeypatch):
    store = RunStore(home)
    run_id = store.create_run(PRESETS["tiny"], status="cancelled")
    at = _open(_app(), "runs")
    at.multiselect(key="runs.selected").set_value([run_id]).run()
    at.checkbox(key="runs.confirm_delete").check().run()
    monkeypatch.setenv("ATTN_ADMIN_PASSWORD", "open sesame")  # set while the page was open
    at.button(key="runs.delete_button").click().run()
    assert not at.exception
    assert "Deleting runs needs the admin password (set by ATTN_ADMIN_PASSWORD)" in at.error[0].value
    assert at.button(key="runs.delete_button").disabled and list(store.runs()["id"]) == [run_id]
    at = _sign_in(at, "open Sesame")
    assert "not the admin password" in at.sidebar.error[0].value
    assert at.button(key="runs.delete_button").disabled
    at = _sign_in(at, "open sesame")
    assert not at.sidebar.error and "Admin" in at.sidebar.caption[-1].value
    assert at.session_state["admin_password_input"] == ""  # the password itself is not kept
    at.checkbox(key="runs.confirm_delete").check().run()
    at.button(key="runs.delete_button").click().run()
    _clean(at)
    assert "Deleted 1" in at.success[0].value and store.runs().empty
    at.button(key="admin.signout_button").click().run()
    assert at.text_input(key="admin_password_input") is not None


def test_admin_password_from_streamlit_secrets_guards_training(home):
    at = AppTest.from_file(os.path.join(ROOT, "dashboard.py"), default_timeout=60)
    at.secrets["admin_password"] = "from secrets"
    at = _open(at.run(), "train")
    assert at.button(key="train.queue_button").disabled
    assert "Training needs the admin password" in at.info[0].value
    at = _sign_in(at, "from secrets")
    assert not at.button(key="train.queue_button").disabled and not at.info[0].value.startswith("Training")


def test_admin_unlocks_a_read_only_server(home, monkeypatch):
    monkeypatch.setenv("ATTN_READ_ONLY", "1")
    monkeypatch.setenv("ATTN_ADMIN_PASSWORD", "lecturer")
    at = _open(_app(), "train")
    assert at.button(key="train.queue_button").disabled and "unlock this" in at.info[0].value
    at = _sign_in(at, "lecturer")
    _clean(at)
    assert not at.button(key="train.queue_button").disabled
    assert "Read-only" in at.sidebar.caption[1].value  # the mode stays on for everyone else


def test_an_upload_over_the_size_limit_is_refused_and_not_stored(home, monkeypatch):
    monkeypatch.setenv("ATTN_MAX_UPLOAD_MB", "1")
    at = _open(_app(), "data")
    at.radio(key="data.source").set_value("import a corpus").run()
    big = TSV * (2**20 // len(TSV) + 1)
    at.file_uploader(key="data.files_upload").set_value(("big.tsv", big, "text/plain")).run()
    assert not at.exception
    assert "big.tsv is 1.0 MB, more than the 1 MB" in at.error[0].value
    assert not (home / "corpora").exists() or not any((home / "corpora").iterdir())


def test_a_bad_settings_value_is_shown_and_refuses_writes(home, monkeypatch):
    monkeypatch.setenv("ATTN_READ_ONLY", "maybe")
    at = _open(_app(), "train")
    assert not at.exception
    assert any("ATTN_READ_ONLY" in e.value for e in at.sidebar.error)
    assert at.button(key="train.queue_button").disabled and "ATTN_READ_ONLY" in at.info[0].value


# ------------------------------------------------------------------------------------- pure helpers

def test_parse_seeds_reads_lists_and_ranges():
    assert ds.parse_seeds("0") == [0]
    assert ds.parse_seeds(" 2, 0,2 ") == [2, 0]
    assert ds.parse_seeds("0-2,5") == [0, 1, 2, 5]
    for bad in ("", "a", "-1", "3-1"):
        with pytest.raises(ValueError, match="seed"):
            ds.parse_seeds(bad)


def test_lecture_configs_are_three_variants_of_the_preset_with_optional_epochs():
    configs = ds.lecture_configs("tiny")
    assert [c.model.variant for c in configs] == ["none", "additive", "dot"]
    assert {c.with_variant("additive").key() for c in configs} == {PRESETS["tiny"].key()}
    longer = ds.lecture_configs("tiny", epochs=9)
    assert {c.train.epochs for c in longer} == {9} and longer[0].data == PRESETS["tiny"].data


def test_plan_runs_is_seeds_times_variants():
    configs = ds.plan_runs(PRESETS["tiny"], ["none", "dot"], [0, 1])
    assert [(c.model.variant, c.seed) for c in configs] == [("none", 0), ("dot", 0), ("none", 1), ("dot", 1)]
    with pytest.raises(ConfigError, match="at least one variant"):
        ds.plan_runs(PRESETS["tiny"], [], [0])


def test_training_config_with_preset_values_is_the_preset():
    v = ds.preset_values("tiny")
    cfg = ds.training_config(PRESETS["tiny"].data, "tiny", style=v["train.style"], emb=v["train.emb"],
                             hidden=v["train.hidden"], scaled=v["train.scaled"], epochs=v["train.epochs"],
                             batch=v["train.batch"], lr=v["train.lr"], teacher_forcing=v["train.teacher_forcing"])
    assert cfg.key() == PRESETS["tiny"].key()
    with pytest.raises(ConfigError, match="hidden"):
        ds.training_config(PRESETS["tiny"].data, "tiny", style="luong", emb=16, hidden=31, scaled=True, epochs=1,
                           batch=8, lr=0.01, teacher_forcing=1.0)


def test_task_data_config_with_the_default_widgets_is_the_lecture_data():
    lecture = PRESETS["lecture"].data
    assert ds.task_data_config(lecture.task, ds.task_length_range(lecture.task), lecture.n_train, lecture.n_valid,
                               lecture.n_test) == lecture
    cfg = ds.task_data_config("reverse", (3, 12), 300, 40, 60, 4, "0,5,10,20", "uniform")
    assert (cfg.min_len, cfg.max_len, cfg.buckets, cfg.length_dist) == (None, 12, (0, 5, 10, 20), "uniform")


def test_comparison_groups_and_latest_runs():
    base = PRESETS["tiny"].to_dict()
    other = PRESETS["lecture"].to_dict()
    configs = {"a": base, "b": base, "c": base, "d": other}
    runs = pd.DataFrame({"id": ["a", "b", "c", "d"], "status": ["done"] * 4, "task": ["reverse"] * 3 + ["toy-fr"],
                         "variant": ["dot", "dot", "none", "dot"], "seed": [0, 0, 0, 0], "style": ["luong"] * 4,
                         "finished": pd.to_datetime([3, 1, 2, 0], unit="s")})
    groups = ds.comparison_groups(runs, configs)
    assert list(groups["runs"]) == [3, 1] and groups["variants"][0] == ["none", "dot"]
    assert ds.latest_runs(runs, configs, groups["key"][0]) == ["c", "a"]  # newest dot (a), in variant order
    grouped = ds.with_groups(runs, configs)  # keys computed once, kept by both helpers
    assert list(grouped["group"]) == [groups["key"][0]] * 3 + [groups["key"][1]]
    assert ds.comparison_groups(grouped, configs).equals(groups)
    assert ds.latest_runs(grouped, configs, groups["key"][1]) == ["d"]
    assert ds.comparison_groups(runs.iloc[:0], configs).empty and ds.with_groups(runs.iloc[:0], configs).empty
    assert ds.comparison_key({**base, "seed": 5}) == groups["key"][0]


def test_progress_text_and_seconds():
    row = {"name": "dot seed 0", "status": "running", "step": 10, "total_steps": 40, "epoch": 1, "epochs": 4,
           "eta": 75.0}
    assert ds.progress_text(row) == "dot seed 0 — epoch 1/4 · step 10/40 · ETA 1 min 15 s"
    assert ds.progress_text({**row, "status": "queued"}) == "dot seed 0 — queued"
    assert ds.format_seconds(float("nan")) == "–" and ds.format_seconds(7200) == "2 h 00 min"


def test_attention_items_set_none_apart_and_label_the_stop_row():
    src = ["a", "b"]
    decodes = {"none": {"src": src, "ref": ["b", "a"], "hyp": ["b", "a"], "weights": None, "forced": None},
               "dot": {"src": src, "ref": ["b", "a"], "hyp": ["b", "a"], "weights": np.full((3, 2), 0.5),
                       "forced": np.full((2, 2), 0.5)}}
    gold = frozenset({(0, 1), (1, 0)})
    items, without = ds.attention_items(decodes, "generated", gold)
    assert list(without) == ["none"] and items[0]["out_tokens"] == ["b", "a", "</s>"] and items[0]["gold"] == gold
    items, _ = ds.attention_items(decodes, "reference", gold)
    assert items[0]["out_tokens"] == ["b", "a"] and items[0]["weights"].shape == (2, 2)


def test_playground_masks():
    assert ds.playground_mask("none", 3, 5) is None
    causal = ds.playground_mask("causal", 3, 5)
    assert causal.shape == (3, 5) and causal[0].tolist() == [True, False, False, False, False]
    with pytest.raises(ValueError, match="3×5"):
        ds.playground_mask("custom", 3, 5, np.ones((2, 2)))
    matrix, emptied = ds.editor_matrix(pd.DataFrame([[1.0, None]]))
    assert matrix.tolist() == [[1.0, 0.0]] and emptied == 1


def test_describe_data_and_overview():
    pairs = tuple(Pair(("a", "b"), ("b", "a")) for _ in range(5))
    data = ParallelData("t", pairs, pairs[:1], pairs[:2])
    overview = ds.data_overview(data, DataConfig(task="reverse"))
    assert (overview["train"], overview["src_vocab"]) == (5, 6)
    assert "sources of 3–20 tokens" in ds.describe_data(DataConfig(task="reverse", n_train=10))
    assert ds.preview_pairs(data, 2).index.tolist() == [1, 2]


def _curves(variants, steps: int, shift: float = 0.0) -> pd.DataFrame:
    rows = []
    for i, variant in enumerate(variants):
        for step in range(5, steps + 1, 5):
            rows.append({"run_id": f"r{i}", "name": f"{variant} seed 0", "variant": variant, "seed": 0,
                         "step": step, "train_loss": 5.0 / step + shift + i, "valid_loss": np.nan, "kind": "step"})
        rows.append({"run_id": f"r{i}", "name": f"{variant} seed 0", "variant": variant, "seed": 0, "step": steps,
                     "train_loss": 4.0 / steps + i, "valid_loss": 4.5 / steps + i, "kind": "epoch"})
    return pd.DataFrame(rows)


def _live_then_direct(frames: list) -> None:
    """An AppTest script: each frame through ui.show_live_loss, the last also through st.altair_chart."""
    import altair as alt
    import streamlit as st
    from attn.app import ui
    from attn.viz import charts
    for i, frame in enumerate(frames):
        ui.show_live_loss(frame, style="screen", key=f"live{i}", name="live-loss")
    chart = charts.live_loss_chart(frames[-1], style="screen")
    st.altair_chart(chart.properties(autosize=alt.AutoSizeParams(type="pad", contains="padding")),
                    width="content", alt="live loss")


def test_the_live_loss_chart_with_swapped_rows_is_what_altair_chart_sends(home):
    # The first frame builds the spec of its shape; the second (same variants, other rows) reuses it
    # with its own rows; a third with another set of variants gets a spec of its own.
    frames = [_curves(["none", "dot"], 40), _curves(["none", "dot"], 85, shift=0.3), _curves(["additive"], 20)]
    for last in (1, 2):
        at = AppTest.from_function(_live_then_direct, args=(frames[:last + 1],), default_timeout=60).run()
        _clean(at)
        drawn = _charts(at)
        assert drawn[last].proto == drawn[-1].proto
        assert drawn[0].proto.datasets[0].data.data != drawn[last].proto.datasets[0].data.data


def test_the_live_loss_chart_waits_for_the_first_steps(home):
    at = AppTest.from_function(_live_then_direct, args=([pd.DataFrame()],), default_timeout=60).run()
    _clean(at)
    drawn = _charts(at)
    assert drawn[0].proto == drawn[-1].proto
