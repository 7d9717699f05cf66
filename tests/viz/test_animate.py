"""attn.viz.animate: checkpoints -> GIF (and MP4 where an ffmpeg is present): the right number of
frames, each a valid image, the step written on each."""
import io

import numpy as np
import pytest
from PIL import Image

from attn.viz import animate
from tests.viz.specs import PNG_SIGNATURE

SRC, OUT = ["le", "chat", "dort"], ["the", "cat", "sleeps"]


def _checkpoints(n):
    """Attention sharpening from uniform to the diagonal over n checkpoints."""
    return [(100 * (i + 1), (1 - i / (n - 1)) * np.full((3, 3), 1 / 3) + (i / (n - 1)) * np.eye(3)) for i in range(n)]


def _png(color, size=(40, 30)):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def test_attention_checkpoints_become_a_gif_with_one_valid_frame_each():
    frames = animate.render_frames(animate.attention_frames(SRC, OUT, _checkpoints(4), title="additive"))
    assert len(frames) == 4 and all(png.startswith(PNG_SIGNATURE) for _, png in frames)
    gif = Image.open(io.BytesIO(animate.to_gif(frames)))
    assert gif.format == "GIF" and gif.n_frames == 4 and gif.info.get("loop") == 0
    sizes = set()
    for i in range(gif.n_frames):
        gif.seek(i)
        frame = gif.convert("RGB")
        sizes.add(frame.size)
        assert frame.getextrema() != ((255, 255), (255, 255), (255, 255))   # not blank
    assert len(sizes) == 1


def test_the_step_is_written_on_each_frame_above_an_unchanged_picture():
    gif = Image.open(io.BytesIO(animate.to_gif([(5, _png("red")), (1200, _png("red"))], label_size=20)))
    gif.seek(0)
    first = np.asarray(gif.convert("RGB"))
    gif.seek(1)
    second = np.asarray(gif.convert("RGB"))
    strip = int(20 * 1.8)
    assert first.shape == second.shape and first.shape[0] == 30 + strip
    assert first.shape[1] > 40                                             # widened to fit "step 1,200"
    assert (first[:strip] != second[:strip]).any()                         # "step 5" vs "step 1,200"
    assert (first[:strip] < 128).any() and (first[strip:] == second[strip:]).all()


def test_frames_of_different_sizes_share_the_largest_canvas():
    gif = Image.open(io.BytesIO(animate.to_gif([(1, _png("blue", (40, 30))), (2, _png("blue", (60, 20)))],
                                               label_size=10)))
    assert gif.n_frames == 2 and gif.size == (60, 30 + 18)


def test_bad_frames_are_refused_with_what_is_wrong():
    with pytest.raises(ValueError, match="at least one frame"):
        animate.to_gif([])
    with pytest.raises(ValueError, match="training order"):
        animate.to_gif([(2, _png("red")), (1, _png("red"))])
    with pytest.raises(ValueError, match="step 3 is not a readable image"):
        animate.to_gif([(3, b"not a png")])
    with pytest.raises(ValueError, match=r"should end in \.gif or \.mp4"):
        animate.save_animation([(1, _png("red"))], "a.avi")


def test_save_animation_writes_a_gif_file(tmp_path):
    path = animate.save_animation([(1, _png("red")), (2, _png("green"))], str(tmp_path / "a.GIF"))
    assert Image.open(path).n_frames == 2


def test_mp4_where_an_ffmpeg_is_present_else_a_message_saying_what_to_install(tmp_path, monkeypatch):
    frames = [(i, _png(c)) for i, c in enumerate(["red", "green", "blue"], start=1)]
    if animate.mp4_encoder() is None:
        with pytest.raises(RuntimeError, match="pip install imageio-ffmpeg"):
            animate.to_mp4(frames)
        return
    data = animate.to_mp4(frames)
    assert data[4:8] == b"ftyp" and len(data) > 100                         # an ISO media (MP4) file
    monkeypatch.setattr(animate, "mp4_encoder", lambda: None)
    with pytest.raises(RuntimeError, match="pip install imageio-ffmpeg"):
        animate.to_mp4(frames)
