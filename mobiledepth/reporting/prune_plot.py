"""The pruning run's picture, from its ``history.json``: what NetAdapt did, step by step.

Panels: (1) the path base -> iterations -> final in latency-WHDR space with the target latency as a
vertical line; (2) predicted vs measured latency per iteration (how far the latency model was off,
the reason measurements decide); (3) parameters per iteration.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..fileio import atomic_path
from ..records.pruning import PruneHistory
from ..visual.labels import freeze_layout, place_labels


def path_points(history: PruneHistory) -> list[tuple[str, float, float]]:
    """(label, measured ms, WHDR) for base, every iteration and the final model (when finished)."""
    base = history.base
    points = [("base", base.measured_ms, base.whdr)]
    points += [(str(it.iteration), it.measured_ms, it.whdr) for it in history.iterations]
    if history.final:
        points.append(("final", history.final.measured_ms, history.final.whdr))
    return points


def build_prune_figure(history: PruneHistory):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_path, ax_pred, ax_par) = plt.subplots(1, 3, figsize=(17, 5.2), layout="constrained")
    points = path_points(history)
    target = history.target_ms
    ax_path.plot([p[1] for p in points], [p[2] for p in points], "-o", color="tab:blue", ms=4, lw=1)
    if target is not None:
        ax_path.axvline(target, color="tab:red", ls="--", lw=1, label=f"target {target:.3f} ms")
        ax_path.legend(fontsize=7)
    ax_path.set_xlabel("measured latency (ms)")
    ax_path.set_ylabel("validation WHDR (lower is better)")
    ax_path.set_title(f"NetAdapt path ({history.status})")
    ax_path.grid(alpha=0.3)

    its = history.iterations
    x = [it.iteration for it in its]
    ax_pred.plot(x, [it.predicted_ms for it in its], "s--", color="tab:orange", ms=4, label="predicted (latency model)")
    ax_pred.plot(x, [it.measured_ms for it in its], "o-", color="tab:blue", ms=4, label="measured")
    if target is not None:
        ax_pred.axhline(target, color="tab:red", ls="--", lw=1, label="target")
    ax_pred.set_xlabel("iteration")
    ax_pred.xaxis.get_major_locator().set_params(integer=True)
    ax_pred.set_ylabel("latency (ms)")
    ax_pred.set_title("Predicted vs measured latency per iteration")
    ax_pred.legend(fontsize=7)
    ax_pred.grid(alpha=0.3)

    params = [history.base.params, *[it.params for it in its]]
    ax_par.plot(range(len(params)), [p / 1e6 for p in params], "o-", color="tab:green", ms=4)
    ax_par.set_xlabel("iteration (0 = base)")
    ax_par.xaxis.get_major_locator().set_params(integer=True)
    ax_par.set_ylabel("parameters (M)")
    ax_par.set_title("Parameters per iteration")
    ax_par.grid(alpha=0.3)
    freeze_layout(fig)
    labels = place_labels(
        ax_path,
        [(p[1], p[2]) for p in points],
        [p[0] for p in points],
        avoid=[a for a in (ax_path.get_legend(),) if a is not None],
    )
    return fig, labels


def plot_prune(history: PruneHistory, path: str | os.PathLike) -> Path:
    import matplotlib.pyplot as plt

    fig, _ = build_prune_figure(history)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path
