"""The real-photo check as a picture: the Motorcycle photograph, its ground-truth depth, the rule "higher in
the image is farther", and each model's map, every panel titled with its WHDR on the same 600 pairs.

Why: ``eval --real`` says how often a model orders the pairs right; the picture says what kind of wrong
it is (texture edges instead of surfaces, a floor read as far), which is what a person changing the
training recipe needs to see. It is drawn from records already measured, so the figures in the titles are
the ones in the evaluation table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.images import load_rgb, resize_rgb
from ..fileio import atomic_path
from ..records.evaluation import EvalRecord
from ..runtime.predictors import load_predictor
from .colormap import COLORMAP, DepthRange
from .grid import display_size, to_display


def _ground_truth_depth(shape: tuple[int, int]) -> np.ndarray:
    """Depth-like ground truth (1 / disparity; bright = far) at display size, NaN (blank) where the scene
    has no disparity."""
    from ..data.photos import photo_folder
    from ..data.real import MOTORCYCLE, _disparity

    disp = _disparity(photo_folder() / MOTORCYCLE[1])
    valid = np.isfinite(disp) & (disp > 0)
    depth = np.full(disp.shape, np.nan, dtype=np.float32)
    depth[valid] = 1.0 / disp[valid]
    shown = to_display(np.where(valid, depth, np.nanmax(depth)), shape)
    return np.where(to_display(valid.astype(np.float32), shape) > 0.5, shown, np.nan)


def _model_map(model: Path, photo: np.ndarray, record: EvalRecord, shape: tuple[int, int]) -> np.ndarray:
    predictor = load_predictor(model, record.input_hw, record.preprocess, output=None)
    h, w = record.input_hw
    return to_display(np.asarray(predictor.predict(resize_rgb(photo, h, w)), dtype=np.float32).squeeze(), shape)


def draw_real_check(models: list[Path], records: list[EvalRecord], path: Path) -> Path:
    """One row of panels: photograph, ground truth, prior, then each model (``records`` from
    :func:`..evaluation.evaluate_real`, one per model, in the same order)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..data.real import NAME, PRIOR_NAME, motorcycle_pairs, prior_map

    if len(models) != len(records) or not all(r.dataset.real and r.prior for r in records):
        raise ValueError("draw_real_check needs one real-photo record (eval --real) per model")
    entry = motorcycle_pairs().entry
    photo = load_rgb(entry.path)
    shape = display_size(photo.shape[:2])
    panels = [("ground truth (1 / disparity)", _ground_truth_depth(shape))]
    panels.append((f"{PRIOR_NAME}\nWHDR {records[0].prior.whdr:.3f}", prior_map(*shape)))
    for model, record in zip(models, records):
        panels.append((f"{model.name}\nWHDR {record.whdr:.3f}", _model_map(model, photo, record, shape)))
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(2.9 * (len(panels) + 1), 2.9 * shape[0] / shape[1] + 0.5),
                             layout="constrained")  # fmt: skip
    for ax in axes:
        ax.set_axis_off()
    axes[0].imshow(resize_rgb(photo, *shape))
    axes[0].set_title(f"{NAME.split(' (')[0]}\n{len(entry.pairs)} pairs; chance 0.5", fontsize=8)
    for ax, (title, depth) in zip(axes[1:], panels):
        span = DepthRange.robust(depth[np.isfinite(depth)])
        ax.imshow(depth, cmap=COLORMAP, vmin=span.low, vmax=span.high)
        ax.set_title(title, fontsize=8)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path
