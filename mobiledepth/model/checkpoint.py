"""The one checkpoint format: config + weights + metadata, loadable with ``weights_only=True``.

Only plain containers, strings, numbers and tensors are stored, so loading never unpickles code.
Every way a file can be wrong (not a zip, truncated, another tool's file, weights that don't fit the
config) ends in one :class:`MobileDepthError` line naming the file.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..errors import MobileDepthError
from ..fileio import atomic_path
from .config import ModelConfig, get_config
from .network import MobileDepth, count_parameters

FORMAT = "mobiledepth-checkpoint"
FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    """A loaded checkpoint. ``metadata`` says what the weights were trained on and how well they did."""

    config: ModelConfig
    state_dict: dict[str, torch.Tensor]
    metadata: dict[str, Any] = field(default_factory=dict)

    def build(self, with_heads: bool = True) -> MobileDepth:
        model = MobileDepth(self.config)
        state = self.state_dict
        if not any(k.startswith("aux_heads.") for k in state):
            with_heads = False  # heads were stripped (exported or pruned models)
        if not with_heads:
            model.strip_heads()
            state = {k: v for k, v in state.items() if not k.startswith("aux_heads.")}
        _load_strict(model, state, self.metadata.get("_path", "checkpoint"))
        return model


def _load_strict(model: MobileDepth, state: dict[str, torch.Tensor], path: str) -> None:
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        if mismatched:
            k = mismatched[0]
            parts.append(
                f"{len(mismatched)} with wrong shape (e.g. {k}: file {tuple(state[k].shape)} vs config "
                f"{tuple(own[k].shape)})"
            )
        raise MobileDepthError(f"{path}: weights do not match the architecture in its config: " + "; ".join(parts))
    model.load_state_dict(state, strict=True)


def save_checkpoint(path: str | os.PathLike, model: MobileDepth, metadata: dict[str, Any] | None = None) -> Path:
    """Write atomically. Metadata gets the variant, parameter count and versions filled in."""
    meta = {
        "variant": model.config.name,
        "params": count_parameters(model),
        "trained": False,
        "trained_on": None,
        "metrics": {},
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "mobiledepth_version": __version__,
        "torch_version": str(torch.__version__),
    }
    meta.update(metadata or {})
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
        "metadata": meta,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and validate a checkpoint (no code is unpickled). Raises :class:`MobileDepthError`."""
    path = Path(path)
    if not path.is_file():
        raise MobileDepthError(f"{path}: no such checkpoint file")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols before refusing: the one line says it
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # zip errors, unpickling errors, EOF: all mean "not a usable checkpoint"
        if "Weights only load failed" in str(exc):  # a pickle with code in it: refused on purpose, not corrupt
            raise MobileDepthError(
                f"{path}: not a mobiledepth checkpoint (a pickle that safe loading refuses: it holds code or objects, "
                "not tensors only; nothing from it was run)"
            ) from None
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MobileDepthError(
            f"{path}: not a readable mobiledepth checkpoint (corrupt or truncated: {reason[:160]})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise MobileDepthError(f"{path}: not a mobiledepth checkpoint (no '{FORMAT}' header)")
    if payload.get("format_version") != FORMAT_VERSION:
        raise MobileDepthError(
            f"{path}: checkpoint format version {payload.get('format_version')} is not supported (expected "
            f"{FORMAT_VERSION})"
        )
    try:
        config = ModelConfig.from_dict(payload["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise MobileDepthError(f"{path}: invalid architecture config in checkpoint: {exc}") from None
    state = payload.get("state_dict")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise MobileDepthError(f"{path}: checkpoint has no valid state_dict")
    metadata = dict(payload.get("metadata") or {})
    metadata["_path"] = str(path)
    ckpt = Checkpoint(config=config, state_dict=state, metadata=metadata)
    ckpt.build()  # validate shapes now so the error names this file, not a later caller
    return ckpt


def load_model(path: str | os.PathLike, with_heads: bool = False) -> MobileDepth:
    """Checkpoint -> model in eval mode (heads stripped unless asked for)."""
    return load_checkpoint(path).build(with_heads=with_heads).eval()


def config_from_name_or_file(variant: str) -> ModelConfig:
    """A registry name (``mobiledepth-base``) or a path to a config JSON (``models/mobiledepth-base.json``)."""
    if variant.endswith(".json"):
        try:
            return ModelConfig.from_dict(json.loads(Path(variant).read_text()))
        except FileNotFoundError:
            raise MobileDepthError(f"{variant}: no such config file") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise MobileDepthError(f"{variant}: invalid architecture config ({exc})") from None
    try:
        return get_config(variant)
    except KeyError as exc:
        raise MobileDepthError(str(exc.args[0])) from None


def init_checkpoint(variant: str, path: str | os.PathLike, seed: int = 0, encoder_weights: str | None = None) -> Path:
    """A seeded, untrained checkpoint of a named variant or a config JSON file (e.g. from models/)."""
    config = config_from_name_or_file(variant)
    torch.manual_seed(seed)
    model = MobileDepth(config)
    meta: dict[str, Any] = {"seed": seed, "trained": False, "encoder_weights": None}
    if encoder_weights:
        from .encoder_weights import load_encoder_weights

        load_encoder_weights(model, encoder_weights)
        meta["encoder_weights"] = os.path.basename(str(encoder_weights))
    return save_checkpoint(path, model, meta)
