"""``mobiledepth predict``: depth maps a person can look at, for any model file the tool accepts.

Images in -> one PNG per image (one model: photo + depth with its colour scale; several models: the
side-by-side grid of :mod:`.grid`). A video in -> a video out, the depth beside each frame with the
measured inference time and FPS drawn on it. Every output is written atomically.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from android_bench.timing import HOST_TIMING

from ..data.images import IMAGE_SUFFIXES, load_rgb, resize_rgb
from ..errors import MobileDepthError
from ..inputs import Preprocess
from ..records.prediction import MapDifference, PredictRecord
from ..records.store import write_record
from ..runtime.predictors import Predictor, load_predictor
from .grid import Panel, display_size, draw_grid, to_display
from .run import run_model

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".gif")


@dataclass(frozen=True)
class PredictOptions:
    """``size`` sizes models whose input size is free (None: the model's); ``max_frames`` caps a video."""

    size: tuple[int, int] | None = None
    threads: int | None = None  # None: the host's default (HOST_TIMING)
    preprocess: Preprocess | None = None  # None: what the model declares
    max_frames: int | None = None
    output: str | int | None = None  # which output is the map (default the first)
    note: str = ""  # what the maps are, written into predict.json (the demo: a synthetic-trained model)


def model_label(path: Path) -> str:
    """The file name, which for converted files already says the precision (model_fp32.tflite ...)."""
    return path.name


def open_models(models: list[Path], options: PredictOptions) -> list[Predictor]:
    if not models:
        raise MobileDepthError("predict: give at least one model file")
    threads = options.threads or HOST_TIMING.threads
    predictors = [load_predictor(m, options.size, options.preprocess, threads, output=options.output) for m in models]
    for p in predictors:  # one warm-up run each: the first call allocates and packs weights (not the model's speed)
        p.run(p.feed())
    return predictors


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


def predict_files(
    models: list[Path], inputs: list[Path], out_dir: Path, options: PredictOptions = PredictOptions()
) -> PredictRecord:
    """Depth pictures (and videos) for ``inputs`` from every model in ``models`` into ``out_dir``."""
    images, videos = collect_inputs(inputs)
    predictors = open_models(models, options)
    out_dir.mkdir(parents=True, exist_ok=True)
    pictures, diffs, written_videos = [], [], []
    if images:
        pictures, diffs = predict_images(predictors, images, out_dir)
    if videos:
        from .video import depth_video

        if len(predictors) > 1:
            raise MobileDepthError("predict: a video takes one model (its depth is drawn beside each frame)")
        written_videos = [
            str(depth_video(predictors[0], v, out_dir / f"{v.stem}_depth.mp4", options.max_frames)) for v in videos
        ]
    record = PredictRecord(
        pictures=tuple(pictures), videos=tuple(written_videos), differences=tuple(diffs), note=options.note
    )
    write_record(out_dir / "predict.json", record)
    return record


def load_differences(path: str | os.PathLike) -> list[MapDifference]:
    from ..records import load_records

    return [d for rec in load_records([path]) if isinstance(rec, PredictRecord) for d in rec.differences]
