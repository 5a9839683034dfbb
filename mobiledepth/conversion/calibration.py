"""Images for int8 calibration and parity, at the export size.

The converter sets the int8 input's scale from the smallest and largest calibration pixel. Rendered
or dark images rarely reach exactly 0 and 1, so the input grid came out as e.g. 0.94/255 per step and
clipped every brighter pixel of a real photograph. One black and one white pixel in the first
calibration image pin the input range to exactly [0, 1] (scale 1/255); two pixels barely move any
other tensor's range.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.images import load_rgb, resize_rgb


def load_images(paths: list[Path], height: int, width: int) -> np.ndarray:
    """N x H x W x 3 float32 RGB in [0, 1]."""
    return np.stack([resize_rgb(load_rgb(p), height, width) for p in paths]).astype(np.float32)


def calibration_images(paths: list[Path], height: int, width: int) -> np.ndarray:
    """:func:`load_images` with the first image's two top-left pixels set to black and white."""
    images = load_images(paths, height, width)
    images[0, 0, 0, :] = 0.0
    images[0, 0, 1, :] = 1.0
    return images
