"""The report's picture: our files on their own axes, the paper's points apart.

Panels: (1) latency vs WHDR, one Pareto front per device (host and each phone are different
machines: one front across them would compare nothing), error bars from p10 to p90, and files whose
GPU/NNAPI delegate was not applied marked with a red cross (their times are CPU times); (2) file
size vs WHDR (precisions of one network share a parameter count but not a size); (3) with
``paper=True``, the paper's Table 7 and Galaxy S21 Table 8 in a panel of their own, so their range
does not squash ours. Rows without WHDR or latency are listed under the plot, never dropped silently.
Labels are placed by :func:`..visual.labels.place_labels` and never overlap.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..fileio import atomic_path
from ..visual.labels import freeze_layout, place_labels
from .paper import TABLE7, TABLE8_S21
from .table import ReportRow

DEVICE_COLORS = ("tab:blue", "tab:green", "tab:purple", "tab:brown", "tab:olive", "tab:cyan")


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of points not dominated in (latency, WHDR), both lower-is-better, sorted by latency."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1]))
    front, best = [], float("inf")
    for i in order:
        if points[i][1] < best:
            front.append(i)
            best = points[i][1]
    return front


@dataclass
class ReportFigure:
    """The figure and what a test needs to check it: label artists per panel and the footnote."""

    figure: object
    labels: dict[str, list] = field(default_factory=dict)
    footnote: str = ""


def row_label(r: ReportRow, with_model: bool = True) -> str:
    """'int8 tflite' (the file kind), prefixed by the model's name when several models are shown."""
    kind = f"{r.precision} {r.format}".strip()
    return f"{r.model} {kind}" if with_model else kind


def _several_models(rows: list[ReportRow]) -> bool:
    return len({r.model for r in rows}) > 1


def _latency_panel(ax, rows: list[ReportRow]) -> tuple[list, list[str], list[str]]:
    timed = [r for r in rows if r.median_ms is not None and r.whdr is not None]
    devices = list(dict.fromkeys(r.device for r in timed))
    points, texts, colors = [], [], []
    for d, device in enumerate(devices):
        color = DEVICE_COLORS[d % len(DEVICE_COLORS)]
        mine = [r for r in timed if r.device == device]
        for r in mine:
            err = None
            if r.low_ms is not None and r.high_ms is not None:
                err = [[max(r.median_ms - r.low_ms, 0.0)], [max(r.high_ms - r.median_ms, 0.0)]]
            ax.errorbar(r.median_ms, r.whdr, xerr=err, fmt="o", color=color, ms=5, capsize=2, lw=0.8, zorder=3)
            if not r.delegate_applied:
                ax.scatter(r.median_ms, r.whdr, marker="x", c="red", s=70, zorder=5)
        pts = [(r.median_ms, r.whdr) for r in mine]
        front = pareto_front(pts)
        ax.plot(
            [pts[i][0] for i in front],
            [pts[i][1] for i in front],
            "--",
            color=color,
            lw=1,
            zorder=2,
            label=f"{device}: Pareto front ({len(mine)} files)",
        )
        points += pts
        texts += [
            row_label(r, _several_models(rows))
            + (f" {r.delegate}" if r.delegate in ("gpu", "nnapi") else "")
            + ("" if r.delegate_applied else " (ran on CPU)")
            for r in mine
        ]
        colors += [color] * len(mine)
    if any(not r.delegate_applied for r in timed):
        ax.scatter([], [], marker="x", c="red", label="delegate NOT applied: CPU timings")
    _pad(ax, points)
    reach = [r.high_ms for r in timed if r.high_ms is not None]
    if reach:  # the p90 bars end inside the panel: a slow file's bar was cut at the edge
        lo, hi = ax.get_xlim()
        ax.set_xlim(lo, max(hi, max(reach) * 1.03))
    ax.set_xlabel("median latency (ms); bars: p10-p90")
    ax.set_ylabel("WHDR (lower is better)")
    models = sorted({r.model for r in timed})
    ax.set_title("Latency vs WHDR (ours" + ("" if len(models) != 1 else f": {models[0]}") + ")")
    ax.grid(alpha=0.3)
    if points:
        ax.legend(fontsize=7, loc="best")
    return points, texts, colors


def _size_panel(ax, rows: list[ReportRow]) -> tuple[list, list[str], list[str]]:
    seen: dict[str, ReportRow] = {}
    for r in rows:
        if r.size_mb and r.whdr is not None:
            seen.setdefault(r.sha256 or row_label(r), r)
    points = [(r.size_mb, r.whdr) for r in seen.values()]
    for x, y in points:
        ax.scatter(x, y, s=40, marker="P", c="tab:red", zorder=3)
    _pad(ax, points)
    ax.set_xlabel("file size (MB)")
    ax.set_ylabel("WHDR (lower is better)")
    ax.set_title("File size vs WHDR (ours, one point per file)")
    ax.grid(alpha=0.3)
    return points, [row_label(r, _several_models(rows)) for r in seen.values()], ["0.1"] * len(points)


def _paper_panel(ax) -> tuple[list, list[str], list[str]]:
    points = [(params, whdr) for _, whdr, params in TABLE7]
    ax.scatter(
        [p[0] for p in points],
        [p[1] for p in points],
        c=["tab:red" if lab.startswith("paper") else "0.5" for lab, _, _ in TABLE7],
        s=22,
    )
    ax.set_xscale("log")
    ax.set_xlabel("parameters (M, log)")
    ax.set_ylabel("DIW test WHDR")
    s21 = "\n".join(f"{lab}: CPU {t['cpu']} / GPU {t['gpu']} / NNAPI {t['nnapi']} ms" for lab, _, t in TABLE8_S21)
    ax.set_title("The paper's points (not ours): Table 7, DIW test WHDR", fontsize=9)
    ax.text(
        0.99,
        0.99,
        "Galaxy S21, 256x256 (Table 8):\n" + s21,
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=6,
        color="0.3",
        bbox={"facecolor": "white", "edgecolor": "0.8"},
    )
    ax.set_ylim(0.09, 0.30)  # room above the points for the Table 8 box
    ax.set_xlim(0.5, 600)
    ax.grid(alpha=0.3, which="both")
    return points, [lab for lab, _, _ in TABLE7], ["0.25"] * len(points)


def _pad(ax, points: list[tuple[float, float]]) -> None:
    """Room around our points for the labels: 25% of the span (or of the value when all coincide)."""
    if not points:
        return
    for axis, values in (("x", [p[0] for p in points]), ("y", [p[1] for p in points])):
        lo, hi = min(values), max(values)
        pad = (hi - lo) * 0.25 or abs(hi) * 0.1 or 1.0
        (ax.set_xlim if axis == "x" else ax.set_ylim)(lo - pad, hi + pad)


def footnote(rows: list[ReportRow]) -> str:
    no_whdr = sorted({f"{row_label(r)} ({r.device})" for r in rows if r.whdr is None})
    no_time = sorted({row_label(r) for r in rows if r.median_ms is None})
    parts = []
    if no_whdr:
        parts.append("not plotted, no WHDR: " + ", ".join(no_whdr))
    if no_time:
        parts.append("no latency (size panel only): " + ", ".join(no_time))
    return "; ".join(parts)


def build_report_figure(rows: list[ReportRow], paper: bool = True) -> ReportFigure:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = 3 if paper else 2
    fig, axes = plt.subplots(1, n, figsize=(6.2 * n, 5.4), layout="constrained")
    result = ReportFigure(fig)
    note = footnote(rows)
    result.footnote = note
    fig.get_layout_engine().set(rect=(0, 0.05 if note else 0, 1, 0.95 if note else 1))
    if note:
        fig.text(0.01, 0.01, note, fontsize=7, color="0.3", wrap=True)
    panels = {"latency": (axes[0], _latency_panel(axes[0], rows)), "size": (axes[1], _size_panel(axes[1], rows))}
    if paper:
        panels["paper"] = (axes[2], _paper_panel(axes[2]))
    freeze_layout(fig)
    for name, (ax, (points, texts, colors)) in panels.items():
        avoid = [a for a in (ax.get_legend(), *ax.texts) if a is not None]
        result.labels[name] = place_labels(
            ax, points, texts, fontsize=6 if name == "paper" else 7, colors=colors, avoid=avoid
        )
    return result


def plot_report(rows: list[ReportRow], path: str | os.PathLike, paper: bool = True) -> Path:
    import matplotlib.pyplot as plt

    result = build_report_figure(rows, paper)
    path = Path(path)
    with atomic_path(path) as tmp:
        result.figure.savefig(tmp, dpi=110, format=path.suffix.lstrip(".") or "png")
    plt.close(result.figure)
    return path
