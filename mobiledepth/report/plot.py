"""Two panels: latency vs WHDR (Pareto front marked) and parameters vs WHDR (the paper's Fig. 1 style)."""

from __future__ import annotations

import os
from pathlib import Path

from ..fileio import atomic_path
from .paper import TABLE7, TABLE8_S21
from .table import ReportRow


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of points not dominated in (latency, WHDR), both lower-is-better, sorted by latency."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1]))
    front, best = [], float("inf")
    for i in order:
        if points[i][1] < best:
            front.append(i)
            best = points[i][1]
    return front


def plot_report(rows: list[ReportRow], path: str | os.PathLike) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_lat, ax_par) = plt.subplots(1, 2, figsize=(13, 5.2))
    timed = [r for r in rows if r.median_ms is not None and r.whdr is not None]
    pts = [(r.median_ms, r.whdr) for r in timed]
    for r in timed:
        ax_lat.scatter(r.median_ms, r.whdr, s=40, zorder=3)
        ax_lat.annotate(f"{r.model} {r.precision} {r.device}/{r.delegate}", (r.median_ms, r.whdr), fontsize=6, xytext=(4, 3), textcoords="offset points")
    front = pareto_front(pts)
    if front:
        ax_lat.plot([pts[i][0] for i in front], [pts[i][1] for i in front], "k--", lw=1, label="Pareto front (ours)", zorder=2)
        ax_lat.scatter([pts[i][0] for i in front], [pts[i][1] for i in front], s=120, facecolors="none", edgecolors="k", zorder=4)
    for delegate, marker in (("cpu", "s"), ("gpu", "^"), ("nnapi", "D")):
        ax_lat.scatter([p[2][delegate] for p in TABLE8_S21], [p[1] for p in TABLE8_S21], marker=marker, c="0.6", s=25,
                       label=f"paper, Galaxy S21 {delegate.upper()} (256x256)")
    ax_lat.set_xlabel("median latency (ms)")
    ax_lat.set_ylabel("WHDR (lower is better)")
    ax_lat.set_title("Latency vs WHDR")
    ax_lat.legend(fontsize=7)
    ax_lat.grid(alpha=0.3)

    for label, whdr, params in TABLE7:
        ours = label.startswith("paper")
        ax_par.scatter(params, whdr, c="tab:red" if ours else "0.6", s=30, marker="*" if ours else "o")
        ax_par.annotate(label, (params, whdr), fontsize=6, xytext=(3, 2), textcoords="offset points", color="0.35")
    seen = set()
    for r in rows:
        if r.params and r.whdr is not None and (r.model, r.precision) not in seen:
            seen.add((r.model, r.precision))
            ax_par.scatter(r.params / 1e6, r.whdr, s=50, marker="P", zorder=3)
            ax_par.annotate(f"{r.model} {r.precision}", (r.params / 1e6, r.whdr), fontsize=7, xytext=(4, -8), textcoords="offset points")
    ax_par.set_xscale("log")
    ax_par.set_xlabel("parameters (M, log scale)")
    ax_par.set_ylabel("WHDR (lower is better)")
    ax_par.set_title("Parameters vs WHDR (grey/red stars: paper's Table 7, on DIW)")
    fig.text(0.5, 0.01, "Paper points are DIW test WHDR and Galaxy S21 latencies; ours are whatever data and device the records name "
             "(e.g. synthetic scenes, host CPU): compare shapes, not absolute values.", ha="center", fontsize=7, color="0.3")
    ax_par.grid(alpha=0.3, which="both")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path
