"""Harness overhead: one model timed directly with LiteRT on this host, and through the full adb path
(Debian's adb server -> emulated phone -> emulated benchmark_model, which runs LiteRT on this same
host). Both paths time the same interpreter, so the difference is what the harness adds to a phone
measurement; the coefficient of variation of repeated runs says how repeatable each path is.

    python benchmarks/harness_overhead.py --out build/benchmarks/harness_overhead.json
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
from android_bench.runner import PhoneBenchOptions, bench_devices
from mobiledepth.bench.host import HostBenchOptions, run_timed
from mobiledepth.convert import ConvertOptions, convert_checkpoint
from mobiledepth.fileio import scratch_dir, write_json
from mobiledepth.model import init_checkpoint
from phone_emulator import EmulatedPhone, galaxy_s21
from phone_emulator.benchmark_tool import BINARY_MARKER


def cv(values: list[float]) -> float:
    return statistics.pstdev(values) / statistics.fmean(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("build/benchmarks/harness_overhead.json"))
    parser.add_argument("--model", type=Path, default=None, help=".tflite (default: base model, int8, 256x256)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    console = Console(width=140)
    work = scratch_dir("harness_overhead-")
    model = args.model
    if model is None:
        ckpt = init_checkpoint("mobiledepth-base", work / "base.pt", seed=0)
        conv = convert_checkpoint(ckpt, work / "conv", ConvertOptions(precisions=("fp32", "int8"), n_parity=2))
        model = Path(next(f.path for f in conv.files if f.precision == "int8"))
    binary = work / "benchmark_model"
    binary.write_bytes(BINARY_MARKER + b"\n")

    port = adb.free_local_port()
    adb.start_server(port)
    phone = EmulatedPhone(galaxy_s21(heat_c_per_s=0.0)).start()
    direct, harness, wall = [], [], []
    try:
        client = adb.client(port=port, start=False)
        adb.connect(client, phone.serial)
        time.sleep(0.5)
        registry = load_registry()
        chosen = resolve(phone.serial, connected(client, registry), registry)
        options = PhoneBenchOptions(
            threads=args.threads, warmup_runs=5, warmup_seconds=0.0, runs=args.runs, min_seconds=0.0, max_temp_c=90.0
        )
        for _ in range(args.repeats):  # interleaved, so drift on the host hits both paths alike
            r = run_timed(str(model), HostBenchOptions(threads=args.threads, warmup_runs=5, runs=args.runs))
            direct.append(r["latency_ms"]["median"])
            records: list[dict] = []
            t0 = time.perf_counter()
            failures = bench_devices(client, chosen, [model], options, lambda info: binary, records.append)
            wall.append(time.perf_counter() - t0)
            if failures:
                raise SystemExit(f"harness run failed: {failures[0].message}")
            harness.append(records[0]["latency_ms"]["median"])
    finally:
        phone.stop()
        adb.kill_server(port)
    d_med, h_med = statistics.median(direct), statistics.median(harness)
    result = {
        "model": str(model),
        "repeats": args.repeats,
        "runs_per_repeat": args.runs,
        "threads": args.threads,
        "direct_median_ms": direct,
        "harness_median_ms": harness,
        "harness_wall_s": wall,
        "direct_median_of_medians_ms": d_med,
        "harness_median_of_medians_ms": h_med,
        "difference_ms": h_med - d_med,
        "ratio": h_med / d_med,
        "direct_cv": cv(direct),
        "harness_cv": cv(harness),
        "harness_wall_median_s": statistics.median(wall),
    }
    table = Table(
        title=f"Harness overhead: {model.name}, {args.repeats} repeats x {args.runs} runs, {args.threads} threads"
    )
    for col in ("Path", "Median of medians ms", "CV of repeat medians", "Wall s per repeat"):
        table.add_column(col)
    table.add_row("LiteRT direct (host)", f"{d_med:.3f}", f"{100 * cv(direct):.1f}%", "")
    table.add_row(
        "adb -> emulated phone -> benchmark_model",
        f"{h_med:.3f}",
        f"{100 * cv(harness):.1f}%",
        f"{statistics.median(wall):.2f}",
    )
    console.print(table)
    console.print(f"difference (harness - direct): {h_med - d_med:+.3f} ms ({100 * (h_med / d_med - 1):+.1f}%)")
    write_json(args.out, result)
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
