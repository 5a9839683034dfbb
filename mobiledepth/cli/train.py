"""``mobiledepth train`` and ``mobiledepth prune``: the recipe and NetAdapt."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.text import Text

from ..errors import MobileDepthError
from ..records import Interval
from ..records.pruning import PruneHistory
from ..tables import Table
from . import options as o
from .app import app, console, err_console
from .common import given_flags, names, size_flag, user_errors


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
    size: o.PruneSize = None,
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
    workers: o.Workers = None,
    worker_threads: o.WorkerThreads = None,
    ray_address: o.RayAddress = None,
    adb_host: o.AdbHost = o.ADB_HOST,
    adb_port: o.AdbPort = o.ADB_PORT,
    benchmark_binary: o.Binary = None,
) -> None:
    """NetAdapt pruning against MEASURED latency, with short- and long-term fine-tuning."""
    from ..model.checkpoint import load_checkpoint
    from ..pruning.latency import Measurer
    from ..pruning.milestones import parse_keep
    from ..pruning.options import PruneOptions
    from ..pruning.runs import prune_checkpoint

    keeps, frozen = names(keep), names(freeze)
    parse_keep(list(keeps))
    given = {"data_kind": data_kind, "initial_ratio": initial_ratio, "decay": decay, "max_iterations": max_iterations,
             "max_proposals": max_proposals, "short_steps": short_steps, "long_steps": long_steps, "margin": margin,
             "seed": seed, "rounds": rounds, "workers": workers,
             "worker_threads": worker_threads}  # fmt: skip
    options = PruneOptions(target_ms=target_ms, target_ratio=target_ratio, data=data, keep=keeps, freeze=frozen,
                           **given_flags(**given))  # fmt: skip
    h, w = size_flag(size) or load_checkpoint(checkpoint).config.input.size
    measurer = Measurer(device=device, delegate=delegate, precision=precision, height=h, width=w, adb_host=adb_host,
                        adb_port=adb_port, benchmark_binary=benchmark_binary, calib=data,
                        **given_flags(threads=threads))  # fmt: skip
    echo = lambda line: err_console.print(Text(line), highlight=False)  # noqa: E731
    history = prune_checkpoint(checkpoint, output, options, measurer, resume, echo, ray_address)
    _show_prune(history, f"{device}/{delegate}/{precision} {h}x{w}", output)
    if history.status != "reached":
        raise MobileDepthError(f"target {history.target_ms:.3f} ms {history.status}: {history.reason}; best model "
                               f"kept in {history.final.checkpoint}")  # fmt: skip


def _show_prune(history: PruneHistory, where: str, output: Path) -> None:
    from ..reporting.prune_plot import plot_prune

    console.print(_prune_table(history, where))
    plot_prune(history, output / "prune.png")
    console.print(f"history: {output / 'history.json'}; records for `mobiledepth report`: {output / 'records.json'}; "
                  f"plot: {output / 'prune.png'}")  # fmt: skip


def _prune_table(history: PruneHistory, where: str) -> Table:
    """One row per NetAdapt iteration, between the base and the long-term fine-tuned final."""
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

    def ratio(r: Interval | None) -> str:
        return "unpaired" if r is None else f"{r.median:.3f} ({r.low:.3f}-{r.high:.3f})"

    b = history.base
    table.add_row("0", "", "", f"{b.params:,}", "", f"{b.measured_ms:.3f}", "1", f"{b.whdr:.4f}")
    for it in history.iterations:
        table.add_row(str(it.iteration), it.group, f"{it.width_from} -> {it.width_to}", f"{it.params:,}",
                      f"{it.predicted_ms:.3f}", f"{it.measured_ms:.3f}",
                      ratio(it.verification.base if it.verification else None), f"{it.whdr:.4f}")  # fmt: skip
    f = history.final
    table.add_row("final", "long-term fine-tune", "", f"{f.params:,}", "", f"{f.measured_ms:.3f}",
                  ratio(history.confirmation.ratio if history.confirmation else None), f"{f.whdr:.4f}")  # fmt: skip
    return table
