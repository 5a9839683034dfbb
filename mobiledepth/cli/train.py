"""``mobiledepth train`` and ``mobiledepth prune``: the recipe and NetAdapt."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from ..errors import MobileDepthError
from . import options as o
from .app import app, console, err_console
from .common import given_flags, names, parse_size, user_errors


@app.command()
@user_errors
def train(
    config: Path = typer.Option(..., "--config", help="Training config (TOML); see configs/."),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="Output folder (default: [run] out in the config)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT/train_state.pt (the last finished epoch)."),
    quiet: bool = typer.Option(False, help="No progress bars."),
) -> None:
    """Train with the paper's recipe; multi-GPU / multi-node with `torchrun -m mobiledepth train ...`."""
    from ..train.config import load_config
    from ..train.trainer import Trainer

    final = Trainer(load_config(config), out, resume, quiet).run()
    console.print(f"wrote {final}")


@app.command()
@user_errors
def prune(
    checkpoint: o.Checkpoint,
    output: o.PruneOutput,
    data: o.PruneData,
    target_ms: o.TargetMs = None,
    target_ratio: o.TargetRatio = None,
    device: o.Device = "host",
    delegate: o.Delegate = "cpu",
    precision: o.Precision = "fp32",
    size: o.PruneSize = "256x256",
    data_kind: o.DataKind = None,
    threads: o.PruneThreads = None,
    initial_ratio: o.InitialRatio = None,
    decay: o.Decay = None,
    max_iterations: o.MaxIterations = None,
    max_proposals: o.MaxProposals = None,
    short_steps: o.ShortSteps = None,
    long_steps: o.LongSteps = None,
    keep: o.Keep = None,
    freeze: o.Freeze = None,
    margin: o.Margin = None,
    resume: o.Resume = False,
    seed: o.Seed = None,
    rounds: o.PruneRounds = None,
    adb_host: o.AdbHost = o.ADB_HOST,
    adb_port: o.AdbPort = o.ADB_PORT,
    benchmark_binary: o.Binary = None,
) -> None:
    """NetAdapt pruning against MEASURED latency, with short- and long-term fine-tuning."""
    from ..pruning.latency import Measurer
    from ..pruning.netadapt import NetAdapt, PruneOptions, parse_keep

    if (target_ms is None) == (target_ratio is None):
        raise MobileDepthError("give exactly one of --target-ms or --target-ratio")
    h, w = parse_size(size)
    keeps, frozen = names(keep), names(freeze)
    parse_keep(list(keeps))
    given = {"data_kind": data_kind, "initial_ratio": initial_ratio, "decay": decay, "max_iterations": max_iterations,
             "max_proposals": max_proposals, "short_steps": short_steps, "long_steps": long_steps, "margin": margin,
             "seed": seed, "rounds": rounds}  # fmt: skip
    options = PruneOptions(target_ms=target_ms, target_ratio=target_ratio, data=data, keep=keeps, freeze=frozen,
                           **given_flags(**given))  # fmt: skip
    measurer = Measurer(device=device, delegate=delegate, precision=precision, height=h, width=w, adb_host=adb_host,
                        adb_port=adb_port, benchmark_binary=benchmark_binary, calib=data,
                        **({"threads": threads} if threads is not None else {}))  # fmt: skip
    history = NetAdapt(
        checkpoint, output, options, measurer, resume, echo=lambda line: err_console.print(line, highlight=False)
    ).run()
    console.print(_prune_table(history, f"{device}/{delegate}/{precision} {h}x{w}"))
    from ..reporting.prune_plot import plot_prune

    plot_prune(history.to_dict(), output / "prune.png")
    console.print(f"history: {output / 'history.json'}; records for `mobiledepth report`: {output / 'records.json'}; "
                  f"plot: {output / 'prune.png'}")  # fmt: skip
    if history.status != "reached":
        raise MobileDepthError(
            f"target {history.target_ms:.3f} ms {history.status}: {history.reason}; best model kept in "
            f"{history.final.checkpoint}"
        )


def _prune_table(history: Any, where: str) -> Table:
    """One row per NetAdapt iteration (a PruneHistory), between the base and the long-term fine-tuned final."""
    table = Table(title=f"NetAdapt on {where}: target {history.target_ms:.3f} ms ({history.status})")
    for col in (
        "Iter",
        "Group",
        "Width",
        "Params",
        "Predicted ms",
        "Measured ms",
        "Ratio to base (95% CI)",
        "Val WHDR",
    ):
        table.add_column(col)

    def ratio(r: dict[str, float] | None) -> str:
        return "unpaired" if not r else f"{r['median']:.3f} ({r['low']:.3f}-{r['high']:.3f})"

    b = history.base
    table.add_row("0", "", "", f"{b.params:,}", "", f"{b.measured_ms:.3f}", "1", f"{b.whdr:.4f}")
    for it in history.iterations:
        table.add_row(
            str(it.iteration), it.group, f"{it.width_from} -> {it.width_to}", f"{it.params:,}",
            f"{it.predicted_ms:.3f}", f"{it.measured_ms:.3f}", ratio(it.verification.get("base")), f"{it.whdr:.4f}",
        )  # fmt: skip
    f = history.final
    table.add_row("final", "long-term fine-tune", "", f"{f.params:,}", "", f"{f.measured_ms:.3f}",
                  ratio((history.confirmation or {}).get("ratio")), f"{f.whdr:.4f}")  # fmt: skip
    return table
