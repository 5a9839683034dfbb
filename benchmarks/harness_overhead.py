"""Harness overhead: one model timed directly with LiteRT on this host, and through the full adb path
(Debian's adb server -> emulated phone -> emulated benchmark_model, which runs LiteRT on this same
host). Both paths time the same interpreter, so the difference is what the harness adds to a phone
measurement; the coefficient of variation of repeated runs says how repeatable each path is.

    PYTHONPATH=. python benchmarks/harness_overhead.py --out build/benchmarks/harness_overhead.json  # repo root

(PYTHONPATH: the emulated phone is a dev package of this repository, not installed; `make bench` sets it.)
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from android_bench import adb
from android_bench.devices import connected, load_registry, resolve
from android_bench.runner import PhoneOptions, RunPlan, bench_devices
from android_bench.timing import Timing
from mobiledepth.api import convert
from mobiledepth.benchmark.host import HostJob, run_timed
from mobiledepth.benchmark.paired import bootstrap_ratio
from mobiledepth.conversion.options import ConvertOptions
from mobiledepth.fileio import scratch_dir, write_json
from mobiledepth.model import init_checkpoint
from phone_emulator import EmulatedPhone, galaxy_s21
from phone_emulator.benchmark_tool import BINARY_MARKER


def cv(values: list[float]) -> float:
    return statistics.pstdev(values) / statistics.fmean(values)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("build/benchmarks/harness_overhead.json"))
    parser.add_argument("--model", type=Path, default=None, help=".tflite (default: base model, int8, 256x256)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    return parser.parse_args()


def default_model(work: Path) -> Path:
    """The seeded base model's int8 file at 256x256: the file a phone user most often times."""
    ckpt = init_checkpoint("mobiledepth-base", work / "base.pt", seed=0)
    conv = convert(ckpt, work / "conv", ConvertOptions(precisions=("fp32", "int8"), n_parity=2, speed=False))
    return Path(next(f.path for f in conv.files if f.precision == "int8"))


def interleaved(args: argparse.Namespace, model: Path, binary: Path) -> dict[str, list[float]]:
    """Per repeat: one direct LiteRT median, then one median through adb -> emulated phone, in turn, so drift
    on the host hits both paths alike."""
    port = adb.free_local_port()
    adb.start_server(port)
    phone = EmulatedPhone(galaxy_s21(heat_c_per_s=0.0)).start()
    times: dict[str, list[float]] = {"direct": [], "harness": [], "wall": []}
    try:
        client = adb.client(port=port, start=False)
        adb.connect(client, phone.serial)
        time.sleep(0.5)
        registry = load_registry()
        chosen = resolve(phone.serial, connected(client, registry), registry)
        timing = Timing(threads=args.threads, warmup_runs=5, warmup_seconds=0.0, runs=args.runs, min_seconds=0.0)
        plan = RunPlan("cpu", timing, PhoneOptions(max_temp_c=90.0))
        for _ in range(args.repeats):
            r = run_timed(HostJob((str(model),), timing))
            times["direct"].append(r.latency.median)
            results: list = []
            t0 = time.perf_counter()
            failures = bench_devices(client, chosen, [model], plan, lambda info: binary, results.append)
            times["wall"].append(time.perf_counter() - t0)
            if failures:
                raise SystemExit(f"harness run failed: {failures[0].message}")
            times["harness"].append(results[0].latency.median)
    finally:
        phone.stop()
        adb.kill_server(port)
    return times


def summary(args: argparse.Namespace, model: Path, times: dict[str, list[float]]) -> dict:
    direct, harness, wall = times["direct"], times["harness"], times["wall"]
    d_med, h_med = statistics.median(direct), statistics.median(harness)
    r = bootstrap_ratio(direct, harness)  # per repeat harness / direct, repeats resampled
    ratio, low, high = r.median, r.low, r.high
    return {
        "model": str(model), "repeats": args.repeats, "runs_per_repeat": args.runs, "threads": args.threads,
        "direct_median_ms": direct, "harness_median_ms": harness, "harness_wall_s": wall,
        "direct_median_of_medians_ms": d_med, "harness_median_of_medians_ms": h_med, "difference_ms": h_med - d_med,
        "ratio": ratio, "ratio_low": low, "ratio_high": high, "direct_cv": cv(direct), "harness_cv": cv(harness),
        "harness_wall_median_s": statistics.median(wall),
    }  # fmt: skip


def print_table(console: Console, model: Path, result: dict) -> None:
    table = Table(title=f"Harness overhead: {model.name}, {result['repeats']} repeats x {result['runs_per_repeat']} "
                        f"runs, {result['threads']} threads")  # fmt: skip
    for col in ("Path", "Median of medians ms", "CV of repeat medians", "Wall s per repeat"):
        table.add_column(col)
    table.add_row("LiteRT direct (host)", f"{result['direct_median_of_medians_ms']:.3f}",
                  f"{100 * result['direct_cv']:.1f}%", "")  # fmt: skip
    table.add_row("adb -> emulated phone -> benchmark_model", f"{result['harness_median_of_medians_ms']:.3f}",
                  f"{100 * result['harness_cv']:.1f}%", f"{result['harness_wall_median_s']:.2f}")  # fmt: skip
    console.print(table)
    console.print(f"difference (harness - direct): {result['difference_ms']:+.3f} ms; harness / direct per repeat "
                  f"{result['ratio']:.3f} (95% CI {result['ratio_low']:.3f}-{result['ratio_high']:.3f})")  # fmt: skip


def main() -> int:
    args = parse_args()
    console = Console(width=140)
    work = scratch_dir("harness_overhead-")
    model = args.model or default_model(work)
    binary = work / "benchmark_model"
    binary.write_bytes(BINARY_MARKER + b"\n")
    result = summary(args, model, interleaved(args, model, binary))
    print_table(console, model, result)
    write_json(args.out, result)
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
