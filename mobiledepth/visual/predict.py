"""``mobiledepth predict``: depth maps a person can look at, for any model file the tool accepts.

Images in -> one PNG per image (one model: photo + depth with its colour scale; several models: the
side-by-side grid of :mod:`.grid`). A video in -> a video out, the depth beside each frame with the
measured inference time and FPS drawn on it. Every output is written atomically.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..data.images import IMAGE_SUFFIXES, load_rgb, resize_rgb
from ..errors import MobileDepthError
from ..fileio import write_json
from ..runtime.predictors import Predictor, Preprocess, load_predictor
from .grid import MapDifference, Panel, display_size, draw_grid, to_display

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".gif")


@dataclass(frozen=True)
class PredictOptions:
    """``size`` is the input size for checkpoints (files carry their own); ``max_frames`` caps a video."""

    size: tuple[int, int] = (256, 256)
    threads: int = 2
    preprocess: Preprocess = Preprocess()
    max_frames: int | None = None


@dataclass
class PredictResult:
    pictures: list[str] = field(default_factory=list)
    videos: list[str] = field(default_factory=list)
    differences: list[MapDifference] = field(default_factory=list)
    summary: str = ""

    def to_dict(self) -> dict:
        from ..records import record_header

        return {
            **record_header("predict"),
            "pictures": self.pictures,
            "videos": self.videos,
            "differences": [asdict(d) for d in self.differences],
        }


def model_label(path: Path) -> str:
    """The file name, which for converted files already says the precision (model_fp32.tflite ...)."""
    return path.name


def open_models(models: list[Path], options: PredictOptions) -> list[Predictor]:
    if not models:
        raise MobileDepthError("predict: give at least one model file")
    predictors = [load_predictor(m, options.size, options.preprocess, options.threads) for m in models]
    for p in predictors:  # one warm-up run each: the first call allocates and packs weights (not the model's speed)
        p.run(p.feed())
    return predictors


def run_model(predictor: Predictor, photo: np.ndarray) -> tuple[np.ndarray, float]:
    """The model's map for ``photo`` (any size) and the milliseconds the model itself took."""
    x = resize_rgb(photo, *predictor.input_hw)
    start = time.perf_counter()
    depth = predictor.predict(x)
    return depth, (time.perf_counter() - start) * 1000.0


def collect_inputs(inputs: list[Path]) -> tuple[list[Path], list[Path]]:
    """Split the given paths (files or folders of images) into images and videos."""
    images, videos = [], []
    for p in inputs:
        if p.is_dir():
            images += sorted(q for q in p.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES)
        elif not p.is_file():
            raise MobileDepthError(f"{p}: no such image or video")
        elif p.suffix.lower() in VIDEO_SUFFIXES:
            videos.append(p)
        elif p.suffix.lower() in IMAGE_SUFFIXES:
            images.append(p)
        else:
            raise MobileDepthError(
                f"{p}: not an image ({', '.join(IMAGE_SUFFIXES)}) or video ({', '.join(VIDEO_SUFFIXES)})"
            )
    if not images and not videos:
        raise MobileDepthError("predict: no images or videos found in " + ", ".join(str(p) for p in inputs))
    return images, videos


def predict_images(
    predictors: list[Predictor], images: list[Path], out_dir: Path
) -> tuple[list[str], list[MapDifference]]:
    written, diffs = [], []
    for image in images:
        photo = load_rgb(image)
        hw = display_size(photo.shape[:2])
        panels = []
        for predictor in predictors:
            depth, ms = run_model(predictor, photo)
            panels.append(Panel(model_label(predictor.path), to_display(depth, hw), ms))
        target = out_dir / f"{image.stem}_depth.png"
        diffs += draw_grid(resize_rgb(photo, *hw), panels, image.name, target)
        written.append(str(target))
    return written, diffs


def predict(
    models: list[Path], inputs: list[Path], out_dir: Path, options: PredictOptions = PredictOptions()
) -> PredictResult:
    """Depth pictures (and videos) for ``inputs`` from every model in ``models`` into ``out_dir``."""
    images, videos = collect_inputs(inputs)
    predictors = open_models(models, options)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = PredictResult()
    if images:
        result.pictures, result.differences = predict_images(predictors, images, out_dir)
    if videos:
        from .video import depth_video

        if len(predictors) > 1:
            raise MobileDepthError("predict: a video takes one model (its depth is drawn beside each frame)")
        result.videos = [
            str(depth_video(predictors[0], v, out_dir / f"{v.stem}_depth.mp4", options.max_frames)) for v in videos
        ]
    write_json(out_dir / "predict.json", result.to_dict())
    return result


def load_differences(path: str | os.PathLike) -> list[MapDifference]:
    return [MapDifference(**d) for d in json.loads(Path(path).read_text())["differences"]]
