"""Which runtime a model file needs, by its suffix: the one table every command reads."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import MobileDepthError

FORMATS = {
    ".tflite": "tflite",
    ".onnx": "onnx",
    ".pt": "pytorch",
    ".pth": "pytorch",
    ".ckpt": "pytorch",
    ".pt2": "pytorch",
}


def model_format(path: str | os.PathLike) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise MobileDepthError(
            f"{path}: unknown model type {suffix!r} (expected .tflite, .onnx, .pt2 or a .pt checkpoint)"
        )
    return FORMATS[suffix]
