"""A depth video: each frame with the model's depth beside it and the measured speed drawn on it.

Frames are read and written through imageio's ffmpeg plugin (imageio-ffmpeg ships the binary in its
wheel: nothing is downloaded). The output appears under its name only once complete.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from pathlib import Path

import numpy as np

from ..errors import MobileDepthError
from ..runtime.predictors import Predictor
from .colormap import DepthRange, colorize
from .grid import to_display
from .run import run_model


def _overlay(frame: np.ndarray, text: str) -> np.ndarray:
    from PIL import Image, ImageDraw

    img = Image.fromarray(frame)
    draw = ImageDraw.Draw(img)
    box = draw.textbbox((6, 6), text)
    draw.rectangle((box[0] - 3, box[1] - 3, box[2] + 3, box[3] + 3), fill=(0, 0, 0))
    draw.text((6, 6), text, fill=(255, 255, 255))
    return np.asarray(img)


def _reader(video: Path):
    import imageio.v2 as imageio

    try:
        reader = imageio.get_reader(str(video), format="FFMPEG")
        return reader, float(reader.get_meta_data().get("fps") or 25.0)
    except Exception as exc:  # imageio raises several types for unreadable files
        raise MobileDepthError(f"{video}: cannot read video ({str(exc).splitlines()[0][:120]})") from None


def depth_video(predictor: Predictor, video: Path, out: Path, max_frames: int | None = None) -> Path:
    """Write ``out`` (mp4): frame | depth, with this frame's model time and the running median FPS."""
    import imageio.v2 as imageio

    reader, fps = _reader(video)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".mp4", dir=out.parent)
    os.close(fd)
    times: list[float] = []
    span = None
    try:
        with imageio.get_writer(
            tmp, format="FFMPEG", fps=fps, codec="libx264", macro_block_size=2, ffmpeg_log_level="error"
        ) as writer:
            for i, frame in enumerate(reader):
                if max_frames is not None and i >= max_frames:
                    break
                frame = np.asarray(frame)[..., :3]
                depth, ms = run_model(predictor, frame.astype(np.float32) / 255.0)
                times.append(ms)
                shown = to_display(depth, frame.shape[:2])
                span = span or DepthRange.robust(shown)  # first frame's range: colours stay steady
                median = statistics.median(times)
                text = f"{predictor.path.name}: {ms:.1f} ms  (median {median:.1f} ms = {1000.0 / median:.1f} FPS)"
                writer.append_data(np.concatenate([_overlay(frame, text), colorize(shown, span)], axis=1))
        if not times:
            raise MobileDepthError(f"{video}: no frames")
        os.replace(tmp, out)
    finally:
        reader.close()
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out
