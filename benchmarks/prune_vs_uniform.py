"""NetAdapt against uniform width scaling, at equal MEASURED host latency, same fine-tuning budget.

1. NetAdapt prunes the trained base model to ``--target-ratio`` of its measured host latency (or a
   finished `mobiledepth prune` run is reused: ``--netadapt-dir``).
2. A uniformly width-scaled copy (every channel group x s, multiples of 8, filters kept by L2 norm) is
   matched to NetAdapt's final file by bisection on s, each candidate converted like NetAdapt's and timed
   PAIRED against that file (10 interleaved rounds): separate processes drift as much as the gap sought.
3. The uniform model is fine-tuned for as many steps as NetAdapt's final model received on its path
   (short-term steps of every accepted proposal + the long-term fine-tune).
4. Base, NetAdapt and uniform files are timed together, paired (40 rounds): ratios to the base with 95%
   intervals. Both pruned models are scored on the same held-out test split. Table + JSON.

    python benchmarks/prune_vs_uniform.py --checkpoint models/mobiledepth-base.pt [--data DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from mobiledepth.benchmark.paired import bootstrap_ratio
from mobiledepth.data.synth import SynthOptions, write_synth_dataset
from mobiledepth.fileio import write_json
from mobiledepth.model import count_parameters, load_checkpoint
from mobiledepth.pruning.channels import ConfigChannels
from mobiledepth.pruning.latency import Measurer
from mobiledepth.pruning.netadapt import width_scaled
from mobiledepth.pruning.options import PruneOptions
from mobiledepth.pruning.runs import prune_checkpoint
from mobiledepth.pruning.store import RunStore
from mobiledepth.pruning.tuning import RankingTuner
from mobiledepth.records.pruning import PruneHistory

MATCH_ROUNDS = 10  # per bisection candidate
FINAL_ROUNDS = 40  # the comparison the table reports
BISECTION_STEPS = 6
CHANNEL_STEP = PruneOptions.__dataclass_fields__["channel_step"].default


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=Path("models/mobiledepth-base.pt"))
    parser.add_argument("--data", type=Path, default=None, help="fine-tuning data (default: 120 rendered scenes)")
    parser.add_argument("--out", type=Path, default=Path("build/benchmarks/prune_vs_uniform"))
    parser.add_argument("--target-ratio", type=float, default=0.7)
    parser.add_argument("--size", default="256x256")
    parser.add_argument("--short-steps", type=int, default=15)
    parser.add_argument("--long-steps", type=int, default=150)
    parser.add_argument("--max-proposals", type=int, default=6)
    parser.add_argument("--initial-ratio", type=float, default=0.1)
    parser.add_argument("--netadapt-dir", type=Path, default=None,
                        help="reuse a finished `mobiledepth prune` run (its history.json)")  # fmt: skip
    return parser.parse_args()


def netadapt_history(args: argparse.Namespace, options: PruneOptions, measurer: Measurer, na_dir: Path,
                     console: Console) -> PruneHistory:  # fmt: skip
    """A finished run's history, reused when given, else NetAdapt run here."""
    if args.netadapt_dir:
        history = RunStore(na_dir, console.print).load()
    else:
        history = prune_checkpoint(args.checkpoint, na_dir, options, measurer, echo=console.print)
    if history is None or history.final is None:
        raise SystemExit(f"{na_dir / 'history.json'}: that NetAdapt run has not finished")
    return history


def match_width(source: ConfigChannels, measurer: Measurer, base, na_tflite: Path, out: Path,
                console: Console) -> float:  # fmt: skip
    """Bisection on the width multiplier s until the uniform file times like NetAdapt's: each candidate's
    median per-round ratio to NetAdapt's file, the two interleaved in one run (``bootstrap_ratio``)."""
    lo, hi, best, best_ratio = 0.3, 1.0, 1.0, float("inf")
    for _ in range(BISECTION_STEPS):
        s = (lo + hi) / 2
        tflite = measurer.file_of(width_scaled(source, base, s, CHANNEL_STEP), out, f"uniform_x{s:.3f}")
        ratio = bootstrap_ratio(*measurer.paired([na_tflite, tflite], rounds=MATCH_ROUNDS)).median
        console.print(f"uniform x{s:.3f}: {ratio:.3f}x NetAdapt's final latency (paired, {MATCH_ROUNDS} rounds)")
        if abs(ratio - 1) < abs(best_ratio - 1):
            best, best_ratio = s, ratio
        lo, hi = (lo, s) if ratio > 1 else (s, hi)
    return best


def paired_rows(measurer: Measurer, files: list[Path]) -> list[dict]:
    """Each file's median of round medians and its ratio to the first file (95% interval), one paired run."""
    from mobiledepth.benchmark.run import run_bench
    from mobiledepth.records import Interval

    outcome = run_bench(measurer.request(files, FINAL_ROUNDS))
    outcome.raise_problems()
    rows = []
    for record in outcome.records:
        ratio = record.paired.ratio_to_baseline or Interval(1.0, 1.0, 1.0)
        rows.append({"median_ms": record.latency_ms.median, "ratio_to_base": ratio.median,
                     "ratio_low": ratio.low, "ratio_high": ratio.high})  # fmt: skip
    return rows


def print_table(console: Console, result: dict) -> None:
    steps = result["finetune_steps_each"]
    table = Table(title=f"NetAdapt vs uniform width scaling, host fp32 {result['size']}, {steps} fine-tune steps "
                        f"each, paired {FINAL_ROUNDS} rounds")  # fmt: skip
    for col in ("Model", "Params", "Median ms", "Latency / base (95% CI)", f"Test WHDR ({result['test_pairs']} pairs)"):
        table.add_column(col)
    for name in ("base", "netadapt", "uniform"):
        r = result[name]
        table.add_row(r["label"], f"{r['params']:,}", f"{r['median_ms']:.3f}",
                      f"{r['ratio_to_base']:.3f} ({r['ratio_low']:.3f}-{r['ratio_high']:.3f})",
                      f"{r['test_whdr']:.4f}")  # fmt: skip
    console.print(table)


def main() -> int:
    args, console, t0 = parse_args(), Console(width=140), time.time()
    h, w = (int(v) for v in args.size.split("x"))
    data = args.data or write_synth_dataset(args.out / "data", SynthOptions(n=120, seed=5, pairs_per_image=40))
    measurer = Measurer(device="host", precision="fp32", height=h, width=w, calib=data)
    options = PruneOptions(target_ratio=args.target_ratio, data=data, initial_ratio=args.initial_ratio,
                           max_proposals=args.max_proposals, short_steps=args.short_steps,
                           long_steps=args.long_steps)  # fmt: skip
    na_dir = args.netadapt_dir or args.out / "netadapt"
    history = netadapt_history(args, options, measurer, na_dir, console)
    steps = len(history.iterations) * history.options.short_steps + history.options.long_steps
    base = load_checkpoint(args.checkpoint).build(with_heads=False).eval()
    source = ConfigChannels((h, w))
    tuner = RankingTuner(data, options.data_kind, options.train_size, options.batch, options.lr, options.seed,
                         options.eval_limit)  # fmt: skip
    scale = match_width(source, measurer, base, Path(history.final.tflite), args.out / "uniform", console)
    uniform = tuner.finetune(width_scaled(source, base, scale, CHANNEL_STEP), steps, seed=12345)
    uni_tflite = measurer.file_of(uniform, args.out / "uniform", "uniform_final")
    files = [Path(history.base.tflite), Path(history.final.tflite), uni_tflite]
    timed = paired_rows(measurer, files)
    result = {
        "target_ratio": args.target_ratio, "size": args.size, "finetune_steps_each": steps,
        "test_pairs": sum(len(image.pairs) for image in tuner.entries["test"]),
        "base": {"label": "base (unpruned)", "params": count_parameters(base),
                 "test_whdr": tuner.score(base, "test"), **timed[0]},
        "netadapt": {"label": f"NetAdapt ({len(history.iterations)} iterations)",
                     "params": history.final.params, "test_whdr": history.final.test_whdr,
                     "iterations": len(history.iterations), **timed[1]},
        "uniform": {"label": f"uniform x{scale:.3f}", "scale": scale, "params": count_parameters(uniform),
                    "test_whdr": tuner.score(uniform, "test"), **timed[2]},
    }  # fmt: skip
    result["wall_s"] = time.time() - t0
    print_table(console, result)
    write_json(args.out / "prune_vs_uniform.json", result)
    console.print(f"wrote {args.out / 'prune_vs_uniform.json'} ({result['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
