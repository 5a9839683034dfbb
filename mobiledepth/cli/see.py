"""``mobiledepth predict`` and ``mobiledepth profile``: the commands that show pictures and per-layer
times. A thin layer like the other command modules; the library in :mod:`.visual` and :mod:`.profile` does the work."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import MobileDepthError
from ..fileio import write_json
from ..tables import Table
from . import options as o
from .app import app, console, err_console
from .common import given_flags, preprocess_flags, size_flag, user_errors


@app.command()
@user_errors
def predict(
    models: List[Path] = typer.Argument(
        ...,
        help="One or more model files (checkpoint, .onnx, .tflite); the first is the "
        "reference of the difference panels.",
    ),
    inputs: List[Path] = typer.Option(..., "--input", "-i", help="Image, folder of images, or video (repeatable)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the pictures, videos and predict.json."),
    size: o.PredictSize = None,
    max_frames: Optional[int] = typer.Option(None, min=1, help="Videos: stop after this many frames."),
    mean: o.Mean = None,
    std: o.Std = None,
    pixel_scale: o.PixelScale = None,
    output: o.Output = None,
) -> None:
    """Colourised depth maps (several models: side-by-side grid with difference panels); a video gives a video."""
    from ..api import predict as run_predict
    from ..visual.predict import PredictOptions

    options = PredictOptions(
        size=size_flag(size), preprocess=preprocess_flags(mean, std, pixel_scale), max_frames=max_frames, output=output
    )
    with err_console.status("predicting"):
        result = run_predict(models, inputs, out, options)
    if result.differences:
        table = Table(title="Difference from the first model (after scale + shift alignment), % of its depth range")
        for col in ("Image", "Model", "Mean %", "p95 %"):
            table.add_column(col)
        for d in result.differences:
            table.add_row(d.image, d.model, f"{d.mean_abs_percent:.3f}", f"{d.p95_abs_percent:.3f}")
        console.print(table)
    for p in result.pictures + result.videos:
        console.print(f"wrote {p}", highlight=False)


@app.command()
@user_errors
def profile(
    models: List[Path] = typer.Argument(
        ..., help="Host: .onnx or checkpoint; phones: .tflite. Two files: side by side."
    ),
    device: str = typer.Option("host", help="'host' (ONNX Runtime's profiler) or a phone (serial, alias)."),
    size: o.ProfileSize = None,
    runs: o.ProfileRuns = None,
    threads: o.ProfileThreads = None,
    xnnpack: bool = typer.Option(
        True,
        "--xnnpack/--no-xnnpack",
        help="Phones: XNNPACK is one node in the profile; --no-xnnpack breaks the CPU time down per op.",
    ),
    top: int = typer.Option(20, help="Rows to print."),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write the per-layer records here."),
    chart: Optional[Path] = typer.Option(
        None, "--chart", help="Write a bar chart (PNG) of the slowest layers (first model)."
    ),
    adb_port: o.AdbPort = o.ADB_PORT,
    benchmark_binary: Optional[Path] = typer.Option(
        None, help="Phones: a local benchmark_model to push instead of the fetched one."
    ),
) -> None:
    """Per-layer latency: layer, module, op, ms, share and cumulative share; sum checked against end to end."""
    from ..profiling.chart import plot_profile
    from ..profiling.view import comparison_table, layer_table

    if top < 1:
        raise MobileDepthError(f"--top {top}: must be at least 1")
    if chart is not None and chart.suffix.lower() != ".png":
        raise MobileDepthError(f"{chart}: --chart writes a .png")
    with err_console.status(f"profiling {len(models)} model(s) on {device}"):
        profiles = _profiles(models, device, size, runs, threads, xnnpack, adb_port, benchmark_binary)
    for p in profiles:
        console.print(layer_table(p, top))
    if len(profiles) == 2:
        console.print(comparison_table(profiles[0], profiles[1], top))
    if json_path:
        write_json(json_path, profiles)
        console.print(f"wrote {json_path}")
    if chart:
        plot_profile(profiles[0], chart)
        console.print(f"wrote {chart}")


def _profiles(
    models: List[Path],
    device: str,
    size: Optional[str],
    runs: Optional[int],
    threads: Optional[int],
    xnnpack: bool,
    adb_port: int,
    binary: Optional[Path],
):
    if device == "host":
        from ..profiling.host import ProfileOptions, profile_host

        options = ProfileOptions(**given_flags(runs=runs, threads=threads, size=size_flag(size)))
        return [profile_host(m, options) for m in models]
    from android_bench.adb import AdbEndpoint
    from android_bench.timing import Timing

    from ..profiling.phone import profile_phone

    timing = Timing(threads=threads, runs=runs)  # unset: the phones' defaults
    return [p for m in models for p in profile_phone(m, device, timing, xnnpack, AdbEndpoint(port=adb_port), binary)]
