"""Dense-depth metrics for a RELATIVE-depth model: align first, then RMSE, delta1 and SI-RMSE.

A relative model's output has no scale or offset, so RMSE and delta1 are computed after a
least-squares scale-and-shift fit of the prediction to the ground truth (the usual protocol for
relative depth, e.g. MiDaS). SI-RMSE (Eigen et al.) is the scale-invariant log error of the aligned,
positive-clamped prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class DenseMetrics:
    rmse: float
    delta1: float
    si_rmse: float


def align_scale_shift(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """argmin_{s,t} ||s*pred + t - gt||^2 over ``mask``, applied to the whole map."""
    p, g = pred[mask].astype(np.float64), gt[mask].astype(np.float64)
    A = np.stack([p, np.ones_like(p)], axis=1)
    (s, t), *_ = np.linalg.lstsq(A, g, rcond=None)
    return (s * pred + t).astype(np.float64)


def dense_metrics(pred: np.ndarray, gt: np.ndarray, disparity: bool = False) -> DenseMetrics:
    """``pred`` and ``gt`` at the same size; ``gt`` in depth units, > 0 where valid."""
    mask = np.isfinite(gt) & (gt > 0)
    if disparity:
        gt_fit = np.zeros_like(gt, dtype=np.float64)
        gt_fit[mask] = 1.0 / gt[mask]
        aligned = 1.0 / np.maximum(align_scale_shift(pred, gt_fit, mask), 1e-6)
    else:
        aligned = align_scale_shift(pred, gt, mask)
    eps = 1e-3 * float(np.median(gt[mask]))
    a = np.maximum(aligned[mask], eps)
    g = gt[mask].astype(np.float64)
    rmse = float(np.sqrt(np.mean((a - g) ** 2)))
    delta1 = float(np.mean(np.maximum(a / g, g / a) < 1.25))
    d = np.log(a) - np.log(g)
    si_rmse = float(np.sqrt(max(np.mean(d**2) - np.mean(d) ** 2, 0.0)))
    return DenseMetrics(rmse=rmse, delta1=delta1, si_rmse=si_rmse)
