"""Checkpoints on the pages (issue 13): the Train page draws BLEU by length at the newest checkpoint and
the newest probe map beside the loss, with the step where the maps reach the gold alignment marked on
the loss chart; the live charts move on while a tiny run trains; Compare shows the figure at any point of
training."""
import json
import re

import numpy as np

from attn.config import PRESETS
from attn.records import BucketScore, Checkpoint, ProbeMap
from attn.runs.store import RunStore
from attn.training.events import TrainEvent
from tests.app.apptest import assert_clean, charts_of, open_page, start_app, wait_until

TRAINING_TIMEOUT = 600  # seconds; only guards against a hang


def _checkpoint(step: int, bleu_long: float, alignment: float) -> Checkpoint:
    weights = np.full((3, 4), 0.25, dtype=np.float32)
    buckets = (BucketScore("3-6", 3, 6, 12, 90.0), BucketScore("7-12", 7, 12, 12, bleu_long))
    return Checkpoint(step, step / 10, step * 0.2, buckets,
                      (ProbeMap(["a", "b", "c", "d"], ["d", "c", "b"], weights, alignment),))


def _shown_step(chart) -> int:
    """The step the by-length chart says it draws ("while training: step 1,234 (epoch ...")."""
    note = json.loads(chart.proto.spec)["title"]["subtitle"][0]
    return int(re.match(r"while training: step ([\d,]+)", note).group(1).replace(",", ""))


def _spec(chart) -> str:
    return json.dumps(json.loads(chart.proto.spec))


def test_the_train_page_draws_length_and_probe_map_at_the_newest_checkpoint_and_marks_alignment(app, home):
    store = RunStore(home)
    run_id = store.create_run(PRESETS["tiny"].with_variant("additive"), status="running")
    record = store.recorder(run_id)
    for step in (2, 4, 6):
        record(TrainEvent("step", step, 60, 0, 6, 0.1 * step, train_loss=3.0 / step))
    record(TrainEvent("checkpoint", 3, 60, 0, 6, 0.3, payload=_checkpoint(3, 20.0, 0.5)))
    record(TrainEvent("checkpoint", 6, 60, 0, 6, 0.6, payload=_checkpoint(6, 40.0, 0.9)))
    store.flush(run_id)
    at = open_page(app, "train")
    assert_clean(at)
    loss, by_length, probe = charts_of(at)
    assert "aligned (90%) at step 6" in str(loss.proto.datasets[0].data.data)  # the mark's row
    assert "the probe maps first reach alignment" in _spec(loss)
    assert "while training: step 6" in _spec(by_length)
    assert "step 6" in _spec(probe)
    record(TrainEvent("checkpoint", 9, 60, 0, 6, 0.9, payload=_checkpoint(9, 60.0, 0.95)))
    at.run()
    assert_clean(at)
    assert "while training: step 9" in _spec(charts_of(at)[1])  # the figure moved on with the run


def test_the_live_length_chart_moves_on_while_a_tiny_run_trains(app, home):
    from attn.app import state
    at = open_page(app, "train")
    at.selectbox(key="train.preset").set_value("tiny")
    at.button(key="train.preset_button").click().run()
    at.multiselect(key="train.variants").set_value(["additive"])
    at.number_input(key="train.epochs").set_value(60)
    at.button(key="train.queue_button").click().run()
    assert_clean(at)
    store = RunStore(home)
    (run_id,) = store.runs()["id"]
    try:
        def scored_steps():
            frame = store.checkpoint_buckets(run_id)
            return sorted(set(frame.loc[frame["step"] > 0, "step"]))
        wait_until(scored_steps, TRAINING_TIMEOUT, "a first scored checkpoint")
        at.run()
        assert_clean(at)
        shown = _shown_step(charts_of(at)[1])
        wait_until(lambda: scored_steps()[-1] > shown, TRAINING_TIMEOUT, "a later checkpoint")
        at.run()
        assert_clean(at)
        assert _shown_step(charts_of(at)[1]) > shown
    finally:
        state.runner().cancel(run_id)


def test_compare_draws_the_by_length_figure_at_any_point_of_training(trained_copy):
    store = RunStore(trained_copy)
    for run_id in store.runs()["id"]:  # checkpoints at steps 0 (before training), 10 and 20, whatever was stored
        store._db().execute("DELETE FROM checkpoints WHERE run_id=?", (run_id,))
        for step in (0, 10, 20):
            checkpoint = _checkpoint(step, 2.0 * step, 0.5)
            store.record_checkpoint(run_id, checkpoint if step else Checkpoint(0, 0.0, 0.0, (), checkpoint.probes))
    at = open_page(start_app(), "compare")
    assert_clean(at)
    slider = at.slider(key="compare.progress_slider")
    assert slider.value == 100 and len(charts_of(at)) == 1
    end = _spec(charts_of(at)[0])
    assert "while training" not in end  # the end: the finished runs on the test set
    slider.set_value(50).run()
    assert_clean(at)
    assert len(charts_of(at)) == 1 and "while training: step 10 " in _spec(charts_of(at)[0])
    at.slider(key="compare.progress_slider").set_value(100).run()
    assert _spec(charts_of(at)[0]) == end


def test_a_probe_sentence_of_unknown_words_queues_nothing_and_says_which_words(app, home):
    at = open_page(app, "train")
    at.selectbox(key="train.preset").set_value("tiny")
    at.button(key="train.preset_button").click().run()
    at.text_input(key="train.probe").input("a b 9 8").run()
    at.button(key="train.queue_button").click().run()
    assert not at.exception and not at.success and len(at.error) == 1
    assert "Nothing was queued" in at.error[0].value
    assert "train.probe: 2 of its symbols never occur in the training data ('9', '8')" in at.error[0].value
    assert RunStore(home).runs().empty


def test_a_good_probe_sentence_goes_into_every_queued_runs_config(app, home):
    from attn.app import state
    at = open_page(app, "train")
    at.selectbox(key="train.preset").set_value("tiny")
    at.button(key="train.preset_button").click().run()
    at.text_input(key="train.probe").input("  a b c  ").run()
    at.button(key="train.queue_button").click().run()
    assert_clean(at)
    store = RunStore(home)
    try:
        assert {store.config(run_id).train.probe for run_id in store.runs()["id"]} == {"a b c"}
    finally:
        for run_id in store.runs()["id"]:
            state.runner().cancel(run_id)


def test_the_lecture_view_draws_the_length_gap_forming_while_its_runs_train(app, home):
    store = RunStore(home)
    ids = []
    for variant, bleu_long in (("none", 5.0), ("additive", 40.0)):
        run_id = store.create_run(PRESETS["tiny"].with_variant(variant), status="running")
        record = store.recorder(run_id)
        record(TrainEvent("step", 2, 60, 0, 6, 0.2, train_loss=1.5))
        record(TrainEvent("checkpoint", 6, 60, 0, 6, 0.6, payload=_checkpoint(6, bleu_long, 0.9)))
        store.flush(run_id)
        ids.append(run_id)
    store.add_study("Lecture demo", "lecture", ids)
    at = open_page(app, "lecture")
    assert_clean(at)
    specs = [_spec(chart) for chart in charts_of(at)]
    assert any("while training: step 6" in spec for spec in specs), specs
    for run_id in ids:
        store.set_status(run_id, "cancelled")
