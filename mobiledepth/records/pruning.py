"""NetAdapt's ``history.json``: written after every iteration, read back by ``--resume``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class PruneMember:
    """The base or the final model of a NetAdapt run: its files and measured figures."""

    checkpoint: str
    tflite: str
    measured_ms: float
    whdr: float  # validation WHDR (the split that steered the choices)
    params: int
    test_whdr: float | None = None  # final only: the held-out split nothing was chosen on
    meets_target: bool | None = None  # final only: the paired confirmation's verdict


@dataclass
class PruneIteration:
    """One accepted NetAdapt step: which channel group shrank, predicted vs measured latency, the paired
    verification against the current and base files, and the candidates rejected before it."""

    iteration: int
    group: str
    width_from: int  # JSON "from"
    width_to: int  # JSON "to"
    params: int
    predicted_ms: float
    measured_ms: float
    predictor_error_ms: float
    whdr: float
    step_target_ms: float
    widths: dict[str, int]
    proposals: list[dict[str, Any]]
    checkpoint: str
    tflite: str
    verification: dict[str, Any]  # paired: rounds, step (candidate/current) and base (candidate/base) ratios
    ratio_to_base: float | None = None  # None in histories written before paired verification
    target_ratio: float | None = None
    rejected: list[dict[str, Any]] = field(default_factory=list)

    JSON_NAMES = {"width_from": "from", "width_to": "to"}  # JSON keys that are Python keywords

    def to_dict(self) -> dict[str, Any]:
        return {self.JSON_NAMES.get(f.name, f.name): getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, item: dict[str, Any]) -> "PruneIteration":
        names = {f.name for f in fields(cls)}
        return cls(**{n: item[cls.JSON_NAMES.get(n, n)] for n in names if cls.JSON_NAMES.get(n, n) in item})


@dataclass
class PruneHistory:
    """``history.json`` of a NetAdapt run: written after every iteration, read back by ``--resume``."""

    checkpoint: str
    options: dict[str, Any]
    measurer: dict[str, str]  # device / delegate / precision / size / threads
    base: PruneMember
    iterations: list[PruneIteration] = field(default_factory=list)
    status: str = "running"  # running | reached | not confirmed | unreachable
    target_ms: float | None = None
    kept: dict[str, dict[str, Any]] = field(default_factory=dict)  # milestone label -> iteration, params, ms
    final: PruneMember | None = None
    confirmation: dict[str, Any] | None = None  # the final paired check against the base
    reason: str = ""  # why the run stopped short (empty when reached)
    wall_s: float = 0.0
    predictor_error_ms: dict[str, Any] | None = None

    @property
    def last(self) -> PruneIteration | PruneMember:
        return self.iterations[-1] if self.iterations else self.base

    def to_dict(self) -> dict[str, Any]:
        item = {f.name: getattr(self, f.name) for f in fields(self)}
        item["base"] = asdict(self.base)
        item["iterations"] = [it.to_dict() for it in self.iterations]
        item["final"] = asdict(self.final) if self.final else None
        return {k: v for k, v in item.items() if v is not None}

    @classmethod
    def from_dict(cls, item: dict[str, Any]) -> "PruneHistory":
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in item.items() if k in names}
        values["base"] = PruneMember(**item["base"])
        values["iterations"] = [PruneIteration.from_dict(it) for it in item.get("iterations", [])]
        values["final"] = PruneMember(**item["final"]) if item.get("final") else None
        return cls(**values)
