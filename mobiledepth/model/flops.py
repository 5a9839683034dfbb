"""Multiply-accumulate count of a forward pass, from conv shapes (what latency mostly follows)."""

from __future__ import annotations

import torch
from torch import nn


def count_macs(model: nn.Module, height: int, width: int) -> int:
    """MACs of one N=1 forward at ``height x width`` (convolutions and linear layers)."""
    total = 0

    def hook(module: nn.Module, inputs, output) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total += output.numel() * (module.in_channels // module.groups) * kh * kw
        elif isinstance(module, nn.Linear):
            total += output.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, 3, height, width))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return total
