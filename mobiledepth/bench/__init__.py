"""Benchmarks: host (LiteRT / ONNX Runtime / PyTorch); phones go through android_bench."""

from .host import HostBenchOptions, bench_host
from .stats import LatencyStats, latency_stats

__all__ = ["HostBenchOptions", "LatencyStats", "bench_host", "latency_stats"]

from .._api import make_callable  # noqa: E402

make_callable(__name__)  # mobiledepth.bench(...) is the API function too
