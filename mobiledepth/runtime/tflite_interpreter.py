"""Find a TFLite interpreter: LiteRT (ai-edge-litert), else tflite_runtime, else TensorFlow's.

All three share the ``Interpreter`` API; small ARM boards often have only ``tflite_runtime``.
"""

from __future__ import annotations

import importlib
from typing import Any


def interpreter_class() -> tuple[Any, str]:
    """Return (Interpreter class, runtime name)."""
    for module, name in (
        ("ai_edge_litert.interpreter", "litert"),
        ("tflite_runtime.interpreter", "tflite_runtime"),
        ("tensorflow.lite", "tensorflow"),
    ):
        try:
            mod = importlib.import_module(module)
            return mod.Interpreter, name
        except ImportError:
            continue
    raise ImportError("no TFLite interpreter found: pip install ai-edge-litert")
