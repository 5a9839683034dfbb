"""Task accuracy of every written file on held-out DIW pairs, and the int8 gate built on it.

Parity says how far a file's map moved; task WHDR says what that costs the user. An int8 file ships
only if its WHDR on held-out pairs (never calibration images) is within ``limit`` of the source
model's. The figure is paired: both models see the same pairs, so the drop is (pairs the file gets
wrong that the source got right) - (the reverse), over all pairs. With fewer than ``min_pairs`` pairs
one pair moves WHDR by more than the limit, so the gate says "unverified" instead of "ok".

The drop carries a 95% interval from a bootstrap over images, not pairs: pairs of one scene share its
prediction, so they are not independent and a per-pair interval would be too narrow. The gate judges
the measured drop; the interval says how far another held-out set of the same size could move it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..data.diw import DIWImage
from ..data.images import load_rgb, resize_map, resize_rgb
from ..metrics.bootstrap import bootstrap_interval
from ..metrics.whdr import DEFAULT_RESIZE, pair_outcomes
from .options import MIN_GATE_PAIRS

# Calibration images that a failed gate advises. Measured on the shipped model at 224x448, three independent
# held-out sets of 420 scenes: 128 renders lowered the int8 drop by 0.0018 (0.0004 to 0.0033) against 32,
# while which 32 renders, or real photographs added to them, moved it by noise only (README, "The int8 recipe").
ADVISED_CALIB_IMAGES = 128


@dataclass
class TaskAccuracy:
    whdr: float
    pairs: int
    drop: float | None = None  # whdr - source whdr (positive = worse)
    lost: int = 0  # pairs the source got right and this file gets wrong
    gained: int = 0  # the reverse
    drop_ci: tuple[float, float] | None = None  # 95% bootstrap over images (see module docstring)


@dataclass
class GateResult:
    verdict: str  # passed | failed | unverified
    limit: float
    problem: str = ""


def pair_results(
    predict: Callable[[np.ndarray], np.ndarray],
    entries: list[DIWImage],
    height: int,
    width: int,
    disparity: bool = False,
) -> np.ndarray:
    """Right/wrong for every pair of every entry, in order (a bool array)."""
    outcomes: list[bool] = []
    for entry in entries:
        prediction = predict(resize_rgb(load_rgb(entry.path), height, width))
        outcomes += pair_outcomes(
            resize_map(prediction, entry.height, entry.width, DEFAULT_RESIZE), entry.pairs, disparity
        )
    return np.asarray(outcomes, dtype=bool)


def task_accuracy(
    results: np.ndarray, source: np.ndarray | None = None, pairs_per_image: list[int] | None = None
) -> TaskAccuracy:
    """WHDR of ``results``; with ``source``, the paired drop; with ``pairs_per_image`` too, its interval."""
    acc = TaskAccuracy(whdr=float(1.0 - results.mean()) if results.size else float("nan"), pairs=int(results.size))
    if source is not None and source.size == results.size and results.size:
        acc.lost = int(np.sum(source & ~results))
        acc.gained = int(np.sum(~source & results))
        acc.drop = (acc.lost - acc.gained) / results.size
        if pairs_per_image is not None and sum(pairs_per_image) == results.size:
            acc.drop_ci = drop_interval(source.astype(int) - results.astype(int), pairs_per_image)
    return acc


def drop_interval(lost_minus_gained: np.ndarray, pairs_per_image: list[int]) -> tuple[float, float]:
    """95% interval of the drop over images drawn with replacement (fixed seed: the same files give the
    same interval)."""
    counts = np.asarray(pairs_per_image, dtype=int)
    image_of_pair = np.repeat(np.arange(len(counts)), counts)
    per_image = np.bincount(image_of_pair, weights=lost_minus_gained, minlength=len(counts))
    return bootstrap_interval(lambda picks: per_image[picks].sum(1) / np.maximum(counts[picks].sum(1), 1), len(counts))


def gate(
    acc: TaskAccuracy | None, limit: float, min_pairs: int = MIN_GATE_PAIRS, calib_images: int | None = None
) -> GateResult:
    """Judge an int8 file's task-WHDR drop against ``limit``. ``calib_images`` (how many images calibrated
    the file) lets a failure say the one remedy measured to help without retraining (see ADVISED_CALIB_IMAGES)."""
    if acc is None or acc.drop is None:
        return GateResult(
            "unverified", limit, "no held-out DIW pairs to measure the int8 WHDR drop (--parity-data with DIW_test.csv)"
        )
    if acc.pairs < min_pairs:
        return GateResult(
            "unverified", limit, f"only {acc.pairs} held-out pairs (need {min_pairs}) to check a WHDR drop of {limit}"
        )
    if acc.drop > limit:
        return GateResult(
            "failed",
            limit,
            f"int8 task WHDR {acc.whdr:.4f} is {acc.drop:+.4f} vs the source model on {acc.pairs} "
            f"held-out pairs (limit {limit})" + calibration_advice(calib_images),
        )
    return GateResult("passed", limit)


def calibration_advice(calib_images: int | None) -> str:
    """The tail of a failed gate's line when the file was calibrated on fewer images than advised."""
    if calib_images is None or calib_images >= ADVISED_CALIB_IMAGES:
        return ""
    return (
        f"; it was calibrated on {calib_images} images: try {ADVISED_CALIB_IMAGES} like the ones it will see "
        f"(--calib DIR --n-calib {ADVISED_CALIB_IMAGES})"
    )
