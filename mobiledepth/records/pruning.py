"""NetAdapt's ``history.json``: written after every iteration, read back by ``--resume``, typed all the way down.

JSON keys keep their earlier names where Python's differ (``from`` / ``to`` are keywords: the codec maps
``width_from`` / ``width_to`` onto them), so histories written before the typed records still read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .parts import Interval


def _json(name: str):
    return field(metadata={"json": name})


@dataclass(frozen=True)
class MeasurerKey:
    """What the latencies were measured on; a resume or a latency cache must match it."""

    device: str
    delegate: str
    precision: str
    size: str  # HxW
    threads: str
    runtime: str = "litert"  # litert (converted .tflite) | onnxruntime (exported .onnx, any module on the host)


@dataclass(frozen=True)
class Proposal:
    """One channel group shrunk to a narrower width: predicted latency, and once scored, its task loss."""

    group: str
    width_from: int = _json("from")
    width_to: int = _json("to")
    predicted_ms: float = 0.0
    whdr: float | None = None  # the task score after short-term fine-tuning (WHDR, or the user's metric)
    score: float | None = None  # score lost per predicted ms saved (lower is better)


@dataclass(frozen=True)
class Verification:
    """A candidate timed interleaved with the current and the base file: per-round ratios with 95% intervals."""

    rounds: int
    ms: float
    base_ms: float
    current_ms: float
    step: Interval  # candidate / current
    base: Interval  # candidate / base
    paired: bool = True


@dataclass(frozen=True)
class Rejected:
    group: str
    width_to: int = _json("to")
    verification: Verification | None = None


@dataclass(frozen=True)
class PruneMember:
    """The base or the final model of a NetAdapt run: its files and measured figures."""

    checkpoint: str
    tflite: str  # the measured file (a .tflite, or an .onnx for modules timed with ONNX Runtime)
    measured_ms: float
    whdr: float  # validation score (the split that steered the choices)
    params: int
    test_whdr: float | None = None  # final only: the held-out split nothing was chosen on
    meets_target: bool | None = None  # final only: the paired confirmation's verdict


@dataclass(frozen=True)
class PruneIteration:
    """One accepted NetAdapt step: which channel group shrank, predicted vs measured latency, the paired
    verification against the current and base files, and the candidates rejected before it."""

    iteration: int
    group: str
    width_from: int = _json("from")
    width_to: int = _json("to")
    params: int = 0
    predicted_ms: float = 0.0
    measured_ms: float = 0.0
    predictor_error_ms: float = 0.0
    whdr: float = 0.0
    step_target_ms: float = 0.0
    widths: dict[str, int] = field(default_factory=dict)
    proposals: tuple[Proposal, ...] = ()
    checkpoint: str = ""
    tflite: str = ""
    verification: Verification | None = None
    ratio_to_base: float | None = None  # None in histories written before paired verification
    target_ratio: float | None = None
    rejected: tuple[Rejected, ...] = ()
    wall_s: float = 0.0  # the iteration, start to record (0: written before it was kept)
    scoring_s: float = 0.0  # of which fine-tuning and scoring the proposals (serial, or on --workers)


@dataclass(frozen=True)
class Confirmation:
    """The final file against the base, paired with twice a verification's rounds."""

    rounds: int
    final_ms: float
    base_ms: float
    ratio: Interval
    target_ratio: float
    confirmed: bool
    paired: bool = True


@dataclass(frozen=True)
class Milestone:
    iteration: int
    params: int
    measured_ms: float


@dataclass(frozen=True)
class PredictorError:
    mean_abs: float | None
    all: tuple[float, ...] = ()


@dataclass(frozen=True)
class PruneOptionsRecord:
    """The options a run started with, as the history keeps them (what ``--resume`` must not change)."""

    target_ms: float | None = None
    target_ratio: float | None = None
    freeze: tuple[str, ...] = ()
    seed: int = 0
    short_steps: int = 0
    long_steps: int = 0
    margin: float = 0.0
    workers: int = 1
    data: str | None = None


@dataclass(frozen=True)
class PruneHistory:
    checkpoint: str
    options: PruneOptionsRecord
    measurer: MeasurerKey
    base: PruneMember
    iterations: tuple[PruneIteration, ...] = ()
    status: str = "running"  # running | reached | not confirmed | unreachable
    target_ms: float | None = None
    kept: dict[str, Milestone] = field(default_factory=dict)  # milestone label -> where it was reached
    final: PruneMember | None = None
    confirmation: Confirmation | None = None
    reason: str = ""  # why the run stopped short (empty when reached)
    wall_s: float = 0.0
    predictor_error_ms: PredictorError | None = None

    @property
    def last(self) -> PruneIteration | PruneMember:
        return self.iterations[-1] if self.iterations else self.base
