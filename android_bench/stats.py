"""Latency statistics, the one shape every timing takes (host worker, paired rounds, phone runs).

Medians lead: a phone or a shared host has long-tailed timings. A phone's ``benchmark_model`` prints
no per-run samples and no p90, and older builds no median: those fields are ``None`` there and
``central`` says which figure stands for the run (never a mean passed off as a median).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class LatencyStats:
    """Milliseconds. ``samples`` keeps every timed run (or round median) so later analysis can recompute
    anything; phones keep their per-repeat medians there."""

    count: int
    median: float | None
    mean: float
    p90: float | None
    std: float | None
    min: float
    max: float
    p5: float | None = None
    p95: float | None = None
    samples: tuple[float, ...] = ()
    central: str = "median"  # or "mean (the tool printed no median)"
    source: str = "timed runs"

    @property
    def central_ms(self) -> float:
        """The median, or the mean where the tool printed no median (``central`` says which)."""
        return self.median if self.median is not None else self.mean

    @property
    def fps(self) -> float:
        return 1000.0 / self.central_ms


class TimingError(ValueError):
    """Timings that cannot describe a run: none, or not finite and positive (a phone that prints -4 ms)."""


def check_timings(samples_ms: Sequence[float], what: str = "timings") -> np.ndarray:
    """The samples as an array, refused unless every one is a finite, positive number of milliseconds."""
    a = np.asarray(samples_ms, dtype=np.float64)
    if a.size == 0:
        raise TimingError(f"no {what}")
    bad = a[~(np.isfinite(a) & (a > 0))]
    if bad.size:
        raise TimingError(f"{what} include {bad[0]:g} ms: every timing must be a finite, positive number")
    return a


def latency_stats(samples_ms: Sequence[float], source: str = "timed runs") -> LatencyStats:
    """Statistics of timed runs. p90 uses linear interpolation (numpy's default); std is the population std."""
    a = check_timings(samples_ms)
    return LatencyStats(
        count=int(a.size),
        median=float(np.median(a)),
        mean=float(a.mean()),
        p90=float(np.percentile(a, 90)),
        std=float(a.std()),
        min=float(a.min()),
        max=float(a.max()),
        samples=tuple(float(x) for x in a),
        source=source,
    )
