"""Find a TFLite interpreter: LiteRT (ai-edge-litert), else tflite_runtime, else TensorFlow's.

All three share the ``Interpreter`` API; small ARM boards often have only ``tflite_runtime``.
"""

from __future__ import annotations

import importlib
import os
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


def model_source(path: str | os.PathLike) -> dict[str, Any]:
    """``model_path`` for an interpreter, or the file's bytes as ``model_content`` when the name is not valid
    UTF-8 (the interpreters take only UTF-8 paths: a Latin-1 name ended in a TypeError)."""
    name = os.fspath(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        with open(path, "rb") as handle:
            return {"model_content": handle.read()}
    return {"model_path": name}
