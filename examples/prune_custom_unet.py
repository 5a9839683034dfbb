"""Prune a custom U-Net end to end on the host with ``mobiledepth.pruning`` (NetAdapt on any nn.Module).

    python examples/prune_custom_unet.py [--out build/examples/unet] [--target 0.8]

1. renders a small synthetic depth dataset (seeded, no download),
2. trains a U-Net that is NOT mobiledepth's network (its own layers, skip connections, ImageNet
   normalisation inside) for a few hundred steps on a scale-and-shift-invariant loss,
3. prunes it to ``--target`` x its latency, measured paired in ONNX Runtime, with Torch-Pruning's
   dependency graph finding the channel groups (no configuration written for this network),
4. prints base and pruned latency (paired: median of round medians and the ratio's 95% interval) and
   accuracy (WHDR on held-out pairs, lower is better), and writes ``result.json``.
About 3-5 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

import mobiledepth as md
from mobiledepth.data.diw import read_diw_csv
from mobiledepth.data.images import load_rgb, resize_rgb
from mobiledepth.data.synth import SynthOptions, write_synth_dataset
from mobiledepth.evaluation import score_entries

H, W = 96, 128
MEAN, STD = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """Encoder 32-64-128, decoder with skip concatenations, one output channel (larger = farther)."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1, self.enc2, self.enc3 = block(3, 32), block(32, 64), block(64, 128)
        self.pool = nn.MaxPool2d(2)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.dec2, self.dec1 = block(128 + 64, 64), block(64 + 32, 32)
        self.head = nn.Conv2d(32, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - MEAN) / STD
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        e3 = self.enc3(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up(e3), e2], 1))
        return self.head(self.dec1(torch.cat([self.up(d2), e1], 1)))


def load_split(data: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    entries = read_diw_csv(data / f"DIW_{split}.csv")
    images = np.stack([resize_rgb(load_rgb(e.path), H, W) for e in entries]).transpose(0, 3, 1, 2)
    depth = np.stack(
        [
            resize_rgb(np.repeat(np.load(data / "depth" / f"{e.path.stem}.npy")[..., None], 3, 2), H, W)[..., 0]
            for e in entries
        ]
    )
    return torch.from_numpy(images.astype(np.float32)), torch.from_numpy(np.log(depth.astype(np.float32))[:, None])


def normalised(t: torch.Tensor) -> torch.Tensor:
    flat = t.flatten(1)
    return ((flat - flat.mean(1, keepdim=True)) / (flat.std(1, keepdim=True) + 1e-6)).view_as(t)


def make_train_step(images: torch.Tensor, depth: torch.Tensor, lr: float = 2e-3, batch: int = 8):
    """A train_step for md.prune: one Adam step on a random batch (the optimiser is made per model)."""
    generator = torch.Generator().manual_seed(0)
    optimisers: dict[int, torch.optim.Optimizer] = {}

    def step(model: nn.Module) -> float:
        opt = optimisers.setdefault(id(model), torch.optim.Adam(model.parameters(), lr=lr))
        idx = torch.randint(0, len(images), (batch,), generator=generator)
        loss = (normalised(model(images[idx])) - normalised(depth[idx])).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def make_evaluate(data: Path, split: str = "val"):
    entries = read_diw_csv(data / f"DIW_{split}.csv")

    def evaluate(model: nn.Module) -> float:
        def predict(image: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return model(torch.from_numpy(image.transpose(2, 0, 1)[None].copy()))[0, 0].numpy()

        counts, _ = score_entries(predict, entries, H, W)
        return counts.whdr

    return evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/examples/unet"))
    parser.add_argument("--target", type=float, default=0.8)
    parser.add_argument("--train-steps", type=int, default=300)
    parser.add_argument("--workers", type=int, default=1, help="score proposals as this many Ray tasks")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    start = time.perf_counter()
    data = args.out / "data"
    if not (data / "synth.json").is_file():  # seeded: the same pixels every time, so it is rendered once
        write_synth_dataset(data, SynthOptions(n=120, height=H, width=W, pairs_per_image=60, seed=5))
    images, depth = load_split(data, "train")
    model, train_step, evaluate = UNet(), make_train_step(images, depth), make_evaluate(data)
    model.train()
    for i in range(args.train_steps):
        loss = train_step(model)
        if (i + 1) % 100 == 0:
            print(f"train step {i + 1}: loss {loss:.4f}")
    model.eval()
    options = md.PruneOptions(
        target_ratio=args.target,
        initial_ratio=0.25,
        max_iterations=6,
        short_steps=15,
        max_proposals=5,
        rounds=12,
        long_steps=args.train_steps // 2,
        workers=args.workers,
    )
    result = md.prune(model, options, args.out / "prune", torch.zeros(1, 3, H, W), train_step, evaluate)
    history = result.history
    test = make_evaluate(data, "test")  # val pairs steered the choices: report the untouched test pairs too
    print(f"\nstatus: {history.status} after {len(history.iterations)} iteration(s), {history.wall_s:.0f} s")
    for it in history.iterations:
        r = it.verification.step if it.verification else None
        paired = f"paired vs previous {r.median:.3f} [{r.low:.3f}, {r.high:.3f}], " if r else ""
        print(f"  {it.iteration}: {it.group} {it.width_from} -> {it.width_to} channels, val WHDR {it.whdr:.4f}, "
              f"{paired}params {it.params:,}")  # fmt: skip
    base_ms, final_ms = result_latency(model, result.model)
    base_test, final_test = test(model), test(result.model)
    final = history.final or history.base
    print(f"base:   {history.base.params:,} params, WHDR val {history.base.whdr:.4f} / test {base_test:.4f}, "
          f"{base_ms:.3f} ms (paired median of round medians)")  # fmt: skip
    print(f"pruned: {final.params:,} params, WHDR val {final.whdr:.4f} / test {final_test:.4f}, {final_ms:.3f} ms")
    if history.confirmation is not None:
        ratio = history.confirmation.ratio
        print(f"pruned / base latency (paired): {ratio.median:.3f}, 95% interval [{ratio.low:.3f}, {ratio.high:.3f}]")
    summary = {"status": history.status, "iterations": len(history.iterations), "base_params": history.base.params,
               "final_params": final.params, "base_ms": base_ms, "final_ms": final_ms, "base_test_whdr": base_test,
               "final_test_whdr": final_test, "wall_s": time.perf_counter() - start}  # fmt: skip
    (args.out / "result.json").write_text(json.dumps(summary, indent=2, default=str))
    print(f"wrote {args.out / 'result.json'} ({time.perf_counter() - start:.0f} s in all)")


def result_latency(base: nn.Module, pruned: nn.Module) -> tuple[float, float]:
    """Each model's median of round medians, from one paired run of the two ONNX files."""
    import tempfile

    from mobiledepth.conversion.export_onnx import export_onnx

    with tempfile.TemporaryDirectory() as scratch:
        files = [export_onnx(m, Path(scratch) / f"{tag}.onnx", H, W) for tag, m in (("base", base), ("pruned", pruned))]
        records = md.bench(md.BenchRequest(tuple(files), paired=True, timing=md.Timing(rounds=15))).records
    return records[0].central_ms, records[1].central_ms


if __name__ == "__main__":
    main()
