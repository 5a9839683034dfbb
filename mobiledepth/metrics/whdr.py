"""WHDR (Weighted Human Disagreement Rate) as the DIW authors' evaluation computes it.

Reference: princeton-vl/relative_depth, ``src/experiment/test_model_on_DIW.lua``: the prediction is
resized back to the ORIGINAL image size with Torch7 ``image.scale`` (``resize="torch7"``, the default;
see metrics/torch7_scale.py) and read at the CSV's 1-based coordinates minus one. ``resize="bilinear"``
keeps PyTorch's align_corners=False resize, which earlier versions used: it orders about 1.5% of
random pairs differently, so its figures are not comparable with published ones. For a depth-like
output a pair is right iff ``(z_A - z_B) * r > 0`` with r = +1 for '>' (A farther); a disparity-like
output flips the sign. Ties count as wrong. '=' pairs (not in DIW) are right iff the values tie
within ``equal_tolerance`` (relative).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from ..data.diw import PointPair
from ..data.images import resize_map

DEFAULT_RESIZE = "torch7"


@dataclass
class WHDRCount:
    wrong: int = 0
    total: int = 0

    @property
    def whdr(self) -> float:
        return self.wrong / self.total if self.total else float("nan")

    def add(self, other: "WHDRCount") -> None:
        self.wrong += other.wrong
        self.total += other.total


def pair_outcomes(
    depth: np.ndarray, pairs: Iterable[PointPair], disparity: bool = False, equal_tolerance: float = 0.02
) -> list[bool]:
    """Right (True) or wrong for each pair, on a map already at the annotation's image size."""
    sign = -1.0 if disparity else 1.0
    outcomes = []
    for p in pairs:
        za, zb = float(depth[p.ya, p.xa]), float(depth[p.yb, p.xb])
        if p.relation == 0:
            outcomes.append(abs(za - zb) <= equal_tolerance * max(abs(za), abs(zb), 1e-12))
        else:
            outcomes.append((za - zb) * p.relation * sign > 0)
    return outcomes


def pair_errors(
    depth: np.ndarray, pairs: Iterable[PointPair], disparity: bool = False, equal_tolerance: float = 0.02
) -> WHDRCount:
    """Count wrong pairs on a map already at the annotation's image size."""
    outcomes = pair_outcomes(depth, pairs, disparity, equal_tolerance)
    return WHDRCount(wrong=outcomes.count(False), total=len(outcomes))


def whdr_for_image(
    prediction: np.ndarray,
    width: int,
    height: int,
    pairs: Iterable[PointPair],
    disparity: bool = False,
    resize: str = DEFAULT_RESIZE,
) -> WHDRCount:
    """Resize the network's map back to ``height x width`` and score the pairs."""
    return pair_errors(resize_map(prediction, height, width, resize), pairs, disparity=disparity)


@dataclass
class OrderingCount:
    """Pairs a candidate map orders against a reference: ``wrong`` (opposite order) and ``ties``
    (equal values where the reference differs visibly), out of ``total`` visibly different pairs."""

    wrong: int = 0
    ties: int = 0
    total: int = 0

    @property
    def wrong_rate(self) -> float:
        return self.wrong / self.total if self.total else float("nan")

    @property
    def tie_rate(self) -> float:
        return self.ties / self.total if self.total else float("nan")

    def add(self, other: "OrderingCount") -> None:
        self.wrong += other.wrong
        self.ties += other.ties
        self.total += other.total


def ordering_disagreement(
    reference: np.ndarray, candidate: np.ndarray, n_pairs: int = 2000, seed: int = 0, visible: float = 0.05
) -> OrderingCount:
    """How often ``candidate`` orders random pixel pairs differently from ``reference``.

    Only pairs whose reference values differ by at least ``visible`` x the reference's 5-95 percentile
    spread count (like DIW pairs, which only label visibly different depths): a quantised file
    cannot order pairs closer than its step, and counting those measured the step, not ordering errors.
    Ties in the candidate are counted separately from opposite orders.
    """
    rng = np.random.default_rng(seed)
    ref = reference.ravel().astype(np.float64)
    cand = candidate.ravel().astype(np.float64)
    a = rng.integers(ref.size, size=n_pairs)
    b = rng.integers(ref.size, size=n_pairs)
    lo, hi = np.percentile(ref, [5, 95])
    dr = ref[a] - ref[b]
    keep = np.abs(dr) >= max(visible * (hi - lo), np.finfo(np.float32).tiny)
    dc = cand[a[keep]] - cand[b[keep]]
    ties = int(np.sum(dc == 0))
    wrong = int(np.sum(np.sign(dc) == -np.sign(dr[keep])))
    return OrderingCount(wrong=wrong, ties=ties, total=int(keep.sum()))
