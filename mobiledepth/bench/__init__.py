"""Benchmarks: one interface for the host (LiteRT / ONNX Runtime / PyTorch) and phones (android_bench):
``open_bench(device, BenchSettings(...))`` (target.py). Names load lazily, so reading options stays cheap."""

import importlib

_LAZY = {
    "HostBenchOptions": "options",
    "PairedOptions": "options",
    "bench_host": "host",
    "bench_host_paired": "host",
    "LatencyStats": "stats",
    "latency_stats": "stats",
    "Bench": "target",
    "BenchSettings": "target",
    "AdbEndpoint": "target",
    "BenchOutcome": "target",
    "open_bench": "target",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


from .._api import make_callable  # noqa: E402

make_callable(__name__)  # mobiledepth.bench(...) is the API function too
