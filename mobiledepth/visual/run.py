"""One model run on one picture of any size, timed: what every picture and video frame goes through."""

from __future__ import annotations

import time

import numpy as np

from ..data.images import resize_rgb
from ..runtime.predictors import Predictor


def run_model(predictor: Predictor, photo: np.ndarray) -> tuple[np.ndarray, float]:
    """The model's map for ``photo`` (any size) and the milliseconds the model itself took. The map comes back
    at the model's output size (a stride-k map stays small: the drawing resizes it to the picture)."""
    x = resize_rgb(photo, *predictor.input_hw)
    start = time.perf_counter()
    depth = predictor.predict(x)
    return depth, (time.perf_counter() - start) * 1000.0
