"""A sequence of charts (one per checkpoint) as an animation for slides: animated GIF, or MP4 where a
codec is present.

    attention_frames   (step, weights) per checkpoint -> (step, attention heatmap) per frame
    render_frames      (step, chart) -> (step, PNG bytes), through export.to_png (vl-convert, offline)
    to_gif             frames -> GIF bytes (Pillow), the step written above each frame
    to_mp4             frames -> MP4 bytes (H.264 through an ffmpeg: imageio-ffmpeg's, or one on PATH)
    save_animation     frames -> a .gif or .mp4 file, by its extension

Every frame gets a white strip on top saying "step 12,400" (and the caption, e.g. the variant): the
chart's own title stays as it is, and a viewer sees where in training each frame is. Frames of
different sizes (a legend that grew) are placed top-left on a white canvas of the largest size, so
nothing jumps. GIF is built with Pillow (a Streamlit dependency); MP4 needs an ffmpeg binary, from the
`imageio-ffmpeg` package or the system's `ffmpeg`, and without one `mp4_encoder()` says so.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from typing import Sequence

from attn.viz.export import to_png
from attn.viz.maps import attention_heatmap

Frame = tuple[int, bytes]       # (checkpoint step, PNG bytes)


def _pillow():
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError as exc:  # pragma: no cover - Pillow comes with Streamlit
        raise RuntimeError("animations need Pillow: pip install pillow (it comes with streamlit)") from exc
    return Image, ImageDraw, ImageFont


def attention_frames(src_tokens: Sequence[str], out_tokens: Sequence[str], checkpoints, gold=None,
                     title: str = "", style: str = "screen") -> list[tuple[int, object]]:
    """checkpoints: (step, weights (T, S)) in training order -> (step, heatmap chart) per frame, all of
    one sentence with the same tokens, so the frames differ only in their weights."""
    frames = []
    for step, weights in checkpoints:
        frames.append((int(step), attention_heatmap(src_tokens, out_tokens, weights, gold=gold, title=title,
                                                    style=style)))
    return frames


def render_frames(charts: Sequence[tuple[int, object]], scale: float = 1) -> list[Frame]:
    """(step, Altair chart) -> (step, PNG bytes), each rendered offline."""
    return [(int(step), to_png(chart, scale)) for step, chart in charts]


def _font(size: int):
    _, _, ImageFont = _pillow()
    try:
        return ImageFont.load_default(size=size)      # Pillow >= 10.1: the bundled scalable font
    except TypeError:  # pragma: no cover - an older Pillow has one fixed size
        return ImageFont.load_default()


def _labelled(frames: Sequence[Frame], caption: str, label_size: int):
    """PNG frames -> RGB images of one size, each with 'step N  caption' written on a white strip on top."""
    Image, ImageDraw, _ = _pillow()
    if not frames:
        raise ValueError("an animation needs at least one frame; no checkpoint was given")
    steps = [step for step, _ in frames]
    if any(b <= a for a, b in zip(steps, steps[1:])):
        raise ValueError(f"animation frames must come in training order with distinct steps, got steps {steps}")
    images = []
    for step, png in frames:
        try:
            image = Image.open(io.BytesIO(png))
            image.load()
        except Exception as exc:
            raise ValueError(f"the frame of step {step} is not a readable image ({exc})") from exc
        rgba = image.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, "white")
        images.append(Image.alpha_composite(flat, rgba).convert("RGB"))   # transparent -> white
    strip, margin = int(label_size * 1.8), int(label_size * 0.6)
    font = _font(label_size)
    texts = [f"step {step:,}" + (f"   {caption}" if caption else "") for step, _ in frames]
    # the canvas fits the widest label too, so every frame shows its whole step
    width = max(max(i.width for i in images), max(int(font.getlength(t)) for t in texts) + 2 * margin)
    height = max(i.height for i in images) + strip
    out = []
    for text, image in zip(texts, images):
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(image, (0, strip))
        ImageDraw.Draw(canvas).text((margin, int(label_size * 0.35)), text, fill="black", font=font)
        out.append(canvas)
    return out


def to_gif(frames: Sequence[Frame], seconds_per_frame: float = 0.6, hold_last: float = 2.0, caption: str = "",
           label_size: int = 22) -> bytes:
    """(step, PNG) frames -> an animated GIF that loops, the last frame held `hold_last` seconds."""
    images = _labelled(frames, caption, label_size)
    palette = [image.quantize(colors=255, dither=0) for image in images]   # GIF: 256 colours per frame
    durations = [int(seconds_per_frame * 1000)] * len(palette)
    durations[-1] = int(max(hold_last, seconds_per_frame) * 1000)
    buffer = io.BytesIO()
    palette[0].save(buffer, format="GIF", save_all=True, append_images=palette[1:], duration=durations, loop=0,
                    disposal=1, optimize=False)
    return buffer.getvalue()


def mp4_encoder() -> str | None:
    """The ffmpeg binary MP4 export uses: imageio-ffmpeg's if installed, else `ffmpeg` on PATH, else None."""
    try:
        import imageio_ffmpeg
        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return shutil.which("ffmpeg")


def to_mp4(frames: Sequence[Frame], seconds_per_frame: float = 0.6, caption: str = "", label_size: int = 22,
           timeout: float = 300) -> bytes:
    """(step, PNG) frames -> an H.264 MP4 (yuv420p, so slides and browsers play it)."""
    ffmpeg = mp4_encoder()
    if ffmpeg is None:
        raise RuntimeError("MP4 export needs an ffmpeg: pip install imageio-ffmpeg (or install ffmpeg); "
                           "the GIF export works without it")
    images = _labelled(frames, caption, label_size)
    with tempfile.TemporaryDirectory(prefix="attn-mp4-") as folder:
        for i, image in enumerate(images):
            image.save(os.path.join(folder, f"frame{i:05d}.png"))
        out = os.path.join(folder, "out.mp4")
        command = [ffmpeg, "-loglevel", "error", "-y", "-framerate", f"{1 / seconds_per_frame:.6g}",
                   "-i", os.path.join(folder, "frame%05d.png"),
                   "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2:color=white",   # yuv420p needs even sizes
                   "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", out]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"ffmpeg ({ffmpeg}) could not write the MP4: {done.stderr.strip()[-500:]}")
        with open(out, "rb") as f:
            return f.read()


def save_animation(frames: Sequence[Frame], path: str, seconds_per_frame: float = 0.6, caption: str = "") -> str:
    """Write frames to `path`, a .gif or .mp4 (chosen by the extension); returns the path."""
    lower = path.lower()
    if lower.endswith(".gif"):
        data = to_gif(frames, seconds_per_frame, caption=caption)
    elif lower.endswith(".mp4"):
        data = to_mp4(frames, seconds_per_frame, caption=caption)
    else:
        raise ValueError(f"save_animation: {path!r} should end in .gif or .mp4")
    with open(path, "wb") as f:
        f.write(data)
    return path
