"""WHDR (Weighted Human Disagreement Rate) by the standard DIW protocol.

The prediction is resized back to the ORIGINAL image size (bilinear, align_corners=False) and read at
the 0-based pair coordinates. For a depth-like output a pair is right iff ``(z_A - z_B) * r > 0`` with
r = +1 for '>' (A farther); a disparity-like output flips the sign. Ties count as wrong. '=' pairs
(not in DIW) are right iff the values tie within ``equal_tolerance`` (relative).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from ..data.diw import PointPair
from ..data.images import resize_map


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


def pair_errors(depth: np.ndarray, pairs: Iterable[PointPair], disparity: bool = False, equal_tolerance: float = 0.02) -> WHDRCount:
    """Count wrong pairs on a map already at the annotation's image size."""
    sign = -1.0 if disparity else 1.0
    count = WHDRCount()
    for p in pairs:
        za, zb = float(depth[p.ya, p.xa]), float(depth[p.yb, p.xb])
        if p.relation == 0:
            right = abs(za - zb) <= equal_tolerance * max(abs(za), abs(zb), 1e-12)
        else:
            right = (za - zb) * p.relation * sign > 0
        count.wrong += int(not right)
        count.total += 1
    return count


def whdr_for_image(prediction: np.ndarray, width: int, height: int, pairs: Iterable[PointPair], disparity: bool = False) -> WHDRCount:
    """Resize the network's map back to ``height x width`` and score the pairs."""
    return pair_errors(resize_map(prediction, height, width), pairs, disparity=disparity)


def ordering_disagreement(reference: np.ndarray, candidate: np.ndarray, n_pairs: int = 2000, seed: int = 0) -> WHDRCount:
    """WHDR of ``candidate`` against ``reference``'s own ordering on random pixel pairs.

    Used as a parity figure for converted files: how often a quantised file orders two points
    differently from PyTorch. Pairs that tie exactly in the reference are skipped.
    """
    rng = np.random.default_rng(seed)
    ref = reference.ravel()
    cand = candidate.ravel()
    a = rng.integers(ref.size, size=n_pairs)
    b = rng.integers(ref.size, size=n_pairs)
    dr = ref[a] - ref[b]
    keep = dr != 0
    dc = cand[a[keep]] - cand[b[keep]]
    wrong = int(np.sum(np.sign(dc) != np.sign(dr[keep])))
    return WHDRCount(wrong=wrong, total=int(keep.sum()))
