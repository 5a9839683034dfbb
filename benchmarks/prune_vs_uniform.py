"""NetAdapt against uniform width scaling, at equal MEASURED host latency, same fine-tuning budget.

1. NetAdapt prunes the trained base model to ``--target-ratio`` of its measured host latency.
2. A uniformly width-scaled copy (every channel group x s, multiples of 8, filters kept by L2 norm)
   is chosen so that its measured latency matches NetAdapt's final latency (bisection on s, each
   candidate converted and benchmarked like NetAdapt's).
3. The uniform model is fine-tuned for as many steps as NetAdapt's final model received on its path
   (short-term steps of every accepted proposal + the long-term fine-tune).
Both are scored on the same held-out test split. Prints WHDR and latency for both; writes JSON.

    python benchmarks/prune_vs_uniform.py --checkpoint models/mobiledepth-base.pt --data build/synth_train
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from mobiledepth.fileio import write_json
from mobiledepth.model import count_parameters, load_checkpoint
from mobiledepth.prune.latency import Measurer
from mobiledepth.prune.netadapt import NetAdapt, PruneOptions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=Path("models/mobiledepth-base.pt"))
    parser.add_argument("--data", type=Path, default=Path("build/synth_train"))
    parser.add_argument("--out", type=Path, default=Path("build/benchmarks/prune_vs_uniform"))
    parser.add_argument("--target-ratio", type=float, default=0.7)
    parser.add_argument("--size", default="256x256")
    parser.add_argument("--short-steps", type=int, default=15)
    parser.add_argument("--long-steps", type=int, default=150)
    parser.add_argument("--max-proposals", type=int, default=6)
    parser.add_argument("--initial-ratio", type=float, default=0.1)
    parser.add_argument(
        "--netadapt-dir", type=Path, default=None, help="reuse a finished `mobiledepth prune` run (its history.json)"
    )
    args = parser.parse_args()
    console = Console(width=140)
    h, w = (int(v) for v in args.size.split("x"))
    t0 = time.time()
    measurer = Measurer(device="host", precision="fp32", height=h, width=w, threads=2, calib=args.data)
    options = PruneOptions(
        target_ratio=args.target_ratio,
        data=args.data,
        initial_ratio=args.initial_ratio,
        max_proposals=args.max_proposals,
        short_steps=args.short_steps,
        long_steps=args.long_steps,
    )
    na_dir = args.netadapt_dir or args.out / "netadapt"
    netadapt = NetAdapt(args.checkpoint, na_dir, options, measurer, echo=console.print)
    done = na_dir / "history.json"
    history = json.loads(done.read_text()) if args.netadapt_dir and done.is_file() else netadapt.run().to_dict()
    if "final" not in history:
        raise SystemExit(f"{done}: that NetAdapt run has not finished")
    args.short_steps = history["options"]["short_steps"]
    args.long_steps = history["options"]["long_steps"]
    na_ms, na_whdr = history["final"]["measured_ms"], history["final"]["test_whdr"]
    steps = len(history["iterations"]) * args.short_steps + args.long_steps

    base = load_checkpoint(args.checkpoint).build(with_heads=False).eval()
    lo, hi = 0.3, 1.0
    best = None
    for k in range(6):  # bisection on the width multiplier against measured latency
        s = (lo + hi) / 2
        model = netadapt.uniform(base, s)
        ms, _, _ = measurer.measure(model, args.out / "uniform", f"uniform_x{s:.3f}")
        if best is None or abs(ms - na_ms) < abs(best[1] - na_ms):
            best = (s, ms, model)
        if ms > na_ms:
            hi = s
        else:
            lo = s
    s, uni_ms, uni = best
    uni = netadapt.finetune(uni, steps, seed=12345)
    uni_ms, _, _ = measurer.measure(uni, args.out / "uniform", "uniform_final")
    uni_whdr = netadapt.whdr(uni, netadapt.test_entries)
    base_whdr = netadapt.whdr(base, netadapt.test_entries)
    result = {
        "target_ratio": args.target_ratio,
        "base_ms": history["base"]["measured_ms"],
        "base_test_whdr": base_whdr,
        "base_params": count_parameters(base),
        "netadapt": {
            "measured_ms": na_ms,
            "test_whdr": na_whdr,
            "params": history["final"]["params"],
            "iterations": len(history["iterations"]),
        },
        "uniform": {"scale": s, "measured_ms": uni_ms, "test_whdr": uni_whdr, "params": count_parameters(uni)},
        "finetune_steps_each": steps,
        "wall_s": time.time() - t0,
    }
    table = Table(title=f"NetAdapt vs uniform width scaling, host fp32 {h}x{w}, {steps} fine-tune steps each")
    for col in ("Model", "Params", "Measured ms", "Test WHDR"):
        table.add_column(col)
    table.add_row(
        "base (unpruned)", f"{count_parameters(base):,}", f"{history['base']['measured_ms']:.3f}", f"{base_whdr:.4f}"
    )
    table.add_row(
        f"NetAdapt ({len(history['iterations'])} iterations)",
        f"{history['final']['params']:,}",
        f"{na_ms:.3f}",
        f"{na_whdr:.4f}",
    )
    table.add_row(f"uniform x{s:.3f}", f"{count_parameters(uni):,}", f"{uni_ms:.3f}", f"{uni_whdr:.4f}")
    console.print(table)
    write_json(args.out / "prune_vs_uniform.json", result)
    console.print(f"wrote {args.out / 'prune_vs_uniform.json'} ({result['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
