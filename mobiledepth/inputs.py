"""What a model takes as input, stated once and carried with the model (timm's per-variant config).

A :class:`InputSpec` is the input size, layout and the map from [0, 1] RGB pixels to the model's values
(:class:`Preprocess`). Our variants declare theirs in ``models/*.json``; it travels in every checkpoint,
is written into the converted files' ``convert_report.json`` and ONNX metadata, and every option that
concerns the input (``ConvertOptions.height``, ``EvalOptions.preprocess``, ...) defaults to ``None``,
meaning "the model's". :data:`DEFAULT_INPUT` is used only for a model that declares nothing (a foreign
dynamic-size network): the one place the house default of 256x256 lives.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

LAYOUTS = ("NCHW", "NHWC")
MAX_INPUT_SIDE = 4096  # activations grow with the area: larger sides are refused before anything is allocated


@dataclass(frozen=True)
class Preprocess:
    """``(x * pixel_scale - mean) / std`` on [0, 1] RGB. Ours need none (identity); foreign networks often
    expect ImageNet's mean/std, or 0..255 pixels (``pixel_scale = 255``)."""

    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    pixel_scale: float = 1.0

    @property
    def identity(self) -> bool:
        return self == Preprocess()

    def apply(self, batch: np.ndarray) -> np.ndarray:
        if self.identity:
            return batch
        return (
            (batch * self.pixel_scale - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        ).astype(np.float32)


@dataclass(frozen=True)
class InputSpec:
    height: int = 256
    width: int = 256
    layout: str = "NCHW"  # one of LAYOUTS
    preprocess: Preprocess = field(default_factory=Preprocess)

    @property
    def size(self) -> tuple[int, int]:
        return (self.height, self.width)

    def with_overrides(self, size: tuple[int, int] | None = None, preprocess: Preprocess | None = None) -> "InputSpec":
        """This spec with what the user gave (``None``: the model's own)."""
        spec = self if size is None else replace(self, height=size[0], width=size[1])
        return spec if preprocess is None else replace(spec, preprocess=preprocess)


DEFAULT_INPUT = InputSpec()
