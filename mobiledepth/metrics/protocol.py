"""The DIW evaluation protocol as right/wrong per annotated pair: what the int8 gate and the per-part
simulation compare between two models, pair by pair."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..data.diw import DIWImage
from ..data.images import load_rgb, resize_map, resize_rgb
from .whdr import DEFAULT_RESIZE, pair_outcomes


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
