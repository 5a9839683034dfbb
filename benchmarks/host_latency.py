"""Host latency of the base model across runtimes, in one process and one run.

PyTorch eager, ONNX Runtime, and TFLite fp32 / fp16 / int8 (LiteRT + XNNPACK), 2 threads, at 256x256
and 224x448. Prints median ms with ratios to PyTorch, the model's FLOPs, and the share of this host's
measured fp32 matmul peak (2 threads) that each runtime reaches; writes JSON.

    python benchmarks/host_latency.py --out build/benchmarks/host_latency.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from mobiledepth.bench.host import HostBenchOptions, run_timed
from mobiledepth.convert import ConvertOptions, convert_checkpoint
from mobiledepth.fileio import scratch_dir, write_json
from mobiledepth.model import count_macs, init_checkpoint, load_model
from mobiledepth.records import host_device


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("build/benchmarks/host_latency.json"))
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: seeded mobiledepth-base")
    parser.add_argument("--sizes", default="256x256,224x448")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    console = Console(width=160)
    work = scratch_dir("host_latency-")
    ckpt = args.checkpoint or init_checkpoint("mobiledepth-base", work / "mobiledepth-base.pt", seed=0)
    peak = matmul_peak_gflops(args.threads)
    options_base = dict(threads=args.threads, warmup_runs=10, runs=args.runs)
    results = {
        "device": host_device(),
        "threads": args.threads,
        "matmul_peak_gflops": peak,
        "checkpoint": str(ckpt),
        "sizes": [],
    }
    table = Table(
        title=f"Host latency, {args.threads} threads, median of {args.runs} runs (fp32 matmul peak {peak:.1f} GFLOP/s)"
    )
    for col in ("Size", "Runtime", "Precision", "Median ms", "p90 ms", "vs PyTorch", "FPS", "GFLOP/s", "% of peak"):
        table.add_column(col)
    for size in args.sizes.split(","):
        h, w = (int(v) for v in size.split("x"))
        macs = count_macs(load_model(ckpt), h, w)
        conv = convert_checkpoint(ckpt, work / size, ConvertOptions(height=h, width=w, n_parity=2))
        files = [("pytorch", "fp32", str(ckpt))] + [
            (("onnxruntime" if f.format == "onnx" else "litert"), f.precision, f.path)
            for f in conv.files
            if f.precision != "int8-dynamic"
        ]
        entry = {"size": [h, w], "macs": macs, "flops": 2 * macs, "runs": []}
        torch_median = None
        for runtime, precision, path in files:
            r = run_timed(path, HostBenchOptions(height=h, width=w, **options_base))
            med = r["latency_ms"]["median"]
            torch_median = torch_median or med
            gflops = 2 * macs / (med / 1e3) / 1e9
            entry["runs"].append(
                {
                    "runtime": runtime,
                    "precision": precision,
                    "path": path,
                    "median_ms": med,
                    "p90_ms": r["latency_ms"]["p90"],
                    "ratio_vs_pytorch": torch_median / med,
                    "fps": 1000 / med,
                    "achieved_gflops": gflops,
                    "share_of_matmul_peak": gflops / peak,
                    "latency_ms": r["latency_ms"],
                }
            )
            table.add_row(
                size,
                runtime,
                precision,
                f"{med:.2f}",
                f"{r['latency_ms']['p90']:.2f}",
                f"{torch_median / med:.2f}x",
                f"{1000 / med:.1f}",
                f"{gflops:.1f}",
                f"{100 * gflops / peak:.0f}%",
            )
        results["sizes"].append(entry)
        console.print(f"{size}: {macs / 1e9:.3f} GMACs ({2 * macs / 1e9:.3f} GFLOPs)")
    console.print(table)
    console.print(
        "'% of peak' compares each runtime's achieved FLOP rate (int8 included, counted as FLOPs) with fp32 GEMM peak."
    )
    write_json(args.out, results)
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
