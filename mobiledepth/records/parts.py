"""The pieces records are built from: header, model, device, input contract, paired ratio, memory.

Pure dataclasses (no torch, no runtime): every producer builds them and every reader (report, plots,
``info``, NetAdapt's resume) reads their fields, through :mod:`.codec`.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__

# 3: typed records (codec.py): phone and host details in their own blocks, parity per output, input contract
SCHEMA = 3


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ToolInfo:
    name: str = "mobiledepth"
    version: str = __version__


@dataclass(frozen=True, kw_only=True)
class Record:
    """The header every record carries: its kind, the schema it was written in, the tool, the time."""

    record: str
    schema: int = SCHEMA
    tool: ToolInfo = field(default_factory=ToolInfo)
    created: str = field(default_factory=now)


@dataclass(frozen=True)
class Interval:
    """A ratio (file / baseline latency, per round) and its 95% bootstrap interval over rounds."""

    median: float
    low: float
    high: float
    confidence: float = 0.95

    def speedup(self) -> "Interval":
        """The same comparison as the baseline's speed-up over the file: inverted, ends swapped."""
        return Interval(1.0 / self.median, 1.0 / self.high, 1.0 / self.low, self.confidence)


@dataclass(frozen=True)
class QuantParams:
    scale: float
    zero_point: int


@dataclass(frozen=True)
class InputContract:
    """What a file's input takes, as a user must feed it: layout, dtype, size, and how [0, 1] RGB pixels
    become its values (``(x * pixel_scale - mean) / std``, then ``round(v / scale) + zero_point`` for an
    integer input)."""

    layout: str  # NCHW | NHWC
    dtype: str  # float32 | int8 | uint8 | ...
    height: int
    width: int
    pixel_scale: float = 1.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    quantization: QuantParams | None = None  # integer inputs only

    def describe(self) -> str:
        """One line, e.g. 'NHWC int8 1x256x256x3, RGB [0,1] -> q = round(x / 0.00392) - 128'."""
        shape = f"1x3x{self.height}x{self.width}" if self.layout == "NCHW" else f"1x{self.height}x{self.width}x3"
        value = "RGB [0,1]"
        if self.pixel_scale != 1.0:
            value = f"RGB [0,1] x {self.pixel_scale:g}"
        if self.mean != (0.0, 0.0, 0.0) or self.std != (1.0, 1.0, 1.0):
            value = f"({value} - mean {_triple(self.mean)}) / std {_triple(self.std)}"
        if self.quantization is not None:
            q = self.quantization
            value += f" -> round(v / {q.scale:.5g}) {q.zero_point:+d}"
        return f"{self.layout} {self.dtype} {shape}, {value}"


def _triple(values: tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in values) + ")"


@dataclass(frozen=True)
class ModelInfo:
    """A model file as records name it; ``sha256`` is the key the report joins on."""

    path: str
    name: str
    format: str  # tflite | onnx | pytorch
    precision: str
    sha256: str
    size_bytes: int | None = None
    params: int | None = None
    trained: bool | None = None
    input: InputContract | None = None

    @property
    def file_name(self) -> str:
        return Path(self.path).name


@dataclass(frozen=True)
class Device:
    """Where a timing ran: 'host' (this computer) or a phone, real or emulated (said so, never hidden)."""

    name: str
    model: str = ""
    soc: str = ""
    os: str = ""
    abi: str = ""
    cores: int | None = None
    serial: str | None = None
    manufacturer: str = ""
    emulated: bool = False

    @property
    def label(self) -> str:
        """'host', 'S21 (SM-G991B)', and '(emulated)' after a phone that is not real."""
        base = (
            self.name
            if self.name == "host" or not self.model or self.model == self.name
            else (f"{self.name} ({self.model})")
        )
        return f"{base} (emulated)" if self.emulated else base


def host_device() -> Device:
    """What 'host' means in a record: CPU model, cores, OS."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return Device(name="host", model=cpu, soc=cpu, os=platform.platform(), abi=platform.machine(), cores=os.cpu_count())


@dataclass(frozen=True)
class Paired:
    """A paired (interleaved) run's view of one file: every round's median and its ratio to the first file."""

    files: tuple[str, ...]
    label: str
    baseline: str
    rounds: int
    runs_per_round: int
    round_medians_ms: tuple[float, ...]
    ratio_to_baseline: Interval | None  # None for the baseline itself
    latency_is: str = "median of per-round medians"


@dataclass(frozen=True)
class Memory:
    peak_mb: float | None = None  # the process's resident high-water mark (host) or the tool's peak (phones)
    model_mb: float | None = None  # host: peak minus the worker's footprint before loading
    init_mb: float | None = None  # phones: the tool's footprint deltas
    overall_mb: float | None = None
