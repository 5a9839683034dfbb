"""Host latency of the base model across runtimes, paired in one worker process.

PyTorch eager, ONNX Runtime, and TFLite fp32 / fp16 / int8 (LiteRT + XNNPACK), 2 threads, at 256x256
and 224x448, timed in interleaved rounds (``bench --paired``): each runtime's median of round medians,
its speed-up over PyTorch with a 95% interval over rounds, the model's FLOPs, and the share of this
host's measured fp32 matmul peak (same threads) that each runtime reaches; writes JSON. Paired, because
separate processes minutes apart drift by 5-15% on a shared host, as much as the gaps being compared.

    python benchmarks/host_latency.py --out build/benchmarks/host_latency.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from android_bench.timing import HOST_TIMING, PAIRED_RUNS_PER_ROUND, Timing
from mobiledepth.api import convert
from mobiledepth.benchmark.host import bench_host_paired
from mobiledepth.conversion.options import ConvertOptions
from mobiledepth.fileio import scratch_dir, write_json
from mobiledepth.model import count_macs, init_checkpoint, load_model
from mobiledepth.records import Interval, host_device

COLUMNS = ("Size", "Runtime", "Precision", "Median ms", "Speed-up vs PyTorch (95% CI)", "FPS", "GFLOP/s", "% of peak")


def matmul_peak_gflops(threads: int, n: int = 2048, repeats: int = 10) -> float:
    """Best-of fp32 GEMM throughput with ``threads`` threads (torch's BLAS). n=2048: smaller sizes
    under-report the peak on AVX-512 hosts (1024 gave 146 vs 191 GFLOP/s with 2 threads here)."""
    torch.set_num_threads(threads)
    a, b = torch.rand(n, n), torch.rand(n, n)
    for _ in range(5):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def runtime_files(ckpt: Path, work: Path, h: int, w: int) -> list[tuple[str, str, str]]:
    """(runtime, precision, path) for PyTorch first (the baseline every ratio is taken against), then each
    converted file but the dynamic-range one (written only when asked, and slow on XNNPACK)."""
    conv = convert(ckpt, work / f"{h}x{w}", ConvertOptions(size=(h, w), n_parity=2, speed=False))
    files = [("pytorch", "fp32", str(ckpt))]
    for f in conv.files:
        if f.precision != "int8-dynamic":
            files.append(("onnxruntime" if f.format == "onnx" else "litert", f.precision, f.path))
    return files


def size_entry(ckpt: Path, work: Path, size: str, options: Timing, peak: float) -> dict:
    """Every runtime at one input size, timed interleaved; speed-up = PyTorch / runtime per round."""
    h, w = (int(v) for v in size.split("x"))
    macs = count_macs(load_model(ckpt), h, w)
    files = runtime_files(ckpt, work, h, w)
    records = bench_host_paired([Path(path) for _, _, path in files], options, PAIRED_RUNS_PER_ROUND, size=(h, w))
    runs = []
    for (runtime, precision, path), record in zip(files, records):
        med = record.latency_ms.median
        ratio = record.paired.ratio_to_baseline or Interval(1.0, 1.0, 1.0)
        s = ratio.speedup()
        speedup, low, high = s.median, s.low, s.high
        gflops = 2 * macs / (med / 1e3) / 1e9
        runs.append({
            "runtime": runtime, "precision": precision, "path": path, "median_ms": med,
            "speedup_vs_pytorch": speedup, "speedup_low": low, "speedup_high": high, "fps": 1000 / med,
            "achieved_gflops": gflops,
            "share_of_matmul_peak": gflops / peak, "round_medians_ms": record.paired.round_medians_ms,
        })  # fmt: skip
    return {"size": [h, w], "macs": macs, "flops": 2 * macs, "runs": runs}


def table_of(results: dict) -> Table:
    peak = results["matmul_peak_gflops"]
    title = (f"Host latency, {results['threads']} threads, paired: {results['rounds']} rounds x "
             f"{results['runs_per_round']} runs (fp32 matmul peak {peak:.1f} GFLOP/s)")  # fmt: skip
    table = Table(title=title)
    for col in COLUMNS:
        table.add_column(col)
    for entry in results["sizes"]:
        size = "x".join(str(v) for v in entry["size"])
        for r in entry["runs"]:
            speedup = f"{r['speedup_vs_pytorch']:.2f}x ({r['speedup_low']:.2f}-{r['speedup_high']:.2f})"
            table.add_row(size, r["runtime"], r["precision"], f"{r['median_ms']:.2f}", speedup, f"{r['fps']:.1f}",
                          f"{r['achieved_gflops']:.1f}", f"{100 * r['share_of_matmul_peak']:.0f}%")  # fmt: skip
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("build/benchmarks/host_latency.json"))
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: seeded mobiledepth-base")
    parser.add_argument("--sizes", default="256x256,224x448")
    parser.add_argument("--threads", type=int, default=HOST_TIMING.threads)
    parser.add_argument("--rounds", type=int, default=HOST_TIMING.rounds)
    args = parser.parse_args()
    console = Console(width=160)
    work = scratch_dir("host_latency-")
    ckpt = args.checkpoint or init_checkpoint("mobiledepth-base", work / "mobiledepth-base.pt", seed=0)
    options = Timing(rounds=args.rounds, threads=args.threads).over(HOST_TIMING)
    peak = matmul_peak_gflops(args.threads)
    results = {"device": host_device(), "threads": args.threads, "rounds": options.rounds,
               "runs_per_round": PAIRED_RUNS_PER_ROUND, "matmul_peak_gflops": peak, "checkpoint": str(ckpt),
               "sizes": [size_entry(ckpt, work, size, options, peak) for size in args.sizes.split(",")]}  # fmt: skip
    for entry in results["sizes"]:
        console.print(f"{entry['size'][0]}x{entry['size'][1]}: {entry['macs'] / 1e9:.3f} GMACs "
                      f"({entry['flops'] / 1e9:.3f} GFLOPs)")  # fmt: skip
    console.print(table_of(results))
    console.print("'% of peak' compares each runtime's FLOP rate (int8 counted as FLOPs) with the fp32 GEMM peak.")
    write_json(args.out, results)
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
