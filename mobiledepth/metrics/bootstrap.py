"""Percentile bootstrap: one resampling routine for every interval the tool reports.

Paired latency resamples rounds, the int8 gate resamples held-out images; both draw index sets with
replacement from a fixed seed (the same data give the same interval) and take the statistic's quantiles.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95


def bootstrap_interval(
    statistic: Callable[[np.ndarray], np.ndarray],
    n: int,
    samples: int = BOOTSTRAP_SAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Interval of ``statistic`` over ``samples`` resamples of ``n`` units: ``statistic`` maps a
    (samples, n) array of unit indices to one value per resample."""
    picks = np.random.default_rng(seed).integers(n, size=(samples, n))
    values = statistic(picks)
    tail = (1.0 - confidence) / 2
    return float(np.quantile(values, tail)), float(np.quantile(values, 1 - tail))
