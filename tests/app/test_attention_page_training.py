"""pages/attention.py "while training": the probe sentences' attention at every checkpoint the tiny trained
runs stored (tests/app/conftest.py), a checkpoint slider, Play stepping through it, and the GIF download."""
import io
import json

from PIL import Image

from attn.app import explain
from attn.runs.store import RunStore
from tests.app.apptest import assert_clean, charts_of, open_page


def _titles(at) -> list[str]:
    (chart,) = charts_of(at)
    spec = json.loads(chart.proto.spec)
    panels = [p for row in spec.get("vconcat", [spec]) for p in row.get("hconcat", [row])]
    return [p["title"]["text"] if isinstance(p["title"], dict) else p["title"] for p in panels]


def _stored(home) -> dict:
    store = RunStore(home)
    return {v: tuple(store.checkpoints(rid)) for v, rid in zip(store.runs()["variant"], store.runs()["id"])}


def _while_training(at):
    at.radio(key="attention.source").set_value("while training").run()
    assert_clean(at)
    return at


def test_the_slider_shows_each_attention_run_at_the_chosen_checkpoint(trained_app, trained):
    steps = explain.probe_steps(explain.with_probe_maps(_stored(trained)))
    assert len(steps) >= 2  # the tiny runs stored checkpoints: before training and after it at least
    at = _while_training(open_page(trained_app, "attention"))
    slider = at.select_slider(key="attention.checkpoint")
    assert slider.options == [f"step {s:,}" for s in steps] and slider.value == steps[-1]  # opens on the last
    assert [t.split(" · ")[:2] for t in _titles(at)] == [["additive", f"step {steps[-1]:,}"],
                                                         ["dot", f"step {steps[-1]:,}"]]  # none has no map
    slider.set_value(steps[0]).run()
    assert_clean(at)
    assert all(f"step {steps[0]:,}" in t for t in _titles(at))


def test_play_steps_through_the_checkpoints_and_loops(trained_app, trained):
    steps = explain.probe_steps(explain.with_probe_maps(_stored(trained)))
    at = _while_training(open_page(trained_app, "attention"))
    at.toggle(key="attention.play").set_value(True).run()  # at the last step: Play starts again at the first
    assert_clean(at)
    assert at.select_slider(key="attention.checkpoint").value == steps[0]
    at.run()  # what the fragment's timer does every PLAY_SECONDS
    assert at.select_slider(key="attention.checkpoint").value == steps[1]
    at.toggle(key="attention.play").set_value(False).run()  # pause: stays where it is
    assert at.select_slider(key="attention.checkpoint").value == steps[1]


def test_the_gif_download_has_one_valid_frame_per_checkpoint(trained_app, trained):
    at = _while_training(open_page(trained_app, "attention"))
    assert "GIF" in [b.proto.label for b in at.get("download_button")]
    by_label = explain.with_probe_maps(_stored(trained))
    gif = Image.open(io.BytesIO(explain.training_animation(by_label, 0, "screen")))
    assert gif.format == "GIF" and gif.n_frames == len(explain.probe_steps(by_label))
    for i in range(gif.n_frames):
        gif.seek(i)
        gif.convert("RGB").load()
