"""Task accuracy of every written file on held-out DIW pairs, and the int8 gate built on it.

Parity says how far a file's map moved; task WHDR says what that costs the user. An int8 file ships
only if its WHDR on held-out pairs (never calibration images) is within ``limit`` of the source
model's. The figure is paired: both models see the same pairs, so the drop is (pairs the file gets
wrong that the source got right) - (the reverse), over all pairs. With fewer than ``min_pairs`` pairs
one pair moves WHDR by more than the limit, so the gate says "unverified" instead of "ok".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..data.diw import DIWImage
from ..data.images import load_rgb, resize_map, resize_rgb
from ..metrics.whdr import DEFAULT_RESIZE, pair_outcomes

MIN_GATE_PAIRS = 1000


@dataclass
class TaskAccuracy:
    whdr: float
    pairs: int
    drop: float | None = None  # whdr - source whdr (positive = worse)
    lost: int = 0  # pairs the source got right and this file gets wrong
    gained: int = 0  # the reverse


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


def task_accuracy(results: np.ndarray, source: np.ndarray | None = None) -> TaskAccuracy:
    acc = TaskAccuracy(whdr=float(1.0 - results.mean()) if results.size else float("nan"), pairs=int(results.size))
    if source is not None and source.size == results.size and results.size:
        acc.lost = int(np.sum(source & ~results))
        acc.gained = int(np.sum(~source & results))
        acc.drop = (acc.lost - acc.gained) / results.size
    return acc


def gate(acc: TaskAccuracy | None, limit: float, min_pairs: int = MIN_GATE_PAIRS) -> GateResult:
    """Judge an int8 file's task-WHDR drop against ``limit``."""
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
            f"held-out pairs (limit {limit})",
        )
    return GateResult("passed", limit)
