"""int8 against fp32, per checkpoint: task WHDR on held-out scenes and paired latency (LiteRT + XNNPACK).

For every checkpoint given (default: the shipped model) and every size: convert to fp32 + int8, score
both on a freshly rendered held-out set (105 scenes, 10,500 DIW pairs, never used for training or
calibration), report the paired WHDR drop (pairs lost - pairs gained), the ordering disagreement with
PyTorch, and the int8/fp32 latency ratio measured interleaved in one process. A second table times the
MobileNetV2 encoder alone the same way: the int8/fp32 ratio the backbone itself gets on this CPU, the
reference for the whole network's ratio. Table + JSON.

    python benchmarks/int8_accuracy.py --out build/benchmarks/int8_accuracy.json \
        --model shipped=models/mobiledepth-base.pt --model pruned=build/prune/final.pt
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from mobiledepth.bench.paired import PairedOptions, paired_host
from mobiledepth.convert import ConvertOptions, convert_checkpoint
from mobiledepth.data.synth import SynthOptions, write_synth_dataset
from mobiledepth.fileio import write_json
from mobiledepth.model.checkpoint import load_model
from mobiledepth.records import host_device

HELDOUT = SynthOptions(n=700, height=192, width=256, pairs_per_image=100, seed=777)  # test split: 105 scenes


def measure(name: str, ckpt: Path, size: tuple[int, int], heldout: Path, work: Path, paired: PairedOptions) -> dict:
    h, w = size
    report = convert_checkpoint(
        ckpt,
        work / f"{name}_{h}x{w}",
        ConvertOptions(precisions=("fp32", "int8"), height=h, width=w, parity_data=heldout, n_parity=8),
    )
    files = {f.precision: f for f in report.files if f.format == "tflite"}
    timing = paired_host([files["fp32"].path, files["int8"].path], paired)
    ratio = timing.ratios[0]
    fp32, int8 = files["fp32"], files["int8"]
    return {
        "model": name,
        "checkpoint": str(ckpt),
        "size": [h, w],
        "pairs": int8.task.pairs,
        "source_whdr": report.task["source_whdr"],
        "fp32_whdr": fp32.task.whdr,
        "int8_whdr": int8.task.whdr,
        "int8_drop": int8.task.drop,
        "pairs_lost": int8.task.lost,
        "pairs_gained": int8.task.gained,
        "order_err_vs_torch": int8.parity.whdr_vs_torch,
        "ties_vs_torch": int8.parity.ties_vs_torch,
        "gate": int8.status,
        "fp32_ms": timing.median_ms[fp32.path],
        "int8_ms": timing.median_ms[int8.path],
        "speedup": 1.0 / ratio.median,
        "speedup_low": 1.0 / ratio.high,
        "speedup_high": 1.0 / ratio.low,
        "rounds": timing.rounds,
        "runs_per_round": timing.runs_per_round,
    }


class EncoderAlone(torch.nn.Module):
    """The model's normalisation + MobileNetV2 encoder, its last map averaged to one channel (the converter
    wants one map out). Why: the int8/fp32 speed ratio XNNPACK gives the stock backbone on this CPU is
    the reference for what the whole network can reach; no decoder choice is involved."""

    def __init__(self, checkpoint: Path) -> None:
        super().__init__()
        self.model = load_model(checkpoint).eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.encoder(self.model.normalise(x))[0].mean(1, keepdim=True)


def measure_backbone(ckpt: Path, size: tuple[int, int], work: Path, paired: PairedOptions) -> dict:
    """Speed only: the encoder's int8 file against its fp32 file, interleaved like the full models."""
    h, w = size
    report = convert_checkpoint(
        EncoderAlone(ckpt), work / f"encoder_{h}x{w}", ConvertOptions(precisions=("fp32", "int8"), height=h, width=w)
    )
    files = {f.precision: f.path for f in report.files if f.format == "tflite"}
    timing = paired_host([files["fp32"], files["int8"]], paired)
    ratio = timing.ratios[0]
    return {
        "model": "MobileNetV2 encoder alone",
        "checkpoint": str(ckpt),
        "size": [h, w],
        "fp32_ms": timing.median_ms[files["fp32"]],
        "int8_ms": timing.median_ms[files["int8"]],
        "speedup": 1.0 / ratio.median,
        "speedup_low": 1.0 / ratio.high,
        "speedup_high": 1.0 / ratio.low,
        "rounds": timing.rounds,
    }


def speed_cells(r: dict) -> list[str]:
    """fp32 ms, int8 ms and the paired speed-up with its interval: the same three cells in both tables."""
    ci = f"{r['speedup']:.2f}x ({r['speedup_low']:.2f}-{r['speedup_high']:.2f})"
    return [f"{r['fp32_ms']:.2f}", f"{r['int8_ms']:.2f}", ci]


def backbone_table(rows: list[dict], rounds: int) -> Table:
    table = Table(title=f"Reference: the backbone alone, int8 vs fp32, paired ({rounds} rounds)")
    for col in ("Model", "Size", "fp32 ms", "int8 ms", "Speed-up (95% CI)"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["model"], "x".join(map(str, r["size"])), *speed_cells(r))
    return table


def measure_all(models: list, sizes: list[str], work: Path, paired: PairedOptions) -> tuple[list, list]:
    heldout = write_synth_dataset(work / "heldout", HELDOUT)
    hw = [tuple(int(v) for v in size.split("x")) for size in sizes]
    rows = [measure(name, Path(path), size, heldout, work, paired) for name, path in models for size in hw]
    backbone = [measure_backbone(Path(models[0][1]), size, work, paired) for size in hw]
    return rows, backbone


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("build/benchmarks/int8_accuracy.json"))
    parser.add_argument(
        "--model",
        action="append",
        default=None,
        help="NAME=CHECKPOINT (repeatable); default: shipped=models/mobiledepth-base.pt",
    )
    parser.add_argument("--sizes", default="256x256,224x448")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    console = Console(width=180)
    models = [m.split("=", 1) for m in (args.model or ["shipped=models/mobiledepth-base.pt"])]
    with tempfile.TemporaryDirectory(prefix="int8_accuracy-") as scratch:  # converted files and scenes: removed
        rows, backbone = measure_all(models, args.sizes.split(","), Path(scratch), PairedOptions(rounds=args.rounds))
    table = Table(
        title=(
            f"int8 vs fp32 on {rows[0]['pairs']} held-out pairs; latency paired ({args.rounds} rounds), LiteRT + "
            "XNNPACK, 2 threads"
        )
    )
    for col in (
        "Model",
        "Size",
        "fp32 WHDR",
        "int8 WHDR",
        "Drop",
        "Lost/gained",
        "Order err",
        "Ties",
        "Gate",
        "fp32 ms",
        "int8 ms",
        "Speed-up (95% CI)",
    ):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["model"],
            "x".join(map(str, r["size"])),
            f"{r['fp32_whdr']:.4f}",
            f"{r['int8_whdr']:.4f}",
            f"{r['int8_drop']:+.4f}",
            f"{r['pairs_lost']}/{r['pairs_gained']}",
            f"{r['order_err_vs_torch']:.4f}",
            f"{r['ties_vs_torch']:.4f}",
            r["gate"],
            *speed_cells(r),
        )
    console.print(table)
    console.print(backbone_table(backbone, args.rounds))
    write_json(
        args.out,
        {"device": host_device(), "heldout": {"scenes": 105, "seed": HELDOUT.seed}, "rows": rows, "backbone": backbone},
    )
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
