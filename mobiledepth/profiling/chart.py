"""The per-layer bar chart: the slowest layers, each bar labelled with its module and op, and the
cumulative share on a second axis, so "the top 10 layers are 60% of the time" reads at a glance."""

from __future__ import annotations

from pathlib import Path

from ..fileio import atomic_path
from ..records.profiling import LayerProfile

TOP = 25


def layer_label(name: str, module: str, op: str) -> str:
    text = f"{module or name} ({op})"
    return text if len(text) <= 60 else "..." + text[-57:]


def plot_profile(profile: LayerProfile, path: Path, top: int = TOP) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = profile.ranked()[:top]
    fig, ax = plt.subplots(figsize=(10, 0.28 * len(rows) + 1.6), layout="constrained")
    y = list(range(len(rows)))[::-1]
    ax.barh(y, [r.ms for r in rows], color="tab:blue")
    ax.set_yticks(y, [layer_label(r.name, r.module, r.op) for r in rows], fontsize=7)
    ax.set_xlabel("median ms per run")
    cum = ax.twiny()
    cum.plot([100 * r.cumulative for r in rows], y, color="tab:orange", marker=".", lw=1)
    cum.set_xlim(0, 100)
    cum.set_xlabel("cumulative share of the layers' time (%)", color="tab:orange")
    ax.set_title(
        f"{profile.model} on {profile.device} ({profile.runtime}): top {len(rows)} of {len(profile.layers)} layers\n"
        f"layers sum {profile.layer_sum_ms:.2f} ms = {100 * profile.coverage:.0f}% of the {profile.end_to_end_ms:.2f} "
        "ms "
        "end-to-end median",
        fontsize=8,
    )
    ax.grid(axis="x", alpha=0.3)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path
