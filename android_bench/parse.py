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
from dataclasses import dataclass, field
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
    accelerator: str | None = None  # NNAPI: the device named with --nnapi_accelerator_name
    available_accelerators: list[str] = field(default_factory=list)  # NNAPI: what the phone offers
    DERIVED = ("coverage",)

    def derived_fields(self) -> dict[str, Any]:
        return {"coverage": self.coverage}

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


# logcat's threadtime format, as the Android benchmark APK's results arrive (``adb logcat -s tflite``):
# ``07-14 13:14:52.097 22838 22838 I tflite  : message``. The level letter becomes the CLI's prefix.
_LOGCAT = re.compile(r"^\d\d-\d\d \d\d:\d\d:\d\d\.\d+\s+\d+\s+\d+\s+([VDIWEF])\s+[^:]*?\s*:\s?(.*)$")
_LOGCAT_LEVEL = {"E": "ERROR: ", "F": "ERROR: ", "W": "WARNING: ", "V": "VERBOSE: "}
_NUMBER = r"([-0-9.e+]+)"


def normalize_lines(text: str) -> list[str]:
    """The tool's lines with logcat framing removed, so the CLI binary and the APK parse alike."""
    lines = []
    for raw in text.splitlines():
        m = _LOGCAT.match(raw.rstrip())
        lines.append(_LOGCAT_LEVEL.get(m.group(1), "INFO: ") + m.group(2) if m else raw.rstrip())
    return lines


def _timings(out: BenchmarkOutput, line: str) -> bool:
    """The summary line, in the current form or TF 1.x's (where ``no stats:`` is the inference average)."""
    m = re.search(
        rf"Inference timings in us: Init: {_NUMBER}, First inference: {_NUMBER}, Warmup \(avg\): {_NUMBER}, "
        rf"Inference \(avg\): {_NUMBER}",
        line,
    )
    if m:
        out.init_us, out.first_inference_us, out.warmup_avg_us, out.inference_avg_us = (_num(v) for v in m.groups())
        return True
    m = re.search(
        rf"Average inference timings in us: Warmup: {_NUMBER}, (?:Init: {_NUMBER}, )?"
        rf"(?:no stats|Inference): {_NUMBER}",
        line,
    )
    if m:
        out.warmup_avg_us, out.inference_avg_us = _num(m.group(1)), _num(m.group(3))
        out.init_us = _num(m.group(2)) if m.group(2) else None
        return True
    return False


def _memory_and_size(out: BenchmarkOutput, line: str) -> bool:
    m = re.search(
        rf"(?:Memory footprint delta from the start of the tool|^Peak memory footprint) \(MB\): "
        rf"init={_NUMBER} overall={_NUMBER}",
        line,
    )
    if m:  # 'Peak memory footprint (MB): init= overall=' is older builds' name for the same deltas
        out.memory_init_mb, out.memory_overall_mb = _num(m.group(1)), _num(m.group(2))
        return True
    m = re.search(rf"(?:Overall )?peak memory footprint \(MB\)[^:]*: {_NUMBER}", line, re.IGNORECASE)
    if m:
        out.peak_memory_mb = _num(m.group(1))
        return True
    m = re.search(rf"The input model file size \(MB\): {_NUMBER}", line)
    if m:
        out.model_size_mb = _num(m.group(1))
        return True
    return False


def _accelerators(d: Delegation, line: str) -> None:
    """NNAPI's chosen accelerator (``--nnapi_accelerator_name``) and the ones the phone offers."""
    m = re.search(r"NNAPI accelerator name: \[([^\]]*)\]", line)
    if m:
        d.accelerator = m.group(1) or None
    m = re.search(r"NNAPI accelerators available: \[([^\]]*)\]", line)
    if m:
        d.available_accelerators = [a.strip() for a in m.group(1).split(",") if a.strip()]


def _delegation(d: Delegation, name: str, line: str) -> bool:
    """Judge delegation from the tool's own words; True while the GPU's unsupported-op list continues."""
    m = re.search(
        r"Replacing (\d+) out of (\d+) node\(s\) with delegate \(([^)]*)\) node, yielding (\d+) partitions", line
    )
    if m and (name == "GPU" and "Gpu" in m.group(3) or name == "NNAPI" and "Nnapi" in m.group(3)):
        d.delegated_nodes, d.total_nodes, d.partitions = int(m.group(1)), int(m.group(2)), int(m.group(4))
    if f"Explicitly applied {name} delegate" in line:
        if "completely executed" in line:
            d.applied, d.mode = True, "full"
        elif "partially executed" in line:
            d.applied, d.mode = True, "partial"
            k = re.search(r"w/ (\d+) delegate kernels", line)
            d.kernels = int(k.group(1)) if k else None
    if f"Though {name} delegate is explicitly applied, the model graph will not be executed" in line:
        d.applied, d.mode, d.reason = False, "none", line
    if f"{name} acceleration is unsupported on this platform" in line or "Disallowed CPU fallback detected" in line:
        d.reason = line
    m = re.search(r"Following operations are not supported by GPU delegate:?\s*(.*)", line)
    if m and name == "GPU":
        if m.group(1).strip():
            d.unsupported_ops.append(m.group(1).strip())
        return True
    return False


def _summary_by_type(text: str) -> list[OpTypeRow]:
    """The regular runs' ``Summary by node type`` table (the initialisation section's is skipped)."""
    rows: list[OpTypeRow] = []
    regular = in_summary = False
    for line in normalize_lines(text):
        line = _PREFIX.sub("", line)
        if "Operator-wise Profiling Info for Regular Benchmark Runs" in line:
            regular = True
        elif "Profiling Info for Benchmark Initialization" in line:
            regular = False
        if "Summary by node type" in line:
            in_summary = regular
            continue
        if in_summary:
            cells = _cells(line)
            if not cells:
                in_summary = False
            elif cells[0] != "[Node type]" and len(cells) >= 4:
                try:
                    rows.append(OpTypeRow(cells[0], int(cells[1]), float(cells[2]), float(cells[3].rstrip("%"))))
                except ValueError:
                    in_summary = False
    return rows


def _phases(out: BenchmarkOutput, blocks: list[list[Stat]], loose: list[Stat]) -> None:
    """Warm-up and timed statistics by the ``Running benchmark for at least N iterations`` blocks.

    The first block is the warm-up, the second the timed runs; output that stops after the first block
    has no timed runs (a failed run, never warm-up figures passed off as results). Outputs without the
    block lines (the APK's logcat keeps only some) fall back to order: the last stat line is the timed one.
    """
    if blocks:
        out.warmup = blocks[0][-1] if blocks[0] else None
        out.runs = blocks[1][-1] if len(blocks) > 1 and blocks[1] else None
        if out.runs is None and not out.errors:
            out.errors.append("the output ends after the warm-up block: no timed runs")
    elif loose:
        out.runs = loose[-1]
        out.warmup = loose[-2] if len(loose) >= 2 else None


def parse_benchmark_output(text: str, requested: str = "cpu") -> BenchmarkOutput:
    out = BenchmarkOutput(delegation=Delegation(requested))
    delegate_name = {"gpu": "GPU", "nnapi": "NNAPI"}.get(requested)
    blocks: list[list[Stat]] = []
    loose: list[Stat] = []
    unsupported = False
    for raw in normalize_lines(text):
        line = _PREFIX.sub("", raw)
        if raw.startswith("ERROR:") or line.startswith("ERROR"):
            out.errors.append(line)
        if raw.startswith(("WARN:", "WARNING:")):
            out.warnings.append(line)
        if unsupported:
            unsupported = not ("operations will run on the GPU" in line or not line.strip())
            if unsupported:
                out.delegation.unsupported_ops.append(line.strip())
                continue
        if re.match(r"Running benchmark for at least \d+ iterations", line):
            blocks.append([])
        elif line.startswith("count="):
            (blocks[-1] if blocks else loose).append(parse_stat(line))
        elif not (_timings(out, line) or _memory_and_size(out, line)):
            _accelerators(out.delegation, line)
            if delegate_name:
                unsupported = _delegation(out.delegation, delegate_name, line)
    _phases(out, blocks, loose)
    out.op_profile = _summary_by_type(text)
    out.op_nodes = parse_run_order(text)
    if requested in ("gpu", "nnapi") and not out.delegation.applied and not out.delegation.reason:
        out.delegation.reason = f"no 'Explicitly applied {delegate_name} delegate' line: the model ran on the CPU"
    if requested == "cpu":
        out.delegation.applied, out.delegation.mode = True, "full"
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
    for raw in normalize_lines(text):
        line = _PREFIX.sub("", raw)
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
                rows.append(
                    OpNodeRow(
                        cells[columns["[node type]"]],
                        float(cells[columns["[avg ms]"]]),
                        float(cells[columns["[%]"]].rstrip("%")),
                        cells[columns.get("[name]", len(cells) - 1)],
                    )
                )
            except (ValueError, IndexError, KeyError):
                return rows
    return rows
