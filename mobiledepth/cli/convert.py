"""``mobiledepth convert``: a thin layer over :func:`mobiledepth.api.convert`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.text import Text

from ..errors import MobileDepthError
from . import options as o
from .app import app, console, err_console
from .common import given_flags, names, preprocess_flags, size_flag, user_errors


@app.command()
@user_errors
def convert(
    model: Path = typer.Argument(
        ...,
        help="A mobiledepth checkpoint, an ONNX file (fixed or dynamic shape), a "
        "TorchScript archive or a torch.export program (.pt2).",
    ),
    output: Path = typer.Option(..., "-o", "--output", help="Output folder."),
    precision: o.ConvertPrecision = None,
    size: o.ConvertSize = None,
    calib: o.Calib = None,
    parity_data: o.ParityData = None,
    n_calib: o.NCalib = None,
    n_parity: o.NParity = None,
    task: o.Task = None,
    gate_limit: o.GateLimit = None,
    mask_threshold: o.MaskThreshold = None,
    outputs: o.Outputs = None,
    strict: o.Strict = False,
    int8_output: o.Int8Output = None,
    mean: o.Mean = None,
    std: o.Std = None,
    pixel_scale: o.PixelScale = None,
    fold_preprocess: o.FoldPreprocess = False,
    speed: o.Speed = None,
) -> None:
    """Model -> ONNX -> TFLite via onnx2tf: parity, task score, gate and host speed for every file."""
    from ..api import convert as run_convert
    from ..conversion.options import ConvertOptions
    from ..conversion.precisions import parse_precisions
    from ..conversion.view import convert_tables, speed_lines

    given = {
        "precisions": parse_precisions(precision) if precision else None,
        "size": size_flag(size),
        "preprocess": preprocess_flags(mean, std, pixel_scale),
        "calib": calib,
        "parity_data": parity_data,
        "n_calib": n_calib,
        "n_parity": n_parity,
        "task": task,
        "gate_limit": gate_limit,
        "mask_threshold": mask_threshold,
        "outputs": names(outputs) or None,
        "int8_output": int8_output,
        "speed": speed,
    }
    options = ConvertOptions(**given_flags(**given), fold_preprocess=fold_preprocess, strict=strict)
    with err_console.status("converting") as status:
        report = run_convert(model, output, options, progress=lambda m: status.update(m))
    for table in convert_tables(report):
        console.print(table)
    for line in speed_lines(report):
        console.print(Text(line), highlight=False)
    console.print(f"report: {Path(output) / 'convert_report.json'}")
    for f in report.unverified:
        err_console.print(Text("warning: ", style="yellow") + Text(f"{f.name}: {f.problem}"), highlight=False)
    if report.failed:
        raise MobileDepthError("; ".join(f"{f.name}: {f.problem}" for f in report.failed))
