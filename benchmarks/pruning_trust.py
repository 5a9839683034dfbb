"""Does NetAdapt's "reached" hold when checked independently?

Runs ``mobiledepth prune --target-ratio R`` on the host N times (default 3, R = 0.8, 256x256, fp32);
after each run, an independent paired measurement (new worker process, 40 interleaved rounds) of the
final file against the base file. Table: target, NetAdapt's status and confirmed ratio, the
independent ratio with its 95% interval, iterations, rejected candidates, wall time. JSON too.

    python benchmarks/pruning_trust.py --out build/benchmarks/pruning_trust.json [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from android_bench.timing import PAIRED_RUNS_PER_ROUND, Timing
from mobiledepth.benchmark.host import bench_host_paired
from mobiledepth.data.synth import SynthOptions, write_synth_dataset
from mobiledepth.fileio import scratch_dir, write_json
from mobiledepth.records import host_device


def one_run(ckpt: Path, data: Path, out: Path, ratio: float, size: str, seed: int) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "mobiledepth",
        "prune",
        str(ckpt),
        "-o",
        str(out),
        "--target-ratio",
        str(ratio),
        "--device",
        "host",
        "--precision",
        "fp32",
        "--size",
        size,
        "--data",
        str(data),
        "--short-steps",
        "10",
        "--long-steps",
        "40",
        "--max-proposals",
        "4",
        "--seed",
        str(seed),
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    history = json.loads((out / "history.json").read_text())
    files = [Path(history["base"]["tflite"]), Path(history["final"]["tflite"])]
    independent = bench_host_paired(files, Timing(threads=2, warmup_runs=5, rounds=40), PAIRED_RUNS_PER_ROUND)[1]
    r = {"median": independent.paired.ratio_to_baseline.median, "low": independent.paired.ratio_to_baseline.low,
         "high": independent.paired.ratio_to_baseline.high}  # fmt: skip
    confirmation = history.get("confirmation", {}).get("ratio") or {}
    return {
        "seed": seed,
        "target_ratio": ratio,
        "exit": proc.returncode,
        "status": history["status"],
        "confirmed_ratio": confirmation.get("median"),
        "confirmed_high": confirmation.get("high"),
        "independent_ratio": r["median"],
        "independent_low": r["low"],
        "independent_high": r["high"],
        "within_budget": r["high"] <= ratio,
        "iterations": len(history["iterations"]),
        "rejected": sum(len(it.get("rejected", [])) for it in history["iterations"]),
        "wall_s": wall,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("build/benchmarks/pruning_trust.json"))
    parser.add_argument("--checkpoint", type=Path, default=Path("models/mobiledepth-base.pt"))
    parser.add_argument("--ratio", type=float, default=0.8)
    parser.add_argument("--size", default="256x256")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    console = Console(width=180)
    work = scratch_dir("pruning_trust-")
    data = write_synth_dataset(work / "data", SynthOptions(n=120, seed=5, pairs_per_image=40))
    rows = [one_run(args.checkpoint, data, work / f"run{k}", args.ratio, args.size, k) for k in range(args.runs)]
    table = Table(
        title=f"NetAdapt to {args.ratio}x on the host at {args.size}, then an independent paired check (40 rounds)"
    )
    for col in (
        "Run",
        "Status",
        "NetAdapt ratio (upper)",
        "Independent ratio (95% CI)",
        "Within budget",
        "Iterations",
        "Rejected",
        "Wall s",
    ):
        table.add_column(col)
    for r in rows:
        confirmed = "" if r["confirmed_ratio"] is None else f"{r['confirmed_ratio']:.3f} ({r['confirmed_high']:.3f})"
        table.add_row(
            str(r["seed"]),
            r["status"],
            confirmed,
            f"{r['independent_ratio']:.3f} ({r['independent_low']:.3f}-{r['independent_high']:.3f})",
            "yes" if r["within_budget"] else "NO",
            str(r["iterations"]),
            str(r["rejected"]),
            f"{r['wall_s']:.0f}",
        )
    console.print(table)
    write_json(args.out, {"device": host_device(), "rows": rows})
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
