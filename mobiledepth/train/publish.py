"""Publish a trained checkpoint into the model zoo: measure it on the held-out test split (never seen
in training or validation), record that in its metadata, and write it atomically.

    python -m mobiledepth.train.publish build/train/synth_demo/final.pt models/mobiledepth-base.pt
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..evaluation import EvalOptions, evaluate_file, evaluate_real
from ..model.checkpoint import load_checkpoint, save_checkpoint


def publish(source: Path, target: Path, test_data: Path | None, sizes: list[tuple[int, int]]) -> dict:
    """The checkpoint with its held-out figures in its metadata: synthetic test WHDR per size, and WHDR on the
    real photograph (scikit-image's Middlebury scene) beside the "higher is farther" prior."""
    ckpt = load_checkpoint(source)
    metrics = dict(ckpt.metadata.get("metrics") or {})
    if test_data is not None:
        for h, w in sizes:
            rec = evaluate_file(source, test_data, EvalOptions(split="test", size=(h, w)))
            metrics[f"test_whdr_{h}x{w}"] = rec.whdr
            metrics["test_pairs"] = rec.dataset.pairs
            if rec.dense is not None:
                metrics[f"test_delta1_{h}x{w}"] = rec.dense.delta1
    for h, w in sizes:
        real = evaluate_real(source, EvalOptions(size=(h, w)))
        metrics[f"real_whdr_motorcycle_{h}x{w}"] = real.whdr
        if real.prior is not None:
            metrics["real_prior_whdr_motorcycle"] = real.prior.whdr
    model = ckpt.build(with_heads=True)
    meta = {k: v for k, v in ckpt.metadata.items() if not k.startswith("_") and k not in ("created", "params")}
    meta["metrics"] = metrics
    save_checkpoint(target, model, meta)
    return metrics


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--test-data", type=Path, default=Path("build/synth_train"))
    parser.add_argument("--sizes", default="256x256,224x448")
    args = parser.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    metrics = publish(args.source, args.target, args.test_data if args.test_data.exists() else None, sizes)
    print(f"wrote {args.target}: {metrics}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
