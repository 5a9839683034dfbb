"""Fake quantisation that rounds exactly as TFLite's full-integer kernels do.

- Activations: per-tensor asymmetric int8 in [-128, 127]; the range is the min/max seen (what the
  TFLite calibrator records over a representative dataset), widened to include 0 so that 0 is exact.
- Weights: per-output-channel symmetric int8 in [-127, 127], scale = max|w| / 127 (TFLite's
  per-channel CONV_2D / DEPTHWISE_CONV_2D scheme; channel axis 0 in PyTorch's layout for both).

Gradients pass straight through inside the range (PyTorch's fake-quantise kernels), so weights learn
to sit well on the grid that the converted file will use.
"""

from __future__ import annotations

import torch
from torch import nn

INT8_MIN, INT8_MAX = -128, 127
WEIGHT_MAX = 127


def activation_qparams(lo: float, hi: float) -> tuple[float, int]:
    """TFLite's asymmetric int8 scale and zero point for the range [lo, hi] (nudged to contain 0)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = (hi - lo) / (INT8_MAX - INT8_MIN) if hi > lo else 1.0
    zero = int(round(INT8_MIN - lo / scale))
    return scale, max(INT8_MIN, min(INT8_MAX, zero))


class ActivationQuantizer(nn.Module):
    """Observe a tensor's range (training: running min/max; ``fixed``: a known range such as ReLU6's
    [0, 6]) and fake-quantise it on the int8 grid for that range."""

    def __init__(self, fixed: tuple[float, float] | None = None) -> None:
        super().__init__()
        self.fixed = fixed
        self.register_buffer("lo", torch.tensor(float("inf")))
        self.register_buffer("hi", torch.tensor(float("-inf")))
        self.enabled = True

    def observe(self, x: torch.Tensor) -> None:
        with torch.no_grad():
            self.lo.copy_(torch.minimum(self.lo, x.detach().min().float()))
            self.hi.copy_(torch.maximum(self.hi, x.detach().max().float()))

    def range(self) -> tuple[float, float]:
        if self.fixed is not None:
            return self.fixed
        return float(self.lo), float(self.hi)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fixed is None and (self.training or not torch.isfinite(self.hi)):
            self.observe(x)
        if not self.enabled:
            return x
        scale, zero = activation_qparams(*self.range())
        return torch.fake_quantize_per_tensor_affine(x, scale, zero, INT8_MIN, INT8_MAX)


def fake_quantize_weight(weight: torch.Tensor) -> torch.Tensor:
    """Per-output-channel symmetric int8, as TFLite quantises CONV_2D and DEPTHWISE_CONV_2D weights."""
    amax = weight.detach().abs().flatten(1).amax(dim=1).clamp_min(1e-12)
    scale = (amax / WEIGHT_MAX).float()
    zero = torch.zeros_like(scale, dtype=torch.int32)
    return torch.fake_quantize_per_channel_affine(weight, scale, zero, 0, -WEIGHT_MAX, WEIGHT_MAX)
