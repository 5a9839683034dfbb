"""Accuracy metrics: WHDR on point pairs, RMSE/delta1/SI-RMSE on dense depth."""

from .dense import DenseMetrics, dense_metrics
from .whdr import OrderingCount, WHDRCount, ordering_disagreement, pair_errors, whdr_for_image

__all__ = [
    "DenseMetrics",
    "OrderingCount",
    "WHDRCount",
    "dense_metrics",
    "ordering_disagreement",
    "pair_errors",
    "whdr_for_image",
]
