"""mobiledepth: a compact monocular relative-depth network, from PyTorch to phones, with numbers.

The Python API is the library the CLI calls; names are imported lazily, so ``import mobiledepth`` stays
light (no torch or TensorFlow until a function needs them)::

    import mobiledepth as md
    report = md.convert("models/mobiledepth-base.pt", "out", md.ConvertOptions(precisions=("fp32", "int8")))
    record = md.bench("out/mobiledepth-base_256x256_int8.tflite")           # a BenchRecord
    scores = md.evaluate("out/mobiledepth-base_256x256_int8.tflite", "data/")  # an EvalRecord
    rows = md.report([record, scores])                                       # joined ReportRow list
    depth = md.load("any.onnx", dynamic_hw=(256, 256)).predict(image)        # HxWx3 in [0, 1] -> HxW
"""

from __future__ import annotations

import importlib
from typing import Any

from ._api import API, SUBMODULE_NAMES, target

__version__ = "0.1.0"
__all__ = sorted(API)


def __getattr__(name: str) -> Any:
    if name not in API:
        raise AttributeError(f"module 'mobiledepth' has no attribute {name!r}")
    # convert, bench, evaluate, profile, report: the (callable) module of that name; the rest: the object
    value = importlib.import_module(f"{__name__}.{name}") if name in SUBMODULE_NAMES else target(name)
    globals()[name] = value
    return value
