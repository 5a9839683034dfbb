"""The ``mobiledepth`` command: a thin typer layer over library functions (which the tests call)."""

from __future__ import annotations

import errno
import functools
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any, Callable, List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from android_bench.errors import BenchError

from . import cli_options as o
from .errors import MobileDepthError
from .fileio import write_json

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Monocular relative depth from PyTorch to phones: convert, benchmark, evaluate, report.",
)
data_app = typer.Typer(no_args_is_help=True, help="Sample data.")
app.add_typer(data_app, name="data")
devices_app = typer.Typer(help="Phones over adb: list, fetch the benchmark binary, clean up.")
app.add_typer(devices_app, name="devices")
# Wide tables stay readable when output goes to a log or CI (rich assumes 80 columns there).
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


# Which extra installs a module the core install leaves out (pyproject's optional-dependencies).
EXTRA_OF_MODULE = {
    "onnx2tf": "convert",
    "tensorflow": "convert",
    "tf_keras": "convert",
    "onnxsim": "convert",
    "onnx_graphsurgeon": "convert",
    "adbutils": "phone",
    "torch_pruning": "prune",
    "imageio": "video",
    "imageio_ffmpeg": "video",
    "skimage": "demo",
}


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """'pip install ...' advice for a module that an extra provides, else None (a real bug: traceback)."""
    top = (exc.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(top)
    return (
        f"this needs the '{extra}' extra (module {top} is missing): pip install 'mobiledepth[{extra}]'"
        if extra
        else None
    )


def user_errors(fn: Callable) -> Callable:
    """Turn user-facing errors (ours and android_bench's) into one 'error: ...' line and exit status 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (MobileDepthError, BenchError) as exc:
            # Text, not markup: file names and messages may contain [brackets] ("x[/]y.pt", "[[stage]]").
            err_console.print(Text("error: ", style="bold red") + Text(str(exc)), highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except OSError as exc:  # disk full, read-only folder, permission: one line naming the file
            where = exc.filename or "output"
            reason = {
                errno.ENOSPC: "no space left on the disk",
                errno.EROFS: "read-only file system",
                errno.EACCES: "permission denied",
            }.get(exc.errno or 0, exc.strerror or exc.__class__.__name__)
            err_console.print(
                Text("error: ", style="bold red") + Text(f"{where}: {reason}"), highlight=False, soft_wrap=True
            )
            raise typer.Exit(1) from None
        except ModuleNotFoundError as exc:
            advice = missing_extra(exc)
            if advice is None:
                raise
            err_console.print(Text("error: ", style="bold red") + Text(advice), highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except Exception as exc:  # a bug, not a user error: one line, the traceback on request
            if os.environ.get("MOBILEDEPTH_DEBUG") or type(exc).__module__.split(".")[0] in (
                "typer",
                "click",
                "_typer",
            ):
                raise  # typer's own exits and usage errors pass through
            first = (str(exc).splitlines() or [""])[0][:200]
            err_console.print(
                Text("error: ", style="bold red")
                + Text(
                    f"unexpected {exc.__class__.__name__}: {first} (a bug; MOBILEDEPTH_DEBUG=1 shows the traceback)"
                ),
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(1) from None

    return wrapper


MAX_INPUT_SIDE = 4096


def parse_size(text: str) -> tuple[int, int]:
    """'256x256' or '224x448' (HEIGHTxWIDTH)."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise MobileDepthError(f"--size {text!r}: expected HEIGHTxWIDTH, e.g. 256x256") from None
    if h <= 0 or w <= 0:
        raise MobileDepthError(f"--size {text!r}: sides must be positive")
    if h > MAX_INPUT_SIDE or w > MAX_INPUT_SIDE:  # activations grow with the area: refuse before allocating
        raise MobileDepthError(f"--size {text!r}: sides are capped at {MAX_INPUT_SIDE} pixels")
    return h, w


def parse_triple(text: str | None, name: str, default: tuple[float, float, float]) -> tuple[float, float, float]:
    if text is None:
        return default
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3:
        raise MobileDepthError(f"{name} {text!r}: expected three comma-separated numbers (R,G,B)")
    return values  # type: ignore[return-value]


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


@app.command()
@user_errors
def init(
    variant: str = typer.Argument(..., help="Named variant, e.g. mobiledepth-base (see `mobiledepth variants`)."),
    output: Path = typer.Option(..., "-o", "--output", help="Checkpoint file to write."),
    seed: int = typer.Option(0, help="Seed for the initial weights."),
    encoder_weights: Optional[Path] = typer.Option(
        None, help="Local torchvision MobileNetV2 ImageNet state dict (features.* keys)."
    ),
) -> None:
    """Write a seeded, untrained checkpoint of a named variant."""
    from .model.checkpoint import init_checkpoint, load_checkpoint

    path = init_checkpoint(
        variant, output, seed=seed, encoder_weights=str(encoder_weights) if encoder_weights else None
    )
    params = load_checkpoint(path).metadata["params"]
    console.print(f"wrote {path} ({variant}, seed {seed}, {params:,} parameters, untrained)")


@app.command()
def variants() -> None:
    """List the registered model variants."""
    from .model import VARIANTS, MobileDepth, count_parameters, get_config

    table = Table("Variant", "Params (export)", "Decoder widths")
    for name in VARIANTS:
        config = get_config(name)
        table.add_row(
            name, f"{count_parameters(MobileDepth(config)):,}", " ".join(str(s.out) for s in config.decoder.stages)
        )
    console.print(table)


@app.command()
@user_errors
def info(
    checkpoint: Path = typer.Argument(..., help="A mobiledepth checkpoint."),
    size: str = typer.Option("256x256", help="Input HEIGHTxWIDTH for the FLOPs count."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Print a checkpoint's config, parameter count and FLOPs."""
    from .model import count_macs, count_parameters, load_checkpoint

    h, w = parse_size(size)
    ckpt = load_checkpoint(checkpoint)
    model = ckpt.build(with_heads=True)
    stride = ckpt.config.output_stride
    if h % stride or w % stride:
        raise MobileDepthError(f"--size {size}: both sides must be multiples of {stride}")
    export_params = count_parameters(model)
    train_params = count_parameters(model, exclude_heads=False)
    macs = count_macs(model.strip_heads(), h, w)
    meta = {k: v for k, v in ckpt.metadata.items() if not k.startswith("_")}
    if json_out:
        print(
            json.dumps(
                {
                    "config": ckpt.config.to_dict(),
                    "params": export_params,
                    "params_with_heads": train_params,
                    "macs": macs,
                    "flops": 2 * macs,
                    "size": [h, w],
                    "metadata": meta,
                },
                indent=2,
            )
        )
        return
    table = Table(title=f"{checkpoint}", show_header=False)
    table.add_row("variant", ckpt.config.name)
    table.add_row("parameters (exported, heads stripped)", f"{export_params:,}")
    table.add_row("parameters (training, with heads)", f"{train_params:,}")
    table.add_row(f"MACs at {h}x{w}", f"{macs / 1e9:.3f} G  ({2 * macs / 1e9:.3f} GFLOPs)")
    enc = ckpt.config.encoder
    fused = [i + 1 for i, b in enumerate(enc.blocks) if b.fused]
    table.add_row(
        "encoder",
        f"MobileNetV2 stem {enc.stem}, {len(enc.blocks)} blocks, skips from features.{list(enc.skip_taps)}",
    )
    if fused:
        table.add_row("fused blocks", f"features.{fused} (full 3x3 conv in place of expand + depthwise)")
    for i, s in enumerate(ckpt.config.decoder.stages, 1):
        aux = "  + aux head" if i in ckpt.config.decoder.aux_after else ""
        up = (", x2 up" + (" after project" if s.upsample_at == "output" else "")) if s.upsample else ""
        table.add_row(f"decoder stage {i}", f"hidden {s.hidden}, out {s.out}, k{s.kernel}{up}{aux}")
    table.add_row("trained", str(meta.get("trained")))
    for key in ("trained_on", "metrics", "seed", "created"):
        if meta.get(key) not in (None, {}, ""):
            table.add_row(key, str(meta[key]))
    console.print(table)


@data_app.command("synth")
@user_errors
def data_synth(
    output: Path = typer.Option(..., "-o", "--output", help="Folder to create."),
    n: o.SynthScenes = None,
    size: o.SynthSize = None,
    pairs_per_image: o.SynthPairs = None,
    seed: o.SynthSeed = None,
) -> None:
    """Render procedural scenes with exact depth: images, DIW CSVs (train/val/test) and dense depth maps."""
    from .data.synth import SynthOptions, write_synth_dataset

    options = SynthOptions(**given_flags(n=n, pairs_per_image=pairs_per_image, seed=seed), **size_flags(size))
    out = write_synth_dataset(output, options)
    console.print(f"wrote {options.n} scenes to {out} (DIW_train/val/test.csv, images/, depth/)")


@app.command()
@user_errors
def convert(
    checkpoint: Path = typer.Argument(
        ...,
        help="A mobiledepth checkpoint, an ONNX file (fixed or dynamic shape), a "
        "TorchScript archive or a torch.export program (.pt2).",
    ),
    output: Path = typer.Option(..., "-o", "--output", help="Output folder."),
    precision: o.ConvertPrecision = None,
    size: o.ConvertSize = None,
    calib: Optional[Path] = typer.Option(
        None, help="Calibration images: DIW folder (train split) or image folder. Default: bundled sample set."
    ),
    parity_data: Optional[Path] = typer.Option(
        None, help="Held-out DIW folder (test split) for parity and task WHDR. Default: bundled sample set."
    ),
    n_calib: o.NCalib = None,
    n_parity: o.NParity = None,
    max_int8_whdr_drop: o.MaxInt8Drop = None,
    int8_output: o.Int8Output = None,
    mean: Optional[str] = typer.Option(
        None, help="Foreign models: R,G,B mean subtracted after scaling (kept in the files' input)."
    ),
    std: Optional[str] = typer.Option(None, help="Foreign models: R,G,B std divided after scaling."),
    pixel_scale: Optional[float] = typer.Option(
        None, help="Foreign models: multiply [0,1] pixels by this first (255: 0..255 input)."
    ),
) -> None:
    """Model -> ONNX -> TFLite via onnx2tf, with parity and task accuracy against the source for every file."""
    from .convert.pipeline import ConvertOptions, convert_checkpoint, parse_precisions
    from .convert.view import convert_tables

    given = {"precisions": parse_precisions(precision) if precision else None, "calib": calib,
             "parity_data": parity_data, "n_calib": n_calib, "n_parity": n_parity,
             "max_int8_whdr_drop": max_int8_whdr_drop, "int8_output": int8_output,
             "preprocess": preprocess_flags(mean, std, pixel_scale)}  # fmt: skip
    options = ConvertOptions(**given_flags(**given), **size_flags(size))
    with err_console.status("converting") as status:
        report = convert_checkpoint(checkpoint, output, options, progress=lambda m: status.update(m))
    for table in convert_tables(report):
        console.print(table)
    console.print(f"report: {Path(output) / 'convert_report.json'}")
    for f in report.unverified:
        err_console.print(f"warning: {Path(f.path).name}: {f.problem}", markup=False, highlight=False)
    if report.failed:
        raise MobileDepthError("; ".join(f"{Path(f.path).name}: {f.problem}" for f in report.failed))


def given_flags(**flags: Any) -> dict[str, Any]:
    """The flags the user gave (not None): the library's option dataclasses fill in the rest, so no default is
    restated in the CLI."""
    return {name: value for name, value in flags.items() if value is not None}


def size_flags(size: str | None) -> dict[str, int]:
    """--size HEIGHTxWIDTH as the ``height`` and ``width`` of an options dataclass; nothing when not given."""
    if size is None:
        return {}
    height, width = parse_size(size)
    return {"height": height, "width": width}


def preprocess_flags(mean: str | None, std: str | None, pixel_scale: float | None):
    """--mean/--std/--pixel-scale over the library's identity preprocessing (ours need none)."""
    from .runtime.predictors import Preprocess

    base = Preprocess()
    return Preprocess(
        parse_triple(mean, "--mean", base.mean),
        parse_triple(std, "--std", base.std),
        base.pixel_scale if pixel_scale is None else pixel_scale,
    )


def _write_records(path: Optional[Path], records: list[dict[str, Any]]) -> None:
    if path is not None:
        write_json(path, records[0] if len(records) == 1 else records)
        console.print(f"wrote {path}")


@app.command()
@user_errors
def bench(
    models: o.Models = None,
    device: o.Device = "host",
    delegate: o.Delegate = "cpu",
    threads: o.Threads = None,
    warmup: o.Warmup = None,
    warmup_seconds: o.WarmupSeconds = None,
    runs: o.Runs = None,
    min_seconds: o.MinSeconds = None,
    size: o.Size = None,
    json_path: o.JsonOut = None,
    adb_host: o.AdbHost = o.ADB_HOST,
    adb_port: o.AdbPort = o.ADB_PORT,
    benchmark_binary: o.Binary = None,
    gpu_precision_loss: o.GpuFp16 = None,
    nnapi_accelerator: o.NnapiAccelerator = None,
    require_full_delegation: o.FullDelegation = None,
    affinity: o.Affinity = None,
    repeats: o.Repeats = None,
    cooldown: o.Cooldown = None,
    max_temp: o.MaxTemp = None,
    thermal_timeout: o.ThermalTimeout = None,
    run_timeout: o.RunTimeout = None,
    op_profiling: o.OpProfiling = None,
    devices_file: o.DevicesFile = None,
    paired: o.Paired = False,
    rounds: o.Rounds = None,
    from_log: o.FromLog = None,
) -> None:
    """Benchmark models: median / p90 latency, FPS, peak memory; on this computer or on phones over adb."""
    from .bench.target import AdbEndpoint, BenchSettings, open_bench

    if from_log:
        return _bench_from_logs(from_log, models or [], device, json_path)
    if not models:
        raise MobileDepthError("bench: give at least one model file (or --from-log FILE)")
    phone = {"gpu_precision_loss": gpu_precision_loss, "nnapi_accelerator": nnapi_accelerator,
             "require_full_delegation": require_full_delegation, "affinity": affinity, "repeats": repeats,
             "cooldown_s": cooldown, "max_temp_c": max_temp, "thermal_timeout_s": thermal_timeout,
             "run_timeout_s": run_timeout, "op_profiling": op_profiling}  # fmt: skip
    settings = BenchSettings(delegate, threads, warmup, warmup_seconds, runs, min_seconds,
                             parse_size(size) if size else None, rounds,
                             given_flags(**phone))  # fmt: skip
    target = open_bench(device, settings, AdbEndpoint(adb_host, adb_port, benchmark_binary, devices_file), json_path)
    with err_console.status(f"benchmarking on {device}") as status:
        run = target.paired if paired else target.run
        outcome = run(models, progress=lambda m: status.update(m))
    records = [r.to_dict() for r in outcome.records]
    if records and paired:
        _print_paired(outcome.records)
    elif records:
        _print_bench(records)
    if outcome.saved:
        console.print(f"wrote {outcome.saved}")
    elif records:
        _write_records(json_path, records)
    for line in outcome.warnings:
        err_console.print(Text("warning: ", style="yellow") + Text(line), highlight=False)
    outcome.raise_problems()


def _bench_from_logs(logs: List[Path], models: List[Path], device: str, json_path: Optional[Path]) -> None:
    from android_bench.errors import BenchError
    from android_bench.from_log import record_from_log

    if models and len(models) != len(logs):
        raise MobileDepthError(
            f"--from-log: {len(logs)} log(s) but {len(models)} model file(s); give one file per log or none"
        )
    for path in [*logs, *models]:
        if not path.is_file():
            raise MobileDepthError(f"{path}: no such file")
    label = "log" if device == "host" else device
    try:
        records = [record_from_log(log, label, models[i] if models else None) for i, log in enumerate(logs)]
    except BenchError as exc:
        raise MobileDepthError(str(exc)) from None
    _print_bench(records)
    _write_records(json_path, records)


def _print_paired(records: list[Any]) -> None:
    from .report.terminal import paired_table

    console.print(paired_table(records))


def _print_bench(records: list[dict[str, Any]]) -> None:
    from .report.terminal import bench_table

    console.print(bench_table(records))


@app.command("eval")
@user_errors
def eval_command(
    models: List[Path] = typer.Argument(
        ..., help="Checkpoint, .onnx or .tflite files (any one-image-in, one-map-out model)."
    ),
    data: Optional[Path] = typer.Option(
        None, help="DIW CSV or folder with DIW_<split>.csv. Default: bundled sample set."
    ),
    split: o.EvalSplit = None,
    size: o.EvalSize = None,
    disparity: bool = typer.Option(False, "--disparity", help="The model's output grows with nearness."),
    mean: Optional[str] = typer.Option(None, help="Foreign models: R,G,B mean subtracted after scaling."),
    std: Optional[str] = typer.Option(None, help="Foreign models: R,G,B std divided after scaling."),
    pixel_scale: Optional[float] = typer.Option(
        None, help="Foreign models: multiply [0,1] pixels by this first (255 for 0..255 input)."
    ),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write the result record(s) here."),
    resize: o.Resize = None,
) -> None:
    """WHDR on DIW-format pairs (+ RMSE, delta1, SI-RMSE when dense depth exists)."""
    from .data.sample import default_sample_dir
    from .evaluate import EvalOptions, evaluate

    options = EvalOptions(disparity=disparity, preprocess=preprocess_flags(mean, std, pixel_scale),
                          **given_flags(split=split), **size_flags(size))  # fmt: skip
    if resize is not None:
        from .data.images import RESIZE_METHODS

        if resize not in RESIZE_METHODS:
            raise MobileDepthError(f"--resize {resize!r}: choose from {', '.join(RESIZE_METHODS)}")
        options.resize = resize
    data = data or default_sample_dir()
    records = []
    with _progress() as progress:
        for model in models:
            task = progress.add_task(f"eval {model.name}", total=None)
            records.append(
                evaluate(
                    model, data, options, progress=lambda d, t, task=task: progress.update(task, completed=d, total=t)
                )
            )
    from .report.terminal import eval_table

    console.print(eval_table([r.to_dict() for r in records]))
    _write_records(json_path, [r.to_dict() for r in records])


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
    from .records import load_records
    from .report.outputs import ReportOutputs, rows_table, write_report
    from .report.table import build_rows

    outputs = ReportOutputs(json_path, csv_path, md_path, plot, html_path, paper)
    outputs.check()
    records = load_records(results)
    rows = build_rows(records)
    if not rows:
        raise MobileDepthError("no bench or eval records among the given files")
    console.print(rows_table(rows))
    for p in write_report(rows, records, outputs):
        console.print(f"wrote {p}", highlight=False)


@app.command()
@user_errors
def train(
    config: Path = typer.Option(..., "--config", help="Training config (TOML); see configs/."),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="Output folder (default: [run] out in the config)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT/train_state.pt (the last finished epoch)."),
    quiet: bool = typer.Option(False, help="No progress bars."),
) -> None:
    """Train with the paper's recipe; multi-GPU / multi-node with `torchrun -m mobiledepth train ...`."""
    from .train.config import load_config
    from .train.trainer import Trainer

    final = Trainer(load_config(config), out, resume, quiet).run()
    console.print(f"wrote {final}")


def _names(text: str | None) -> tuple[str, ...]:
    """A comma-separated flag ('1.9M,1.5M', 'stem, dec_hidden') as its non-empty items."""
    return tuple(k.strip() for k in (text or "").split(",") if k.strip())


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
    from .prune.latency import Measurer
    from .prune.netadapt import NetAdapt, PruneOptions, parse_keep

    if (target_ms is None) == (target_ratio is None):
        raise MobileDepthError("give exactly one of --target-ms or --target-ratio")
    h, w = parse_size(size)
    keeps, frozen = _names(keep), _names(freeze)
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
    from .report.prune_plot import plot_prune

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


@devices_app.callback(invoke_without_command=True)
@user_errors
def devices(
    ctx: typer.Context,
    adb_host: o.AdbHost = o.ADB_HOST,
    adb_port: o.AdbPort = o.ADB_PORT,
    devices_file: Optional[Path] = typer.Option(None, help="Extra device aliases (JSON)."),
) -> None:
    """List connected phones: model, SoC, Android version, ABI, battery temperature."""
    if ctx.invoked_subcommand is not None:
        return
    from .bench.phone import list_devices

    found = list_devices(adb_host, adb_port, devices_file)
    table = Table(title=f"Devices on adb server {adb_host}:{adb_port}")
    for col in ("Serial", "State", "Alias", "Model", "SoC", "Android", "ABI", "Battery °C"):
        table.add_column(col)
    for d in found:
        table.add_row(
            d.serial,
            d.state,
            d.alias,
            d.model,
            d.soc,
            f"{d.android} (SDK {d.sdk})" if d.android else "",
            d.abi,
            f"{d.battery_c:.1f}" if d.battery_c is not None else "",
        )
    console.print(table if found else "no devices connected")


@devices_app.command("fetch-binary")
@user_errors
def devices_fetch_binary(
    abi: str = typer.Option("arm64-v8a", help="Android ABI: arm64-v8a, armeabi-v7a, x86_64, x86."),
    sha256: Optional[str] = typer.Option(
        None, help="Pin: the download must have this sha256 (a nightly changes daily)."
    ),
) -> None:
    """Download TensorFlow's nightly benchmark_model for an ABI into the local cache (needs internet)."""
    from android_bench.binary import fetch_binary

    path = fetch_binary(abi, sha256=sha256)
    console.print(f"wrote {path} (sha256 {path.with_name(path.name + '.sha256').read_text().strip()})")


@devices_app.command("clean")
@user_errors
def devices_clean(
    device: str = typer.Argument(..., help="Serial or alias."),
    adb_host: o.AdbHost = o.ADB_HOST,
    adb_port: o.AdbPort = o.ADB_PORT,
) -> None:
    """Remove mobiledepth's working directory (/data/local/tmp/mobiledepth) from a phone."""
    from android_bench import adb
    from android_bench.binary import WORKDIR, clean
    from android_bench.devices import connected, load_registry, resolve

    registry = load_registry()
    client = adb.client(adb_host, adb_port)
    for info in resolve(device, connected(client, registry), registry):
        clean(client.device(serial=info.serial))
        console.print(f"{info.serial}: removed {WORKDIR}")


@devices_app.command("connect")
@user_errors
def devices_connect(
    address: str = typer.Argument(..., help="HOST:PORT of a TCP device (Wi-Fi debugging or an emulated phone)."),
    adb_host: o.AdbHost = o.ADB_HOST,
    adb_port: o.AdbPort = o.ADB_PORT,
) -> None:
    """`adb connect` through the chosen adb server."""
    from android_bench import adb

    adb.connect(adb.client(adb_host, adb_port), address)
    console.print(f"connected {address}")


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM: unwind like Ctrl-C, so ``finally`` blocks remove scratch folders and temporary files."""
    raise SystemExit(128 + signum)


from . import cli_see  # noqa: E402,F401  (registers predict and profile on the same app)


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    app()


if __name__ == "__main__":
    main()
