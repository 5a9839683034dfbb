"""The public Python API's table, and callable subpackages.

``mobiledepth.convert`` is both the subpackage and the API function: Python sets a subpackage as an
attribute of its parent when it is imported, so a plain function of the same name would be replaced.
The subpackage's module object is made callable instead (``__call__`` forwards to the function), and
its contents stay where they are (``from mobiledepth.convert.pipeline import ...``).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

# public name -> (module, attribute): one table drives __getattr__, __all__ and the callable modules
API: dict[str, tuple[str, str]] = {
    "convert": ("mobiledepth.convert.pipeline", "convert_checkpoint"),
    "ConvertOptions": ("mobiledepth.convert.options", "ConvertOptions"),
    "bench": ("mobiledepth.bench.host", "bench_host"),
    "bench_paired": ("mobiledepth.bench.host", "bench_host_paired"),
    "HostBenchOptions": ("mobiledepth.bench.options", "HostBenchOptions"),
    "open_bench": ("mobiledepth.bench.target", "open_bench"),
    "BenchSettings": ("mobiledepth.bench.target", "BenchSettings"),
    "BenchRecord": ("mobiledepth.records", "BenchRecord"),
    "evaluate": ("mobiledepth.evaluate", "evaluate"),
    "EvalOptions": ("mobiledepth.evaluate", "EvalOptions"),
    "load": ("mobiledepth.runtime.predictors", "load_predictor"),
    "load_model": ("mobiledepth.model.checkpoint", "load_model"),
    "predict": ("mobiledepth.visual.predict", "predict"),
    "PredictOptions": ("mobiledepth.visual.predict", "PredictOptions"),
    "profile": ("mobiledepth.profile.host", "profile_host"),
    "ProfileOptions": ("mobiledepth.profile.host", "ProfileOptions"),
    "prune": ("mobiledepth.prune.any_model", "prune"),
    "AnyPruneOptions": ("mobiledepth.prune.any_model", "AnyPruneOptions"),
    "report": ("mobiledepth.report.table", "build_rows"),
    "write_report": ("mobiledepth.report.outputs", "write_report"),
    "ReportOutputs": ("mobiledepth.report.outputs", "ReportOutputs"),
}
SUBMODULE_NAMES = ("convert", "bench", "evaluate", "profile", "report", "prune")  # API names that are also modules


def target(name: str) -> Any:
    module, attribute = API[name]
    return getattr(importlib.import_module(module), attribute)


class CallableModule(types.ModuleType):
    """A module that can be called: ``mobiledepth.convert(...)`` runs :func:`convert_checkpoint`."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return target(self.__name__.rpartition(".")[2])(*args, **kwargs)


def make_callable(module_name: str) -> None:
    """Called at the end of each same-named subpackage's ``__init__``."""
    sys.modules[module_name].__class__ = CallableModule
