"""``profile`` records: one per-layer latency table, whatever measured it (ONNX Runtime on the host,
``benchmark_model``'s op profiler on a phone).

A row is one executed node: its runtime name, the network module it came from, the op, the median
milliseconds over the profiled runs, its share of the layers' total and the cumulative share in
descending order. ``coverage`` (sum of layers / end-to-end median of the same profiled runs) says how
much of the measured time the table explains.
"""

from __future__ import annotations

from dataclasses import dataclass

from .parts import Record


@dataclass(frozen=True)
class LayerTime:
    name: str
    module: str  # the module that owns the node (a fused Conv+Clip belongs to its conv, not its clamp)
    op: str
    ms: float
    share: float = 0.0  # of the layers' total
    cumulative: float = 0.0  # share of this and all slower layers


@dataclass(frozen=True, kw_only=True)
class LayerProfile(Record):
    record: str = "profile"
    model: str
    device: str
    runtime: str
    runs: int
    end_to_end_ms: float  # median of the profiled runs, end to end
    layers: tuple[LayerTime, ...] = ()
    unprofiled_ms: float | None = None  # median without the profiler, for its overhead
    note: str = ""
    DERIVED = ("layer_sum_ms", "coverage", "by_op", "by_module")

    def derived_fields(self) -> dict:
        return {
            "layer_sum_ms": self.layer_sum_ms,
            "coverage": self.coverage,
            "by_op": self.by_op(),
            "by_module": self.by_module(),
        }

    @property
    def layer_sum_ms(self) -> float:
        return sum(layer.ms for layer in self.layers)

    @property
    def coverage(self) -> float:
        return self.layer_sum_ms / self.end_to_end_ms if self.end_to_end_ms else 0.0

    def ranked(self) -> list[LayerTime]:
        """Slowest first, with share and cumulative share filled in."""
        total = self.layer_sum_ms or 1.0
        rows, running = [], 0.0
        for layer in sorted(self.layers, key=lambda r: -r.ms):
            running += layer.ms
            rows.append(LayerTime(layer.name, layer.module, layer.op, layer.ms, layer.ms / total, running / total))
        return rows

    def by_op(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for layer in self.layers:
            totals[layer.op] = totals.get(layer.op, 0.0) + layer.ms
        return dict(sorted(totals.items(), key=lambda kv: -kv[1]))

    def by_module(self, depth: int = 2) -> dict[str, float]:
        """Milliseconds per module prefix of ``depth`` parts (e.g. ``encoder.features``): where to prune."""
        totals: dict[str, float] = {}
        for layer in self.layers:
            key = ".".join(layer.module.split(".")[:depth]) if layer.module else "(unnamed)"
            totals[key] = totals.get(key, 0.0) + layer.ms
        return dict(sorted(totals.items(), key=lambda kv: -kv[1]))
