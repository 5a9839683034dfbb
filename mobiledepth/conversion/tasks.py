"""What a model's output is, and so how a converted file is judged: the task metrics and the int8 gate.

A depth network is judged by WHDR on annotated point pairs (the DIW protocol; disparity flips the
order). A probability map or segmentation by the IoU of its mask with the source model's mask at a
threshold. Anything else by the SNR of its output against the source's (AI Edge Quantizer's measure). A
user's own metric ``metric(reference_map, candidate_map) -> float`` with its limit replaces any of them
(Python: ``ConvertOptions(metric=TaskMetric("f1", 0.9, True, my_f1))``). Per-image metrics are averaged
over the held-out images with a 95% bootstrap interval over images.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from ..metrics.bootstrap import bootstrap_interval
from ..records.conversion import GateResult, TaskScore

PerImage = Callable[[np.ndarray, np.ndarray], float]  # (reference map, candidate map) -> a score
SNR_CAP_DB = 200.0  # an exact file has no error power: its SNR is reported as this, never as infinity


@dataclass(frozen=True)
class TaskMetric:
    name: str
    limit: float  # the int8 gate: worst acceptable value (a drop for WHDR, a floor for the others)
    higher_is_better: bool
    per_image: PerImage | None = None  # None: WHDR on annotated DIW pairs (depth and disparity)
    disparity: bool = False  # WHDR only: the output grows with nearness
    describes: str = ""

    @property
    def needs_pairs(self) -> bool:
        return self.per_image is None

    def with_limit(self, limit: float) -> "TaskMetric":
        return replace(self, limit=limit)


def mask_iou(threshold: float) -> PerImage:
    """IoU of the two maps' masks (``value > threshold``); two empty masks agree fully (1.0)."""

    def iou(reference: np.ndarray, candidate: np.ndarray) -> float:
        a, b = reference > threshold, candidate > threshold
        union = int(np.count_nonzero(a | b))
        return 1.0 if union == 0 else int(np.count_nonzero(a & b)) / union

    iou.__name__ = f"mask_iou@{threshold:g}"
    return iou


def snr_db(reference: np.ndarray, candidate: np.ndarray) -> float:
    """10 log10(signal power / error power), capped at :data:`SNR_CAP_DB` (an exact or all-zero pair)."""
    ref = reference.astype(np.float64)
    noise = float(np.sum((candidate.astype(np.float64) - ref) ** 2))
    signal = float(np.sum(ref**2))
    if noise == 0.0:
        return SNR_CAP_DB
    if signal == 0.0:
        return -SNR_CAP_DB
    return float(min(SNR_CAP_DB, 10.0 * np.log10(signal / noise)))


TASKS: dict[str, TaskMetric] = {
    "depth": TaskMetric("whdr", 0.005, False, describes="WHDR drop on annotated point pairs (DIW)"),
    "disparity": TaskMetric("whdr", 0.005, False, disparity=True, describes="WHDR drop, larger = nearer"),
    "mask": TaskMetric("mask_iou", 0.9, True, mask_iou(0.5), describes="mean IoU of the masks at 0.5"),
    "generic": TaskMetric("snr_db", 20.0, True, snr_db, describes="mean SNR against the source's output (dB)"),
}


def task_metric(task: str, metric: TaskMetric | None, limit: float | None, threshold: float) -> TaskMetric:
    """The metric a conversion is judged by: the user's, else the task's (the mask at ``threshold``)."""
    chosen = metric or TASKS[task]
    if metric is None and task == "mask":
        chosen = replace(chosen, per_image=mask_iou(threshold), describes=f"mean IoU of the masks at {threshold:g}")
    return chosen if limit is None else chosen.with_limit(limit)


def per_image_score(task: str, metric: TaskMetric, output: str, values: list[float]) -> TaskScore:
    """A per-image metric's mean over the images, with its 95% bootstrap interval over images."""
    v = np.asarray(values, dtype=np.float64)
    low, high = bootstrap_interval(lambda picks: v[picks].mean(axis=1), len(v)) if len(v) > 1 else (v[0], v[0])
    return TaskScore(
        task=task,
        metric=metric.name,
        value=float(v.mean()),
        units=len(v),
        unit="images",
        higher_is_better=metric.higher_is_better,
        interval=(low, high),
        output=output,
    )


def judge(score: TaskScore | None, metric: TaskMetric, min_pairs: int, min_images: int, unverified: str) -> GateResult:
    """The int8 gate: passed, failed (by how much), or unverified (and what would check it)."""
    if score is None:
        return GateResult("unverified", metric.name, metric.limit, unverified)
    if score.unit == "pairs":
        if score.drop is None or score.units < min_pairs:
            return GateResult(
                "unverified",
                metric.name,
                metric.limit,
                f"only {score.units} held-out pairs (need {min_pairs}) to check a WHDR drop of {metric.limit}",
            )
        if score.drop > metric.limit:
            return GateResult(
                "failed",
                metric.name,
                metric.limit,
                f"int8 task WHDR {score.value:.4f} is {score.drop:+.4f} vs the source model on "
                f"{score.units} held-out pairs (limit {metric.limit})",
            )
        return GateResult("passed", metric.name, metric.limit)
    if score.units < min_images:
        return GateResult(
            "unverified",
            metric.name,
            metric.limit,
            f"only {score.units} held-out images (need {min_images}) to judge {metric.name}; give "
            "more with --parity-data DIR --n-parity N",
        )
    worse = score.value < metric.limit if metric.higher_is_better else score.value > metric.limit
    if worse:
        side = "below" if metric.higher_is_better else "above"
        return GateResult(
            "failed",
            metric.name,
            metric.limit,
            f"int8 {metric.name} {score.value:.4f} ({score.interval[0]:.4f} to {score.interval[1]:.4f}) "
            f"against the source on {score.units} images is {side} the limit {metric.limit:g}"
            f"{f' (output {score.output})' if score.output else ''}",
        )
    return GateResult("passed", metric.name, metric.limit)
