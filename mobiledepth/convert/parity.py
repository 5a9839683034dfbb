"""Parity of a converted file against the source model on held-out images: does it still compute the same map?"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..metrics.whdr import OrderingCount, ordering_disagreement
from ..runtime.predictors import Predictor

PAIRS_PER_IMAGE = 2000


@dataclass
class Parity:
    max_abs: float  # max |file - source| over all pixels of all images
    max_abs_rel: float  # max_abs / max |source|
    rel_l2: float  # ||file - source|| / ||source|| over all images
    whdr_vs_torch: float  # share of visibly different random pixel pairs the file orders the other way
    ties_vs_torch: float  # share of those pairs the file cannot tell apart (equal values: quantisation steps)
    n_images: int
    n_pairs: int  # visibly different pairs compared


def compare(
    reference: list[np.ndarray], predictor: Predictor, images: list[np.ndarray], pairs_per_image: int = PAIRS_PER_IMAGE
) -> Parity:
    """``reference[i]`` is the source model's map for ``images[i]`` (already at the predictor's input size)."""
    err_sq = ref_sq = 0.0
    max_abs = max_ref = 0.0
    order = OrderingCount()
    for i, (ref, image) in enumerate(zip(reference, images)):
        out = predictor.predict(image)
        diff = out.astype(np.float64) - ref.astype(np.float64)
        err_sq += float(np.sum(diff**2))
        ref_sq += float(np.sum(ref.astype(np.float64) ** 2))
        max_abs = max(max_abs, float(np.max(np.abs(diff))))
        max_ref = max(max_ref, float(np.max(np.abs(ref))))
        order.add(ordering_disagreement(ref, out, pairs_per_image, seed=i))
    return Parity(
        max_abs=max_abs,
        max_abs_rel=max_abs / max_ref if max_ref else float("inf"),
        rel_l2=float(np.sqrt(err_sq / ref_sq)) if ref_sq else float("inf"),
        whdr_vs_torch=order.wrong_rate,
        ties_vs_torch=order.tie_rate,
        n_images=len(images),
        n_pairs=order.total,
    )
