"""Depth maps of several models side by side, with the damage each file does made visible.

One picture per input image: the photograph, each model's colourised depth (shared colour range, so
a colour means the same depth in every panel), and under each non-reference model the absolute
difference from the first model after affine alignment, as a percentage of the reference's range.
This is where quantisation damage shows: an int8 file that loses WHDR loses it somewhere visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.images import resize_map
from ..fileio import atomic_path
from ..records.prediction import MapDifference
from .colormap import COLORMAP, DepthRange, align_to

DIFF_COLORMAP = "viridis"
MAX_SIDE = 512  # photographs are shown at most this large; the maps are resized to them


@dataclass(frozen=True)
class Panel:
    """One model's map of one image, already at display size."""

    label: str
    depth: np.ndarray
    ms: float


def display_size(hw: tuple[int, int]) -> tuple[int, int]:
    scale = min(1.0, MAX_SIDE / max(hw))
    return max(1, round(hw[0] * scale)), max(1, round(hw[1] * scale))


def to_display(depth: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    return resize_map(depth.astype(np.float32), hw[0], hw[1], method="bilinear")


def differences(image: str, panels: list[Panel]) -> tuple[list[np.ndarray], list[MapDifference]]:
    """Aligned absolute differences of every panel after the first, in percent of the first's range."""
    ref = panels[0]
    span = DepthRange.robust(ref.depth)
    width = span.high - span.low
    maps, rows = [], []
    for p in panels[1:]:
        diff = np.abs(align_to(p.depth, ref.depth) - ref.depth) / width * 100.0
        maps.append(diff)
        rows.append(MapDifference(image, p.label, ref.label, float(diff.mean()), float(np.percentile(diff, 95))))
    return maps, rows


def draw_grid(photo: np.ndarray, panels: list[Panel], title: str, path: Path) -> list[MapDifference]:
    """Write the grid picture for one image; return the difference figures it shows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    diffs, rows = differences(title, panels) if len(panels) > 1 else ([], [])
    n_rows, n_cols = (2 if diffs else 1), len(panels) + 1
    aspect = photo.shape[0] / photo.shape[1]
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(2.6 * n_cols + 0.8, 2.6 * aspect * n_rows + 0.7), squeeze=False, layout="constrained"
    )
    for ax in axes.ravel():
        ax.set_axis_off()
    axes[0, 0].imshow(photo)
    axes[0, 0].set_title(title, fontsize=8)
    span = DepthRange.robust(panels[0].depth)
    for col, p in enumerate(panels, start=1):
        shown = align_to(p.depth, panels[0].depth) if col > 1 else p.depth
        im = axes[0, col].imshow(shown, cmap=COLORMAP, vmin=span.low, vmax=span.high)
        axes[0, col].set_title(f"{p.label}\n{p.ms:.1f} ms", fontsize=8)
    fig.colorbar(im, ax=list(axes[0, 1:]), fraction=0.03, label="depth (bright = far)")
    if diffs:
        top = max(float(np.percentile(d, 99)) for d in diffs) or 1.0
        axes[1, 0].text(
            0.5,
            0.5,
            f"|model - {panels[0].label}|\nafter scale + shift\nalignment, % of its range",
            ha="center",
            va="center",
            fontsize=8,
            transform=axes[1, 0].transAxes,
        )
        for col, (d, row) in enumerate(zip(diffs, rows), start=2):
            dim = axes[1, col].imshow(d, cmap=DIFF_COLORMAP, vmin=0.0, vmax=top)
            axes[1, col].set_title(f"mean {row.mean_abs_percent:.2f}%  p95 {row.p95_abs_percent:.2f}%", fontsize=8)
        fig.colorbar(dim, ax=list(axes[1, 1:]), fraction=0.03, label="|diff| (% of range)")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return rows
