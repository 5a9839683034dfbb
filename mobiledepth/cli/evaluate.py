"""``mobiledepth eval`` and ``mobiledepth report``: accuracy records and the joined table."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import MobileDepthError
from . import options as o
from .app import app, console
from .common import given_flags, preprocess_flags, progress_bar, size_flag, user_errors, write_records


@app.command("eval")
@user_errors
def eval_command(
    models: List[Path] = typer.Argument(..., help="Checkpoint, .onnx, .tflite, TorchScript or .pt2 files."),
    data: Optional[Path] = typer.Option(
        None, help="DIW CSV or folder with DIW_<split>.csv. Default: bundled sample set."
    ),
    split: o.EvalSplit = None,
    size: o.EvalSize = None,
    disparity: bool = typer.Option(False, "--disparity", help="The model's output grows with nearness."),
    mean: o.Mean = None,
    std: o.Std = None,
    pixel_scale: o.PixelScale = None,
    output: o.Output = None,
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write the result record(s) here."),
    resize: o.Resize = None,
    real: bool = typer.Option(
        False,
        "--real",
        help="Score a real photograph with real depth (Middlebury 2014 "
        "Motorcycle, from scikit-image) beside the 'higher is farther' "
        "prior, instead of --data.",
    ),  # fmt: skip
) -> None:
    """WHDR on DIW-format pairs (+ RMSE, delta1, SI-RMSE when dense depth exists), or on a real photograph."""
    from ..api import evaluate
    from ..evaluation import EvalOptions, evaluate_real
    from ..reporting.terminal import eval_table

    if real and data is not None:
        raise MobileDepthError("--real scores its own photograph's pairs: give --data or --real, not both")
    given = {
        "split": split,
        "size": size_flag(size),
        "preprocess": preprocess_flags(mean, std, pixel_scale),
        "resize": resize,
        "output": output,
    }
    options = EvalOptions(disparity=disparity, **given_flags(**given))
    records = []
    with progress_bar() as progress:
        for model in models:
            task = progress.add_task(f"eval {model.name}", total=None)
            update = lambda d, t, task=task: progress.update(task, completed=d, total=t)  # noqa: E731
            records.append(evaluate_real(model, options) if real else evaluate(model, data, options, progress=update))
    console.print(eval_table(records))
    write_records(json_path, records)


@app.command()
@user_errors
def report(
    results: List[Path] = typer.Argument(..., help="bench / eval / convert JSON records."),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write the joined rows as JSON."),
    csv_path: Optional[Path] = typer.Option(None, "--csv", help="Write CSV."),
    md_path: Optional[Path] = typer.Option(None, "--md", help="Write Markdown."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write latency-vs-WHDR and size-vs-WHDR plots (PNG)."),
    html_path: Optional[Path] = typer.Option(
        None,
        "--html",
        help="Write one self-contained page: tables, plots, depth maps "
        "(predict.json) and per-layer tables (profile JSON).",
    ),
    paper: bool = typer.Option(
        True, "--paper/--no-paper", help="Draw the paper's reference points (in their own panel)."
    ),
) -> None:
    """Join results into one FPS + WHDR table."""
    from ..records import load_records
    from ..reporting.outputs import ReportOutputs, rows_table, write_report
    from ..reporting.table import build_rows

    outputs = ReportOutputs(json_path, csv_path, md_path, plot, html_path, paper)
    outputs.check()
    from ..conversion.view import convert_tables
    from ..records import ConvertReport

    records = load_records(results)
    rows = build_rows(records)
    converted = [r for r in records if isinstance(r, ConvertReport)]
    for table in (t for r in converted if not rows for t in convert_tables(r)):  # a convert report alone: its tables
        console.print(table)
    if not rows:
        if converted:
            return
        raise MobileDepthError("no bench, eval or convert records among the given files")
    console.print(rows_table(rows))
    for p in write_report(rows, records, outputs, tuple(str(r) for r in results)):
        console.print(f"wrote {p}", highlight=False)
