"""Robust latency statistics. Medians lead: a phone or a shared host has long-tailed timings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np


@dataclass
class LatencyStats:
    """Milliseconds. ``samples`` keeps every timed run so later analysis can recompute anything."""

    count: int
    median: float
    mean: float
    p90: float
    std: float
    min: float
    max: float
    samples: list[float] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return 1000.0 / self.median if self.median > 0 else float("inf")

    def to_dict(self) -> dict:
        return asdict(self)


def latency_stats(samples_ms: Sequence[float]) -> LatencyStats:
    """Statistics of timed runs. p90 uses linear interpolation (numpy's default); std is the population std."""
    if len(samples_ms) == 0:
        raise ValueError("no timing samples")
    a = np.asarray(samples_ms, dtype=np.float64)
    return LatencyStats(
        count=int(a.size),
        median=float(np.median(a)),
        mean=float(a.mean()),
        p90=float(np.percentile(a, 90)),
        std=float(a.std()),
        min=float(a.min()),
        max=float(a.max()),
        samples=[float(x) for x in a],
    )
