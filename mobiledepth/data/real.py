"""A real photograph with real depth, to check a model on: Middlebury 2014 "Motorcycle", from scikit-image.

Why: our demo model learns from procedural scenes only; WHDR on held-out renders says nothing about
real photographs (a checkpoint scored 0.497 there, chance, while its synthetic WHDR looked fine). The
Middlebury 2014 scene ships inside scikit-image's wheel (``skimage/data/motorcycle_left.png`` and its
ground-truth disparity ``motorcycle_disp.npz``): a local file once installed, never a download. It is
evaluation material only: nothing here trains on it.

Pairs are drawn as DIW pairs are scored: two valid pixels whose disparities differ by at least 15%
(unambiguous order; disparity grows with nearness, so the smaller one is farther), a fixed seed, 600
pairs. Beside a model's WHDR the same pairs are scored for the trivial rule "higher in the image is
farther", the floor a model that sees depth must beat.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MobileDepthError
from .diw import DIWImage, PointPair
from .photos import photo_folder

MOTORCYCLE = ("motorcycle_left.png", "motorcycle_disp.npz")
PAIRS = 600
MIN_RATIO = 1.15  # disparities at least 15% apart: the order is unambiguous at the ground truth's precision
SEED = 2014
NAME = "Middlebury 2014 Motorcycle (scikit-image's data)"
PRIOR_NAME = "higher in the image is farther"


@dataclass(frozen=True)
class RealPairs:
    entry: DIWImage  # the photograph and its pairs, scored like a DIW image
    name: str = NAME


def _disparity(path: Path) -> np.ndarray:
    with np.load(path) as archive:
        return np.asarray(archive[archive.files[0]], dtype=np.float32)


def motorcycle_pairs(pairs: int = PAIRS, seed: int = SEED) -> RealPairs:
    """The scene's left view and ``pairs`` ordered point pairs from its ground-truth disparity."""
    folder = photo_folder()
    image, disp_file = (folder / name for name in MOTORCYCLE)
    if not image.is_file() or not disp_file.is_file():
        raise MobileDepthError(f"{folder}: scikit-image's data folder lacks {' and '.join(MOTORCYCLE)}")
    disp = _disparity(disp_file)
    ys, xs = np.nonzero(np.isfinite(disp) & (disp > 0))
    rng = np.random.default_rng(seed)
    chosen: list[PointPair] = []
    while len(chosen) < pairs:
        a, b = rng.integers(len(ys), size=2)
        da, db = float(disp[ys[a], xs[a]]), float(disp[ys[b], xs[b]])
        if max(da, db) / min(da, db) < MIN_RATIO:
            continue
        relation = 1 if da < db else -1  # A farther (smaller disparity): '>' in DIW's depth convention
        chosen.append(PointPair(int(ys[a]), int(xs[a]), int(ys[b]), int(xs[b]), relation, 0))
    h, w = disp.shape
    return RealPairs(DIWImage(image, w, h, tuple(chosen)))


def prior_map(height: int, width: int) -> np.ndarray:
    """'Higher in the image is farther' as a depth map: every row farther than the rows below it."""
    return np.repeat(np.arange(height, 0, -1, dtype=np.float32)[:, None], width, axis=1)
