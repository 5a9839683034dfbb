"""Training throughput: images/s for forward + backward + Adam step of the base model (with its
intermediate heads) at 224x448, batch 4 (the paper's DIW setting), on the CPU and on a GPU when one
is available (with and without mixed precision); peak memory. Median of timed steps after warm-up.

    python benchmarks/train_throughput.py --out build/benchmarks/train_throughput.json
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from mobiledepth.fileio import write_json
from mobiledepth.model import MobileDepth, get_config
from mobiledepth.train.losses import ranking_loss, with_intermediate
from mobiledepth.train.trainer import optimizer_step


def measure(device: str, amp: bool, batch: int, size: tuple[int, int], steps: int, warmup: int) -> dict:
    torch.manual_seed(0)
    model = MobileDepth(get_config("mobiledepth-base")).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler("cuda") if amp else None
    x = torch.rand(batch, 3, *size, device=device)
    g = torch.Generator().manual_seed(0)
    pairs = (
        torch.stack(
            [
                torch.randint(0, size[0], (batch, 64), generator=g),
                torch.randint(0, size[1], (batch, 64), generator=g),
                torch.randint(0, size[0], (batch, 64), generator=g),
                torch.randint(0, size[1], (batch, 64), generator=g),
                torch.randint(0, 2, (batch, 64), generator=g) * 2 - 1,
            ],
            -1,
        )
        .float()
        .to(device)
    )
    mask = torch.ones(batch, 64, device=device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for i in range(warmup + steps):
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast(device, dtype=torch.float16, enabled=amp):
            out = model(x)
            loss = with_intermediate(ranking_loss, [out.depth, *out.aux], pairs, mask)
        optimizer_step(loss, opt, scaler)
        if device == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    peak = (
        torch.cuda.max_memory_allocated() / 2**20
        if device == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    return {
        "device": device,
        "amp": amp,
        "batch": batch,
        "size": list(size),
        "median_step_s": med,
        "images_per_s": batch / med,
        "step_s": times,
        "peak_memory_mb": peak,
        "peak_memory_kind": "cuda max allocated" if device == "cuda" else "process max RSS",
        "threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name() if device == "cuda" else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("build/benchmarks/train_throughput.json"))
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", default="224x448")
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    runs = [measure("cpu", False, args.batch, size, args.steps, 2)]
    if torch.cuda.is_available():
        runs += [
            measure("cuda", False, args.batch, size, args.steps * 5, 5),
            measure("cuda", True, args.batch, size, args.steps * 5, 5),
        ]
    table = Table(title=f"Training throughput, base model with heads, batch {args.batch}, {size[0]}x{size[1]}")
    for col in ("Device", "AMP", "Threads", "Median step s", "Images/s", "Peak MB"):
        table.add_column(col)
    for r in runs:
        table.add_row(
            r["gpu"] or "cpu",
            str(r["amp"]),
            str(r["threads"]),
            f"{r['median_step_s']:.3f}",
            f"{r['images_per_s']:.1f}",
            f"{r['peak_memory_mb']:.0f}",
        )
    Console(width=140).print(table)
    write_json(args.out, {"runs": runs})
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
