"""The depth task's score for every written file: WHDR on held-out DIW pairs, paired against the source.

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

from dataclasses import replace

import numpy as np

from ..metrics.bootstrap import bootstrap_interval
from ..metrics.protocol import pair_results  # noqa: F401  (the depth task's scoring, re-exported)
from ..records.conversion import GateResult, TaskScore

# Calibration images that a failed gate advises. Measured on the shipped model at 224x448, three independent
# held-out sets of 420 scenes: 128 renders lowered the int8 drop by 0.0018 (0.0004 to 0.0033) against 32,
# while which 32 renders, or real photographs added to them, moved it by noise only (README, "The int8 recipe").
ADVISED_CALIB_IMAGES = 128


def whdr_score(
    results: np.ndarray,
    source: np.ndarray | None = None,
    pairs_per_image: list[int] | None = None,
    task: str = "depth",
    output: str = "",
) -> TaskScore:
    """WHDR of ``results``; with ``source``, the paired drop; with ``pairs_per_image`` too, its interval."""
    whdr = float(1.0 - results.mean()) if results.size else 0.0
    score = TaskScore(task=task, metric="whdr", value=whdr, units=int(results.size), unit="pairs",
                      higher_is_better=False, output=output)  # fmt: skip
    if source is None or source.size != results.size or not results.size:
        return score
    lost, gained = int(np.sum(source & ~results)), int(np.sum(~source & results))
    interval = None
    if pairs_per_image is not None and sum(pairs_per_image) == results.size:
        interval = drop_interval(source.astype(int) - results.astype(int), pairs_per_image)
    return replace(score, source_value=float(1.0 - source.mean()), drop=(lost - gained) / results.size,
                   interval=interval, lost=lost, gained=gained)  # fmt: skip


def drop_interval(lost_minus_gained: np.ndarray, pairs_per_image: list[int]) -> tuple[float, float]:
    """95% interval of the drop over images drawn with replacement (fixed seed: the same files give the
    same interval)."""
    counts = np.asarray(pairs_per_image, dtype=int)
    image_of_pair = np.repeat(np.arange(len(counts)), counts)
    per_image = np.bincount(image_of_pair, weights=lost_minus_gained, minlength=len(counts))
    return bootstrap_interval(lambda picks: per_image[picks].sum(1) / np.maximum(counts[picks].sum(1), 1), len(counts))


def with_advice(gate: GateResult, calib_images: int | None) -> GateResult:
    """A failed int8 gate's line with the one remedy measured to help without retraining (more calibration)."""
    return gate if gate.verdict != "failed" else replace(gate, problem=gate.problem + calibration_advice(calib_images))


def calibration_advice(calib_images: int | None) -> str:
    """The tail of a failed gate's line when the file was calibrated on fewer images than advised."""
    if calib_images is None or calib_images >= ADVISED_CALIB_IMAGES:
        return ""
    return (
        f"; it was calibrated on {calib_images} images: try {ADVISED_CALIB_IMAGES} like the ones it will see "
        f"(--calib DIR --n-calib {ADVISED_CALIB_IMAGES})"
    )
