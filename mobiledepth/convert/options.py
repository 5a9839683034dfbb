"""The converter's options: the only place their defaults live.

Kept apart from :mod:`.pipeline` (torch, onnx2tf) so the CLI can read the defaults for its help text
without importing the conversion stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..runtime.predictors import Preprocess
from .precisions import DEFAULT_PRECISIONS

MAX_INT8_WHDR_DROP = 0.005  # the accuracy bar for int8: task WHDR within this of the source model
MIN_GATE_PAIRS = 1000  # fewer held-out pairs than this and the gate cannot tell 0.005 from noise


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
