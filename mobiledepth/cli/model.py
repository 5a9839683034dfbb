"""``init``, ``variants``, ``info`` and ``data synth``: the model and its sample data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..errors import MobileDepthError
from ..tables import Table
from . import options as o
from .app import app, console, data_app
from .common import given_flags, size_flag, user_errors


@app.command()
@user_errors
def init(
    variant: str = typer.Argument(..., help="Named variant, e.g. mobiledepth-base (see `mobiledepth variants`)."),
    output: Path = typer.Option(..., "-o", "--output", help="Checkpoint file to write."),
    seed: int = typer.Option(0, help="Seed for the initial weights."),
    encoder_weights: Optional[Path] = typer.Option(
        None, help="Local torchvision MobileNetV2 ImageNet state dict (features.* keys)."
    ),
) -> None:
    """Write a seeded, untrained checkpoint of a named variant."""
    from ..model.checkpoint import init_checkpoint, load_checkpoint

    path = init_checkpoint(
        variant, output, seed=seed, encoder_weights=str(encoder_weights) if encoder_weights else None
    )
    params = load_checkpoint(path).metadata["params"]
    console.print(f"wrote {path} ({variant}, seed {seed}, {params:,} parameters, untrained)")


@app.command()
def variants() -> None:
    """List the registered model variants."""
    from ..model import VARIANTS, MobileDepth, count_parameters, get_config

    table = Table("Variant", "Params (export)", "Decoder widths")
    for name in VARIANTS:
        config = get_config(name)
        table.add_row(
            name, f"{count_parameters(MobileDepth(config)):,}", " ".join(str(s.out) for s in config.decoder.stages)
        )
    console.print(table)


@app.command()
@user_errors
def info(
    model: Path = typer.Argument(..., help="Any model file: a checkpoint, .onnx, .tflite, TorchScript or .pt2."),
    size: o.InfoSize = None,
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """A model file's format, precision, parameters and input contract (layout, dtype, range, mean/std, int8
    scale/zero point); for checkpoints also the architecture and MACs."""
    from ..codec import encode
    from ..modelinfo import describe_model
    from ..runtime.torch_files import torch_file_kind

    described = describe_model(model)
    checkpoint = described.format == "pytorch" and torch_file_kind(model) == "checkpoint"
    details = _checkpoint_details(model, size_flag(size)) if checkpoint else None
    if json_out:
        print(json.dumps({"model": encode(described), **(details or {})}, indent=2))
        return
    table = Table(title=f"{model}", show_header=False)
    table.add_row("format / precision", f"{described.format} / {described.precision}")
    table.add_row("parameters", "" if described.params is None else f"{described.params:,}")
    table.add_row("size", "" if described.size_bytes is None else f"{described.size_bytes / 1e6:.2f} MB")
    table.add_row("input", described.input.describe() if described.input else "not declared")
    table.add_row("sha256", described.sha256)
    if details is not None:
        _checkpoint_rows(table, details)
    console.print(table)


def _checkpoint_details(path: Path, size: tuple[int, int] | None) -> dict:
    from ..model import count_macs, count_parameters, load_checkpoint

    ckpt = load_checkpoint(path)
    h, w = size or ckpt.config.input.size
    stride = ckpt.config.output_stride
    if h % stride or w % stride:
        raise MobileDepthError(f"--size {h}x{w}: both sides must be multiples of {stride}")
    model = ckpt.build(with_heads=True)
    macs = count_macs(model.strip_heads(), h, w)
    meta = {k: v for k, v in ckpt.metadata.items() if not k.startswith("_")}
    return {
        "config": ckpt.config.to_dict(),
        "params": count_parameters(model),
        "params_with_heads": count_parameters(ckpt.build(with_heads=True), exclude_heads=False),
        "macs": macs,
        "flops": 2 * macs,
        "size": [h, w],
        "metadata": meta,
    }


def _checkpoint_rows(table: Table, details: dict) -> None:
    from ..model.config import ModelConfig

    config = ModelConfig.from_dict(details["config"])
    h, w = details["size"]
    meta = details["metadata"]
    table.add_row("variant", config.name)
    table.add_row("parameters (exported, heads stripped)", f"{details['params']:,}")
    table.add_row("parameters (training, with heads)", f"{details['params_with_heads']:,}")
    table.add_row(f"MACs at {h}x{w}", f"{details['macs'] / 1e9:.3f} G  ({details['flops'] / 1e9:.3f} GFLOPs)")
    enc = config.encoder
    fused = [i + 1 for i, b in enumerate(enc.blocks) if b.fused]
    table.add_row(
        "encoder", f"MobileNetV2 stem {enc.stem}, {len(enc.blocks)} blocks, skips from features.{list(enc.skip_taps)}"
    )
    if fused:
        table.add_row("fused blocks", f"features.{fused} (full 3x3 conv in place of expand + depthwise)")
    for i, s in enumerate(config.decoder.stages, 1):
        aux = "  + aux head" if i in config.decoder.aux_after else ""
        up = (", x2 up" + (" after project" if s.upsample_at == "output" else "")) if s.upsample else ""
        table.add_row(f"decoder stage {i}", f"hidden {s.hidden}, out {s.out}, k{s.kernel}{up}{aux}")
    table.add_row("trained", str(meta.get("trained")))
    for key in ("trained_on", "metrics", "seed", "created"):
        if meta.get(key) not in (None, {}, ""):
            table.add_row(key, str(meta[key]))


@data_app.command("synth")
@user_errors
def data_synth(
    output: Path = typer.Option(..., "-o", "--output", help="Folder to create."),
    n: o.SynthScenes = None,
    size: o.SynthSize = None,
    pairs_per_image: o.SynthPairs = None,
    seed: o.SynthSeed = None,
    scenes: o.SynthKind = None,
) -> None:
    """Render procedural scenes with exact depth: images, DIW CSVs (train/val/test) and dense depth maps."""
    from ..data.synth import SynthOptions, write_synth_dataset

    hw = size_flag(size)
    options = SynthOptions(
        **given_flags(n=n, pairs_per_image=pairs_per_image, seed=seed, scenes=scenes),
        **({"height": hw[0], "width": hw[1]} if hw else {}),
    )
    out = write_synth_dataset(output, options)
    console.print(f"wrote {options.n} scenes to {out} (DIW_train/val/test.csv, images/, depth/)")
