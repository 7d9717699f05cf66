"""`python -m attn figures`: models in MODEL_ORDER whatever order the ids come in, and `--animate`: the
attention of a probe sentence over the stored checkpoints as a GIF, one valid frame per checkpoint.

Tiny runs (reverse task) are trained once per module; the animation is checked on the checkpoints their
training stored and on checkpoints built here (attn.records.Checkpoint), whose frames are known.
"""
import io
import os

import numpy as np
import pytest
from PIL import Image

from attn.cli import figures
from attn.cli import main as cli
from attn.records import Checkpoint, ProbeMap
from attn.runs.store import RunStore
from attn.viz import animate

SRC, TGT = ["a", "b", "c"], ["c", "b", "a"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(store folder, {variant: run id}) of tiny dot, additive and none runs, trained in that order."""
    path = tmp_path_factory.mktemp("store")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ATTN_HOME", str(path))
        assert cli.main(["train", "--preset", "tiny", "--variants", "dot,additive,none", "--epochs", "1",
                         "--jobs", "1"]) == 0
    runs = RunStore(path).runs()
    return path, dict(zip(runs["variant"], runs["id"]))


def _checkpoint(step, weights, src=SRC, tgt=TGT):
    weights = None if weights is None else np.asarray(weights, dtype=np.float32)
    return Checkpoint(step=step, epoch=step / 10, seconds=step / 100,
                      probes=(ProbeMap(("x",), ("y",), np.ones((1, 1), dtype=np.float32)), ProbeMap(src, tgt, weights)))


def _forming(n):
    """Attention going from uniform to the anti-diagonal (reverse's gold) over n checkpoints."""
    gold = np.eye(3)[::-1]
    return [_checkpoint(10 * (i + 1), (1 - i / (n - 1)) * np.full((3, 3), 1 / 3) + i / (n - 1) * gold)
            for i in range(n)]


def test_models_come_in_model_order_whatever_order_the_ids_are_given_in(trained):
    home, ids = trained
    store = RunStore(home)
    given = [ids["dot"], ids["none"], ids["additive"]]
    assert figures.in_model_order(store, given) == [ids["none"], ids["additive"], ids["dot"]]
    built = dict(figures.build_figures(store, given, metrics=["bleu"], sentences=[0]))
    panels = built["attention-sentence-0"].to_dict()["hconcat"]
    assert [p["title"]["text"] for p in panels] == ["additive", "dot"]  # additive before dot, as everywhere


def test_animate_writes_a_gif_per_run_with_one_valid_frame_per_checkpoint(trained, tmp_path, monkeypatch, capsys):
    home, ids = trained
    stored = {ids["dot"]: _forming(4), ids["additive"]: _forming(3),
              ids["none"]: [_checkpoint(10, None), _checkpoint(20, None)]}  # none: no attention to animate
    monkeypatch.setattr(RunStore, "checkpoints", lambda self, run_id: stored[run_id], raising=False)
    out = tmp_path / "figs"
    code = cli.main(["figures", "--runs", ",".join(stored), "--out", str(out), "--home", str(home),
                     "--metric", "bleu", "--sentences", "0,", "--style", "screen", "--animate"])
    assert code == 0
    for variant, frames in (("dot", 4), ("additive", 3)):
        gif = Image.open(out / f"attention-forming-{variant}.gif")
        assert gif.format == "GIF" and gif.n_frames == frames
        for i in range(frames):
            gif.seek(i)
            assert gif.convert("RGB").getextrema() != ((255, 255), (255, 255), (255, 255))  # a picture, not blank
    assert not (out / "attention-forming-none.gif").exists()
    captured = capsys.readouterr()
    assert "no attention over training for none" in captured.err
    printed = [os.path.basename(p) for p in captured.out.split()]
    assert "attention-forming-dot.gif" in printed and all(os.path.exists(out / name) for name in printed)
    if animate.mp4_encoder():  # imageio-ffmpeg or an ffmpeg on PATH: the MP4 beside the GIF
        assert (out / "attention-forming-dot.mp4").read_bytes()[4:8] == b"ftyp"
    else:
        assert "MP4 needs imageio-ffmpeg" in captured.err


def test_the_checkpoints_training_stored_animate_one_frame_each(trained, tmp_path):
    home, ids = trained
    store = RunStore(home)
    stored = store.checkpoints(ids["additive"])
    src, tgt, steps = figures.probe_frames(stored)
    assert len(stored) >= 2 and len(steps) == len(stored)  # every checkpoint has the probe's map
    (gif_path, *_) = figures.write_animations(store, [ids["additive"]], str(tmp_path), style="screen")
    gif = Image.open(gif_path)
    assert gif.n_frames == len(stored)
    for i in range(gif.n_frames):
        gif.seek(i)
        gif.convert("RGB").load()  # each frame decodes


def test_the_longest_probe_is_animated_and_its_step_order_kept():
    src, tgt, steps = figures.probe_frames(_forming(3))
    assert (src, tgt) == (SRC, TGT) and [s for s, _ in steps] == [10, 20, 30]
    assert np.allclose(steps[-1][1], np.eye(3)[::-1])
    assert figures.probe_frames([]) == ([], [], [])


def test_without_an_ffmpeg_the_gif_is_written_and_the_note_says_mp4_needs_imageio_ffmpeg(trained, tmp_path,
                                                                                           monkeypatch, capsys):
    home, ids = trained
    monkeypatch.setattr(RunStore, "checkpoints", lambda self, run_id: _forming(2), raising=False)
    monkeypatch.setattr(animate, "mp4_encoder", lambda: None)
    paths = figures.write_animations(RunStore(home), [ids["dot"]], str(tmp_path), style="screen")
    assert [os.path.basename(p) for p in paths] == ["attention-forming-dot.gif"]
    assert "MP4 needs imageio-ffmpeg" in capsys.readouterr().err
