"""A rendered scene: the image and its exact depth, what every procedural generator returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Scene:
    image: np.ndarray  # H x W x 3 float32 in [0, 1]
    depth: np.ndarray  # H x W float32, camera-frame z
