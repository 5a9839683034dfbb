"""``convert`` records (``convert_report.json``): every written file with its parity, task score, gate and
host speed, and what the conversion did on the way (calibration, graph rewrites, the int8 diagnosis).

The report is assembled once, by the conversion's last stage, from the typed pieces each stage returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..inputs import InputSpec
from .parts import InputContract, Interval, QuantParams, Record


@dataclass(frozen=True)
class OutputInfo:
    """One output of a written file, in the order the source model returns it."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"
    quantization: QuantParams | None = None


@dataclass(frozen=True)
class OutputParity:
    """One output of a file against the source on the same images. Measures that hold near zero: max abs
    error, the error over the reference's dynamic range (p99 - p1), SNR and cosine. ``rel_l2`` (error over
    the reference's norm) is kept for reference only: it explodes when the reference is near zero."""

    output: str
    max_abs: float
    range: float  # p99 - p1 of the reference over all images
    max_abs_over_range: float | None  # None when the reference is constant
    rel_l2: float | None  # None when the reference is all zero
    snr_db: float | None  # None when the error is exactly zero (no noise to measure)
    cosine: float | None  # None when either map is all zero


@dataclass(frozen=True)
class Ordering:
    """Depth maps: the share of visibly different random pixel pairs the file orders the other way, and
    the share it cannot tell apart (equal values: quantisation steps)."""

    disagree: float
    ties: float
    pairs: int


@dataclass(frozen=True)
class Parity:
    images: int
    data: str  # where the images came from ('your images: DIR' or 'bundled synthetic rooms')
    outputs: tuple[OutputParity, ...]
    ordering: Ordering | None = None  # depth and disparity tasks only


@dataclass(frozen=True)
class TaskScore:
    """What a file's map is worth for the task, judged the task's way.

    depth / disparity: WHDR on annotated pairs (``value``), the source's WHDR beside it and the paired
    ``drop`` (positive = worse), its interval over images. mask: mean IoU of the file's mask with the
    source's at the threshold. generic: mean SNR (dB) of the file's map against the source's. A user's
    metric: its mean over images. ``interval`` is the 95% bootstrap interval over images of ``drop`` where
    there is one, else of ``value``."""

    task: str
    metric: str
    value: float
    units: int
    unit: str  # pairs | images
    higher_is_better: bool
    source_value: float | None = None
    drop: float | None = None
    interval: tuple[float, float] | None = None
    lost: int = 0  # pairs the source got right and this file gets wrong (WHDR)
    gained: int = 0
    output: str = ""  # the output this score is of (the worst one when several are checked)


@dataclass(frozen=True)
class GateResult:
    verdict: str  # passed | failed | unverified
    metric: str
    limit: float
    problem: str = ""  # failed: what and by how much; unverified: what would check it


@dataclass(frozen=True)
class HostSpeed:
    """The file timed on the host paired against the fp32 file (interleaved in one process, a short run):
    what int8 or fp16 buys HERE. Hosts differ; phones differ more: measure on the target."""

    baseline: str  # the fp32 file's name
    median_ms: float
    ratio: Interval | None  # this / fp32, per round; None for the fp32 file itself
    rounds: int
    threads: int
    host: str
    undelegated_ops: tuple[str, ...] = ()  # op types XNNPACK did not take (LiteRT's built-in kernels ran them)

    def verdict(self, precision: str) -> str:
        """'int8 runs 1.43x SLOWER than fp32 on this host' / '2.10x faster' / 'as fast as' (interval spans 1)."""
        if self.ratio is None:
            return ""
        r = self.ratio
        if r.low <= 1.0 <= r.high:
            return f"{precision} runs as fast as fp32 on this host ({r.median:.2f}x its time, {r.low:.2f}-{r.high:.2f})"
        if r.median > 1.0:
            return f"{precision} runs {r.median:.2f}x SLOWER than fp32 on this host"
        return f"{precision} runs {1 / r.median:.2f}x faster than fp32 on this host"


@dataclass(frozen=True)
class GpuIncompatibleOp:
    index: int
    op: str
    reason: str


@dataclass(frozen=True)
class ModelAnalysis:
    ops: dict[str, int] = field(default_factory=dict)
    gpu_compatible: bool | None = None
    gpu_incompatible: tuple[GpuIncompatibleOp, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class FileReport:
    path: str
    format: str  # onnx | tflite
    precision: str
    size_bytes: int
    sha256: str
    params: int | None
    input: InputContract
    outputs: tuple[OutputInfo, ...]
    parity: Parity
    analysis: ModelAnalysis | None = None
    task: TaskScore | None = None
    gate: GateResult | None = None
    speed: HostSpeed | None = None
    note: str = ""
    status: str = "ok"  # ok | failed | unverified
    problem: str = ""

    @property
    def name(self) -> str:
        from pathlib import Path

        return Path(self.path).name


@dataclass(frozen=True)
class SourceInfo:
    path: str | None
    name: str
    kind: str  # checkpoint | onnx | torchscript | export | module
    sha256: str | None = None
    params: int | None = None
    variant: str | None = None
    trained: bool | None = None


@dataclass(frozen=True)
class TaskSetup:
    """How every file's task score was measured: the task, its metric and gate limit, the data."""

    task: str
    metric: str
    limit: float
    data: str
    images: int
    pairs: int = 0  # annotated pairs (depth / disparity)
    source_value: float | None = None  # the source model's score (WHDR)
    threshold: float | None = None  # mask: the probability a pixel must exceed


@dataclass(frozen=True)
class Calibration:
    dir: str
    images: int
    input_range: tuple[float, float] = (0.0, 1.0)


@dataclass(frozen=True)
class TensorError:
    tensor: str  # the op name shared by both files
    shape: tuple[int, ...]
    scale: float
    zero_point: int
    quant_min: float  # the int8 grid's range in real units
    quant_max: float
    float_min: float  # what the float file produced on the held-out images
    float_max: float
    rmse: float
    rmse_over_range: float  # RMSE / (float_max - float_min)
    relative: float  # RMSE / RMS of the float tensor: the share of the signal that is error
    steps: float  # RMSE in units of the int8 step
    clipped: float  # share of float values outside the int8 grid's range


@dataclass(frozen=True)
class FloatGroupEffect:
    group: str
    points: int  # activation quantisers and weight-quantised convs switched to float
    whdr: float  # simulated int8 task WHDR with this group in float
    gain: float  # all-int8 WHDR minus this: how much WHDR keeping the group in float buys back


@dataclass(frozen=True)
class FloatParts:
    method: str
    input_folded: bool
    output_rounded: bool
    float_whdr: float
    simulated_int8_whdr: float
    parts: tuple[FloatGroupEffect, ...]


@dataclass(frozen=True)
class Int8Diagnosis:
    images: int
    method: str
    tensors: tuple[TensorError, ...]
    float_parts: FloatParts | None = None


@dataclass(frozen=True)
class GraphRewrites:
    """Edits of what onnx2tf converted and wrote, each checked exact or recorded: nearest upsamplings as
    DepthToSpace (onnx_rewrites.py), normalisation folded into the first conv (input_fold.py), and per
    calibrated precision the saturation-only clamps removed and the output resize moved to float."""

    depth_to_space: tuple[str, ...] = ()
    input_fold: tuple[str, ...] = ()
    saturating_clamps: dict[str, tuple[str, ...]] = field(default_factory=dict)  # precision -> tensors
    float_resize: dict[str, tuple[str, ...]] = field(default_factory=dict)  # precision -> output tensors
    note: str = ""


@dataclass(frozen=True)
class Tools:
    mobiledepth: str
    torch: str
    onnx2tf: str


@dataclass(frozen=True, kw_only=True)
class ConvertReport(Record):
    record: str = "convert"
    source: SourceInfo
    input: InputSpec
    files: tuple[FileReport, ...] = ()
    task: TaskSetup | None = None
    calibration: Calibration | None = None
    int8_diagnosis: Int8Diagnosis | None = None
    rewrites: GraphRewrites = field(default_factory=GraphRewrites)
    tools: Tools | None = None

    @property
    def failed(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def unverified(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "unverified"]

    def file_of(self, sha256: str) -> FileReport | None:
        return next((f for f in self.files if f.sha256 == sha256), None)
