"""Load a local torchvision MobileNetV2 ImageNet state dict into the encoder (no download, no torchvision).

Keys are ``features.N.*`` as torchvision writes them; ``features.18`` (the 1280-channel head) and the
classifier are ignored because the encoder stops at ``features.17``.
"""

from __future__ import annotations

import os

import torch

from ..errors import MobileDepthError
from .network import MobileDepth


def load_encoder_weights(model: MobileDepth, path: str | os.PathLike) -> int:
    """Copy matching tensors into ``model.encoder``; returns how many were loaded."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise MobileDepthError(f"{path}: not a readable state-dict file ({type(exc).__name__})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise MobileDepthError(f"{path}: expected a state dict of tensors")
    prefix_len = len(model.encoder.features)
    own = model.encoder.state_dict()
    wanted = {k: v for k, v in state.items() if k.startswith("features.") and int(k.split(".")[1]) < prefix_len}
    missing = [k for k in own if k not in wanted]
    if missing:
        raise MobileDepthError(
            f"{path}: not a MobileNetV2 state dict for this encoder (missing {missing[0]} and {len(missing) - 1} more)"
        )
    for k in own:
        if tuple(wanted[k].shape) != tuple(own[k].shape):
            raise MobileDepthError(
                f"{path}: {k} has shape {tuple(wanted[k].shape)}, encoder expects {tuple(own[k].shape)} (width differs "
                "from the file)"
            )
    model.encoder.load_state_dict({k: wanted[k] for k in own}, strict=True)
    return len(own)
