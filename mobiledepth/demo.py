"""``make demo``: the whole job on the embedded default, on this computer's CPU.

synthetic sample data -> base checkpoint (the trained one in models/ when present, else a seeded,
untrained one, labelled so) -> convert to fp32/fp16/int8 with parity -> host benchmark of every file,
int8 against fp32 paired -> WHDR of every file (and on a real photograph, drawn) -> depth maps of real
photographs across precisions -> per-layer latency -> one FPS + WHDR table, plots and a self-contained
report.html. Everything lands in ``--out``.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .data.synth import SynthOptions, write_synth_dataset
from .fileio import write_json

# the int8 calibration set: rooms like the demo's, another seed (no scene shared with the test split)
CALIBRATION = SynthOptions(n=128, seed=8)

if TYPE_CHECKING:
    from .records.evaluation import EvalRecord

# What the demo's depth maps are, written beside them (predict.json, the HTML report): never evidence of accuracy.
DEMO_MAPS_NOTE = (
    "the demo model is trained on procedural scenes only; these maps show what each precision changes "
    "against PyTorch, not depth accuracy on real photographs (eval --real measures that)"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("build/demo"))
    parser.add_argument(
        "--model", type=Path, default=None, help="trained checkpoint (make demo: models/mobiledepth-base.pt)"
    )
    parser.add_argument("--size", default="256x256")
    parser.add_argument("--scenes", type=int, default=96)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    from .cli.app import console
    from .cli.common import parse_size

    if args.model is not None and not args.model.is_file():
        console.print(f"error: {args.model}: no such checkpoint", markup=False)
        return 1
    start = time.perf_counter()
    out: Path = args.out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    console.rule("1/7 sample data")
    # 100 pairs per scene: the 15% test split then holds over 1,000 held-out pairs, enough to gate an
    # int8 WHDR drop of 0.005 (with 280 pairs one pair moved WHDR by 0.0036).
    data = write_synth_dataset(out / "data", SynthOptions(n=args.scenes, seed=7, pairs_per_image=100))
    calib = write_synth_dataset(out / "calib", CALIBRATION)
    console.print(f"{args.scenes} synthetic scenes in {data}; {CALIBRATION.n} more to calibrate int8 in {calib}")
    checkpoint = choose_model(args.model, out)
    size = parse_size(args.size)
    files = convert(checkpoint, data, calib, size, out / "converted")
    console.rule("4/7 benchmark and evaluate on the host CPU")
    bench_and_evaluate([*files, checkpoint], data, size, args.runs, out)
    int8_speedup(files, size, out)
    depth_maps(checkpoint, files, size, out)
    layer_profile(checkpoint, size, out)
    report(out)
    elapsed = time.perf_counter() - start
    write_json(out / "demo_timing.json", {"seconds": elapsed})
    console.print(f"demo finished in {elapsed:.0f} s; results in {out}/")
    return 0


def choose_model(model: Path | None, out: Path) -> Path:
    """The trained checkpoint given, else a seeded untrained one (labelled so: its WHDR is chance level)."""
    from .cli.app import console
    from .model.checkpoint import init_checkpoint

    console.rule("2/7 model")
    if model is not None:
        console.print(f"using trained checkpoint {model}")
        return model
    checkpoint = init_checkpoint("mobiledepth-base", out / "mobiledepth-base.pt", seed=0)
    console.print(f"no trained checkpoint given (--model): using a seeded, UNTRAINED base model ({checkpoint}); its "
                  "WHDR is chance level")  # fmt: skip
    return checkpoint


def convert(checkpoint: Path, data: Path, calib: Path, size: tuple[int, int], conv: Path) -> list[Path]:
    """fp32/fp16/int8 files with their gates; the demo goes on past a failed gate so every number is shown
    (the file's status says it must not ship)."""
    from .api import convert as run_convert
    from .cli.app import console
    from .conversion.options import ConvertOptions
    from .conversion.view import convert_tables, speed_lines

    console.rule("3/7 convert")
    # int8 calibrated as the gate advises, on 128 images like the ones it will see, rendered apart from the
    # scenes that judge it (the demo once calibrated on its own test images: 88 of them left the shipped
    # model's int8 drop at +0.0093 at 224x448 and -0.0050 at 256x256; these 128: +0.0029 and -0.0021)
    options = ConvertOptions(size=size, calib=calib, parity_data=data, n_calib=CALIBRATION.n)
    conv_report = run_convert(checkpoint, conv, options)
    for table in convert_tables(conv_report):
        console.print(table)
    for line in speed_lines(conv_report):
        console.print(line, markup=False, highlight=False)
    for f in conv_report.failed + conv_report.unverified:
        console.print(f"gate {f.status.upper()}: {f.name}: {f.problem}", markup=False, highlight=False)
    return sorted(conv.glob("*.tflite")) + sorted(conv.glob("*.onnx"))


def report(out: Path) -> None:
    """Every record of the run joined: terminal table, JSON/CSV/Markdown, the plot and report.html."""
    from .cli.app import console
    from .records import load_records
    from .reporting.outputs import ReportOutputs, rows_table, write_report
    from .reporting.table import build_rows

    console.rule("7/7 report")
    names = ["bench.json", "eval.json", "converted/convert_report.json", "depth/predict.json", "profile.json"]
    records = load_records([out / n for n in names])
    rows = build_rows(records)
    console.print(rows_table(rows))
    outputs = ReportOutputs(*(out / f"report.{ext}" for ext in ("json", "csv", "md", "png", "html")))
    for p in write_report(rows, records, outputs, tuple(names)):
        console.print(f"wrote {p}", highlight=False)


def bench_and_evaluate(models: list[Path], data: Path, size: tuple[int, int], runs: int, out: Path) -> None:
    """Every file timed on this CPU (LiteRT/XNNPACK, ONNX Runtime, PyTorch; 2 threads) and scored on the
    held-out pairs, through the library functions the CLI's bench and eval call."""
    from .api import bench, evaluate
    from .benchmark.request import BenchRequest
    from .cli.app import console
    from .evaluation import EvalOptions, evaluate_real
    from .reporting.terminal import bench_table, eval_table
    from .timing import Timing

    timed = list(bench(BenchRequest(tuple(models), timing=Timing(runs=runs), size=size)).records)
    console.print(bench_table(timed))
    write_json(out / "bench.json", timed)
    scored = [evaluate(m, data, EvalOptions(split="test", size=size)) for m in models]
    console.print(eval_table(scored))
    # the real photograph (scikit-image's Middlebury scene) beside the "higher is farther" prior: the line that
    # says what the synthetic split cannot (its records are kept apart from the synthetic WHDR column)
    real = [evaluate_real(m, EvalOptions(size=size)) for m in models]
    console.print(eval_table(real))
    write_json(out / "eval.json", [*scored, *real])
    real_photo_picture(models, real, out / "real_photo.png")


def real_photo_picture(models: list[Path], real: list[EvalRecord], path: Path) -> None:
    """The picture of the real-photo check for the PyTorch checkpoint and the int8 file (the one that ships to
    phones): photograph, ground truth, the prior and their maps, each titled with its WHDR."""
    from .cli.app import console
    from .visual.real_check import draw_real_check

    chosen = [i for i, m in enumerate(models) if m.suffix == ".pt" or m.name.endswith("_int8.tflite")]
    draw_real_check([models[i] for i in chosen], [real[i] for i in chosen], path)
    console.print(f"wrote {path}", highlight=False)


def int8_speedup(files: list[Path], size: tuple[int, int], out: Path) -> None:
    """fp32 and int8 TFLite interleaved in one process: the bench table above times each file alone, one after
    the other, which is no comparison; this is the ratio the int8 recipe is judged by. At 2 threads and at 1:
    on a 2-vCPU VM a contended second vCPU slows fp32 more than int8 and inflates the 2-thread ratio; the
    1-thread ratio does not move with it."""
    from .api import bench
    from .benchmark.request import BenchRequest
    from .cli.app import console
    from .reporting.terminal import paired_table
    from .timing import HOST_TIMING, Timing

    pair = tuple(next(f for f in files if f.name.endswith(f"_{p}.tflite")) for p in ("fp32", "int8"))
    records = []
    for threads in (HOST_TIMING.threads, 1):
        timed = list(bench(BenchRequest(pair, paired=True, timing=Timing(threads=threads), size=size)).records)
        console.print(paired_table(timed))
        records += timed
    write_json(out / "bench_paired.json", records)


def depth_maps(checkpoint: Path, files: list[Path], size: tuple[int, int], out: Path) -> None:
    """The grid a person looks at: each real photograph through PyTorch and every TFLite precision."""
    from .api import predict
    from .cli.app import console
    from .data.photos import demo_photos
    from .visual.predict import PredictOptions

    console.rule("5/7 depth maps of real photographs (scikit-image's data folder)")
    tflite = [f for f in files if f.suffix == ".tflite"]
    result = predict(
        [checkpoint, *tflite], demo_photos(), out / "depth", PredictOptions(size=size, note=DEMO_MAPS_NOTE)
    )
    for d in result.differences:
        console.print(
            f"{d.image}: {d.model} differs from PyTorch by {d.mean_abs_percent:.2f}% of the depth range "
            f"(p95 {d.p95_abs_percent:.2f}%)",
            highlight=False,
        )
    for p in result.pictures:
        console.print(f"wrote {p}", highlight=False)


def layer_profile(checkpoint: Path, size: tuple[int, int], out: Path) -> None:
    """Where the base model spends its time on this CPU, layer by layer (ONNX Runtime's profiler)."""
    from .cli.app import console
    from .profiling.chart import plot_profile
    from .profiling.host import ProfileOptions, profile_host
    from .profiling.view import layer_table

    console.rule("6/7 per-layer latency on the host")
    profile = profile_host(checkpoint, ProfileOptions(size=size))
    console.print(layer_table(profile, 10))
    write_json(out / "profile.json", [profile])
    plot_profile(profile, out / "profile.png")
    console.print(f"wrote {out / 'profile.json'} and {out / 'profile.png'}", highlight=False)


if __name__ == "__main__":
    raise SystemExit(main())
