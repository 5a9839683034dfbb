"""Depth maps as colour images with one fixed, perceptually uniform colormap.

Relative depth has no unit and no fixed offset, so each map is shown over its own robust range
(2nd to 98th percentile) unless a shared range is given: maps compared side by side share the
reference's range after :func:`align_to`, so a colour means the same depth in every panel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# perceptually uniform, readable in greyscale print; bright = larger output = farther (our maps are depth-like)
COLORMAP = "magma"


@dataclass(frozen=True)
class DepthRange:
    low: float
    high: float

    @classmethod
    def robust(cls, depth: np.ndarray, percent: float = 2.0) -> "DepthRange":
        low, high = np.percentile(depth, [percent, 100.0 - percent])
        return cls(float(low), float(high) if high > low else float(low) + 1e-6)


def colorize(depth: np.ndarray, span: DepthRange | None = None, cmap: str = COLORMAP) -> np.ndarray:
    """H x W map -> H x W x 3 uint8 RGB through ``cmap`` over ``span`` (robust range by default)."""
    from matplotlib import colormaps

    span = span or DepthRange.robust(depth)
    unit = np.clip((depth - span.low) / (span.high - span.low), 0.0, 1.0)
    return (colormaps[cmap](unit)[..., :3] * 255.0 + 0.5).astype(np.uint8)


def align_to(depth: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``depth`` mapped by the least-squares scale and shift onto ``reference``.

    Two files of one network agree up to quantisation; two different networks only up to an affine
    map (relative depth). Aligning first makes the difference panel show ordering damage, not units.
    """
    a = np.stack([depth.ravel(), np.ones(depth.size)], axis=1).astype(np.float64)
    (scale, shift), *_ = np.linalg.lstsq(a, reference.ravel().astype(np.float64), rcond=None)
    return (depth * scale + shift).astype(np.float32)
