"""Parse everything TensorFlow Lite's ``benchmark_model`` prints (stdout and stderr together).

Handles the current format (``INFO: `` prefixes, ``p5= median= p95=`` in stat lines) and older builds
(no prefixes, ``Average inference timings in us: Warmup: ..., Init: ..., Inference: ...``). Delegation
is judged from the tool's own words: ``Explicitly applied X delegate, and the model graph will be
completely|partially executed`` or ``will not be executed``, the runtime's ``Replacing N out of M
node(s)``, and ``X acceleration is unsupported on this platform`` (the tool then QUIETLY runs on CPU
with exit status 0 — the case that must never be reported as GPU numbers).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

_PREFIX = re.compile(r"^(?:(?:INFO|WARN|WARNING|ERROR|VERBOSE): )")
_STAT_KEYS = ("count", "first", "curr", "min", "max", "avg", "std", "p5", "median", "p95")


@dataclass
class Stat:
    """One ``count=... first=...`` line, microseconds."""

    count: int
    first: float | None = None
    curr: float | None = None
    min: float | None = None
    max: float | None = None
    avg: float | None = None
    std: float | None = None
    p5: float | None = None
    median: float | None = None
    p95: float | None = None


@dataclass
class Delegation:
    requested: str  # 'cpu', 'gpu', 'nnapi'
    applied: bool = False
    mode: str = "none"  # 'full', 'partial', 'none'
    delegated_nodes: int | None = None
    total_nodes: int | None = None
    partitions: int | None = None
    kernels: int | None = None
    unsupported_ops: list[str] = field(default_factory=list)
    reason: str = ""

    @property
    def coverage(self) -> float | None:
        if self.delegated_nodes is None or not self.total_nodes:
            return None
        return self.delegated_nodes / self.total_nodes


@dataclass
class OpTypeRow:
    node_type: str
    count: int
    avg_ms: float
    percent: float


@dataclass
class OpNodeRow:
    """One node of the ``Run Order`` table: what ran, how long on average, and its name."""

    node_type: str
    avg_ms: float
    percent: float
    name: str


@dataclass
class BenchmarkOutput:
    init_us: float | None = None
    first_inference_us: float | None = None
    warmup_avg_us: float | None = None
    inference_avg_us: float | None = None
    warmup: Stat | None = None
    runs: Stat | None = None
    memory_init_mb: float | None = None
    memory_overall_mb: float | None = None
    peak_memory_mb: float | None = None
    model_size_mb: float | None = None
    delegation: Delegation = field(default_factory=lambda: Delegation("cpu"))
    op_profile: list[OpTypeRow] = field(default_factory=list)
    op_nodes: list[OpNodeRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failed: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["delegation"]["coverage"] = self.delegation.coverage
        return data


def parse_stat(text: str) -> Stat:
    values: dict[str, float] = {}
    for key, value in re.findall(r"(\w+)=([-+0-9.eE]+)", text):
        if key in _STAT_KEYS:
            values[key] = float(value)
    stat = Stat(count=int(values.pop("count", 0)), **values)
    if "(all same)" in text or (stat.count == 1 and stat.first is None):
        stat.first = stat.min = stat.max = stat.avg = stat.median = stat.curr
        stat.std = 0.0
    return stat


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def parse_benchmark_output(text: str, requested: str = "cpu") -> BenchmarkOutput:
    out = BenchmarkOutput(delegation=Delegation(requested))
    stats: list[Stat] = []
    lines = [_PREFIX.sub("", raw.rstrip()) for raw in text.splitlines()]
    delegate_name = {"gpu": "GPU", "nnapi": "NNAPI"}.get(requested)
    in_summary = False
    in_regular_profile = False
    collecting_unsupported = False
    for raw, line in zip(text.splitlines(), lines):
        if raw.startswith("ERROR:") or line.startswith("ERROR"):
            out.errors.append(line)
        if raw.startswith(("WARN:", "WARNING:")):
            out.warnings.append(line)
        if collecting_unsupported:
            if "operations will run on the GPU" in line or not line.strip():
                collecting_unsupported = False
            else:
                out.delegation.unsupported_ops.append(line.strip())
                continue
        if line.startswith("count="):
            stats.append(parse_stat(line))
            continue
        m = re.search(r"Inference timings in us: Init: ([-0-9.e+]+), First inference: ([-0-9.e+]+), Warmup \(avg\): ([-0-9.e+]+), Inference \(avg\): ([-0-9.e+]+)", line)
        if m:
            out.init_us, out.first_inference_us, out.warmup_avg_us, out.inference_avg_us = (_num(v) for v in m.groups())
            continue
        m = re.search(r"Average inference timings in us: Warmup: ([-0-9.e+]+), Init: ([-0-9.e+]+), (?:no stats|Inference: ([-0-9.e+]+))", line)
        if m:
            out.warmup_avg_us, out.init_us = _num(m.group(1)), _num(m.group(2))
            out.inference_avg_us = _num(m.group(3)) if m.group(3) else None
            continue
        m = re.search(r"Memory footprint delta from the start of the tool \(MB\): init=([-0-9.e+]+) overall=([-0-9.e+]+)", line)
        if m:
            out.memory_init_mb, out.memory_overall_mb = _num(m.group(1)), _num(m.group(2))
            continue
        m = re.search(r"^Peak memory footprint \(MB\): init=([-0-9.e+]+) overall=([-0-9.e+]+)", line)
        if m:  # older builds' name for the same delta figures
            out.memory_init_mb, out.memory_overall_mb = _num(m.group(1)), _num(m.group(2))
            continue
        m = re.search(r"(?:Overall )?peak memory footprint \(MB\)[^:]*: ([-0-9.e+]+)", line, re.IGNORECASE)
        if m:
            out.peak_memory_mb = _num(m.group(1))
            continue
        m = re.search(r"The input model file size \(MB\): ([-0-9.e+]+)", line)
        if m:
            out.model_size_mb = _num(m.group(1))
            continue
        if delegate_name:
            d = out.delegation
            m = re.search(r"Replacing (\d+) out of (\d+) node\(s\) with delegate \(([^)]*)\) node, yielding (\d+) partitions", line)
            if m and (delegate_name == "GPU" and "Gpu" in m.group(3) or delegate_name == "NNAPI" and "Nnapi" in m.group(3) or delegate_name not in ("GPU", "NNAPI")):
                d.delegated_nodes, d.total_nodes, d.partitions = int(m.group(1)), int(m.group(2)), int(m.group(4))
            if f"Explicitly applied {delegate_name} delegate" in line:
                if "completely executed" in line:
                    d.applied, d.mode = True, "full"
                elif "partially executed" in line:
                    d.applied, d.mode = True, "partial"
                    k = re.search(r"w/ (\d+) delegate kernels", line)
                    d.kernels = int(k.group(1)) if k else None
            if f"Though {delegate_name} delegate is explicitly applied, the model graph will not be executed" in line:
                d.applied, d.mode, d.reason = False, "none", line
            if f"{delegate_name} acceleration is unsupported on this platform" in line:
                d.reason = line
            m = re.search(r"Following operations are not supported by GPU delegate:?\s*(.*)", line)
            if m and delegate_name == "GPU":
                if m.group(1).strip():
                    d.unsupported_ops.append(m.group(1).strip())
                collecting_unsupported = True
            if "Disallowed CPU fallback detected" in line:
                d.reason = line
        if "Operator-wise Profiling Info for Regular Benchmark Runs" in line:
            in_regular_profile = True
        elif "Profiling Info for Benchmark Initialization" in line:
            in_regular_profile = False
        if "Summary by node type" in line:
            in_summary = in_regular_profile
            continue
        if in_summary:
            cells = [c.strip() for c in raw.split("\t") if c.strip()]
            if not cells:
                in_summary = False
            elif cells[0] != "[Node type]" and len(cells) >= 4:
                try:
                    out.op_profile.append(OpTypeRow(cells[0], int(cells[1]), float(cells[2]), float(cells[3].rstrip("%"))))
                except ValueError:
                    in_summary = False
    out.op_nodes = parse_run_order(text)
    if stats:
        out.runs = stats[-1]
        out.warmup = stats[-2] if len(stats) >= 2 else None
    if requested in ("gpu", "nnapi") and not out.delegation.applied and not out.delegation.reason:
        out.delegation.reason = f"no 'Explicitly applied {delegate_name} delegate' line: the model ran on the CPU"
    if requested == "cpu":
        out.delegation.applied = True
        out.delegation.mode = "full"
    out.failed = any("Benchmarking failed" in e for e in out.errors) or out.runs is None
    return out


def _cells(line: str) -> list[str]:
    """Columns of a profiler table line: tab-separated in TFLite, padded with spaces in older tools."""
    parts = line.split("\t") if "\t" in line else re.split(r"\s{2,}", line)
    return [c.strip() for c in parts if c.strip()]


def parse_run_order(text: str) -> list[OpNodeRow]:
    """The per-node ``Run Order`` table of the regular runs (``--enable_op_profiling``), by its header.

    Columns are found by name (``[node type]``, ``[avg ms]``, ``[%]``, ``[Name]``), so builds with or
    without the ``[start]`` column parse alike; the initialisation section's table is skipped.
    """
    rows: list[OpNodeRow] = []
    regular = False
    columns: dict[str, int] | None = None
    for raw in text.splitlines():
        line = _PREFIX.sub("", raw.rstrip())
        if "Profiling Info for Benchmark Initialization" in line:
            regular, columns = False, None
        elif "Operator-wise Profiling Info for Regular Benchmark Runs" in line:
            regular = True
        elif regular and "[node type]" in line and "[avg ms]" in line:
            header = [c.lower() for c in _cells(line)]
            columns = {key: header.index(key) for key in ("[node type]", "[avg ms]", "[%]", "[name]") if key in header}
        elif columns is not None:
            cells = _cells(line)
            if len(cells) < len(columns) or "=====" in line:
                if rows:
                    return rows
                columns = None if "=====" in line else columns
                continue
            try:
                rows.append(OpNodeRow(cells[columns["[node type]"]], float(cells[columns["[avg ms]"]]),
                                      float(cells[columns["[%]"]].rstrip("%")), cells[columns.get("[name]", len(cells) - 1)]))
            except (ValueError, IndexError, KeyError):
                return rows
    return rows
