"""The converter's options: the only place their defaults live.

Kept apart from :mod:`.pipeline` (torch, onnx2tf) so the CLI can read the defaults for its help text
without importing the conversion stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import MobileDepthError
from ..runtime.predictors import Preprocess
from .precisions import DEFAULT_PRECISIONS

MAX_INT8_WHDR_DROP = 0.005  # the accuracy bar for int8: task WHDR within this of the source model
MIN_GATE_PAIRS = 1000  # fewer held-out pairs than this and the gate cannot tell 0.005 from noise
# What the int8 file's output is (tflite_float_resize.py): "float" runs a final bilinear resize in float
# (faster on XNNPACK, not rounded to 256 levels); "int8" keeps the file integer end to end (int8-only NPUs).
INT8_OUTPUTS = ("float", "int8")


@dataclass
class ConvertOptions:
    precisions: tuple[str, ...] = DEFAULT_PRECISIONS
    height: int = 256
    width: int = 256
    calib: Path | None = None  # None: the bundled sample set
    parity_data: Path | None = None
    n_calib: int = 32
    n_parity: int = 8
    max_int8_whdr_drop: float = MAX_INT8_WHDR_DROP
    min_gate_pairs: int = MIN_GATE_PAIRS
    preprocess: Preprocess = field(default_factory=Preprocess)  # foreign models: applied to calibration and parity
    int8_output: str = "float"  # one of INT8_OUTPUTS

    def __post_init__(self) -> None:
        if self.int8_output not in INT8_OUTPUTS:
            raise MobileDepthError(f"--int8-output: unknown {self.int8_output}; choose from {', '.join(INT8_OUTPUTS)}")
