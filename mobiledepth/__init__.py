"""mobiledepth: monocular relative-depth networks (ours and yours) from PyTorch to phones, with numbers.

The Python API has the CLI's names and options (:mod:`mobiledepth.api`)::

    import mobiledepth as md
    report = md.convert("model.onnx", "out", md.ConvertOptions(task="mask", calib="my_images/"))
    outcome = md.bench(md.BenchRequest(files=("out/model_256x256_int8.tflite",)))   # host or phones
    scores = md.evaluate("out/model_256x256_int8.tflite", "data/")                  # an EvalRecord
    rows = md.report([*outcome.records, scores])                                    # joined ReportRow list
    depth = md.load("any.onnx").predict(image)                                      # HxWx3 in [0, 1] -> HxW

Names load on first use, so ``import mobiledepth`` stays light (no torch or TensorFlow until a function
needs them). ``help(md.convert)`` shows the function itself.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it: one table drives __getattr__, __all__ and dir()
PUBLIC: dict[str, str] = {
    **dict.fromkeys(("convert", "bench", "evaluate", "prune", "predict", "profile", "report", "load"), "api"),
    "ConvertOptions": "conversion.options", "TaskMetric": "conversion.tasks", "BenchRequest": "benchmark.request",
    "BenchOutcome": "benchmark.request", "Timing": "timing", "PhoneOptions": "timing", "AdbEndpoint": "timing",
    "EvalOptions": "evaluation", "PredictOptions": "visual.predict", "ProfileOptions": "profiling.host",
    "PruneOptions": "pruning.options", "ReportOutputs": "reporting.outputs", "Preprocess": "inputs",
    "InputSpec": "inputs", "MobileDepthError": "errors", "BenchRecord": "records", "EvalRecord": "records",
    "ConvertReport": "records", "PredictRecord": "records", "LayerProfile": "records", "load_records": "records",
    "SweepRequest": "lab.plan", "SweepSummary": "lab.sweep", "load_fleet": "lab.fleet",
}  # fmt: skip
__all__ = sorted(PUBLIC)

if TYPE_CHECKING:  # for editors and type checkers; at run time the names load lazily
    from .api import bench, convert, evaluate, load, predict, profile, prune, report  # noqa: F401
    from .benchmark.request import BenchOutcome, BenchRequest  # noqa: F401
    from .conversion.options import ConvertOptions  # noqa: F401
    from .conversion.tasks import TaskMetric  # noqa: F401


def __getattr__(name: str) -> Any:
    if name not in PUBLIC:
        raise AttributeError(f"module 'mobiledepth' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{PUBLIC[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *PUBLIC})
