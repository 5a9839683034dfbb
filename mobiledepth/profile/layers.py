"""One per-layer latency table, whatever measured it.

A row is one executed node: its runtime name, the network module it came from (recovered from the
exported name, e.g. ``/encoder/features.3/conv/conv.0/Conv`` -> ``encoder.features.3.conv.conv.0``),
the op, the median milliseconds over the profiled runs, its share of the layers' total and the
cumulative share in descending order. ``coverage`` (sum of layers / end-to-end median of the same
profiled runs) says how much of the measured time the table explains.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field


def module_of(node_name: str) -> str:
    """The PyTorch module path inside an exported node name, or '' when the name carries none.

    Exported names are ``/module/path/Op`` (ONNX; after ONNX Runtime's fusions also
    ``.../Clip_output_0_nchwc``: a fused node is named after its last op) or ``.../Op;other names``
    (TFLite): the module is every segment but the last, before any ``;`` or ``:``.
    """
    head = re.split(r"[;:]", node_name, maxsplit=1)[0]
    parts = [p for p in head.split("/") if p]
    return ".".join(parts[:-1])


@dataclass
class LayerTime:
    name: str
    module: str
    op: str
    ms: float
    share: float = 0.0  # of the layers' total
    cumulative: float = 0.0  # share of this and all slower layers


@dataclass
class LayerProfile:
    model: str
    device: str
    runtime: str
    runs: int
    end_to_end_ms: float  # median of the profiled runs, end to end
    layers: list[LayerTime] = field(default_factory=list)
    unprofiled_ms: float | None = None  # median without the profiler, for its overhead
    note: str = ""

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

    def to_dict(self) -> dict:
        from ..records import record_header

        return {
            **record_header("profile"),
            "model": self.model,
            "device": self.device,
            "runtime": self.runtime,
            "runs": self.runs,
            "end_to_end_ms": self.end_to_end_ms,
            "unprofiled_ms": self.unprofiled_ms,
            "layer_sum_ms": self.layer_sum_ms,
            "coverage": self.coverage,
            "note": self.note,
            "by_op": self.by_op(),
            "by_module": self.by_module(),
            "layers": [asdict(r) for r in self.ranked()],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "LayerProfile":
        layers = [LayerTime(**r) for r in data["layers"]]
        return cls(
            data["model"],
            data["device"],
            data["runtime"],
            data["runs"],
            data["end_to_end_ms"],
            layers,
            data.get("unprofiled_ms"),
            data.get("note", ""),
        )
