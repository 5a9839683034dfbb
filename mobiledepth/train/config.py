"""Training configuration: a TOML file with [model], [run] and one or more [[stage]] tables.

Stages run in order, each starting from the previous stage's weights: the paper's sequential
MC -> ReDWeb -> DIW baseline is three stages. Shipped configs live in ``configs/``.
"""

from __future__ import annotations

import math
import types
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MobileDepthError
from ..tomlfile import check_keys, read_toml

LOSSES = ("ranking", "improved_ranking", "mc")


@dataclass
class TeacherConfig:
    path: str
    pixel: bool = True  # pixel-wise RMSE on every prediction
    pair: bool = True  # pair-wise feature loss on the penultimate decoder maps
    disparity: bool = False  # teacher output grows with nearness
    normalise: bool = False  # standardise teacher maps (arbitrary-scale teachers)
    beta: float = 0.5


@dataclass
class RebalanceSettings:
    enabled: bool = False
    order: str = "hard-first"
    events_per_epoch: int = 5


@dataclass
class StageConfig:
    name: str
    data: str  # diw | relative | dense | synth
    train: str
    val: str | None = None  # a DIW CSV or a folder with DIW_val.csv; default: the train folder's DIW_val.csv
    size: tuple[int, int] = (224, 448)
    batch: int = 4
    epochs: int = 5
    lr: float = 1e-4
    lr_decay: float = 0.5
    lr_decay_every: int = 1
    weight_decay: float = 0.0
    loss: str = "ranking"
    intermediate: bool = True
    augment: bool = True
    pairs_per_image: int = 3000
    sigma: float = 0.02
    disparity: bool = False
    mc_a1: float = 0.5
    mc_a2: float = 0.1
    # Weight of a dense term beside the ranking loss (losses.ssi_loss: MiDaS's scale- and shift-invariant
    # disparity loss with gradient matching); needs dense depth (data = synth, dense or relative). 0 = off.
    dense_weight: float = 0.0
    teacher: TeacherConfig | None = None
    rebalance: RebalanceSettings = field(default_factory=RebalanceSettings)
    max_steps_per_epoch: int | None = None
    val_limit: int | None = None
    # Quantisation-aware fine-tuning: BN folded, fake int8 where the TFLite file rounds (quant/qat.py);
    # validation then scores the simulated int8 model.
    qat: bool = False
    qat_calibration_batches: int = 4
    # Weight of a term pulling the int8-simulated map towards the same weights' float map: it trains the
    # gap that the convert gate measures (int8 file vs fp32 file of one checkpoint).
    qat_consistency: float = 0.0


@dataclass
class ModelSection:
    variant: str = "mobiledepth-base"  # registry name or config JSON
    init: str | None = None  # checkpoint to start from
    encoder_weights: str | None = None
    act_limit: float | None = (
        None  # override the decoder's activation bound (e.g. 8.0 to make an old model int8-friendly)
    )


@dataclass
class RunSection:
    out: str = "build/train"
    seed: int = 0
    workers: int = 0
    amp: bool = True  # used only on CUDA
    threads: int | None = None
    log_every: int = 20


@dataclass
class TrainConfig:
    model: ModelSection
    run: RunSection
    stages: list[StageConfig]
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _matches(value: Any, hint: Any) -> bool:
    """Does a TOML value fit a field's type? (bools are not numbers; ints are accepted as floats)."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, (list, tuple)):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_matches(v, args[0]) for v in value)
        return len(value) == len(args) and all(_matches(v, a) for v, a in zip(value, args))
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


def _type_name(hint: Any) -> str:
    return str(hint).replace("typing.", "").replace("<class '", "").replace("'>", "")


def _build(cls, data: dict[str, Any], where: str):
    """A config dataclass from a TOML table: unknown keys and mistyped values are refused by name."""
    if not isinstance(data, dict):
        raise MobileDepthError(f"{where}: expected a table, got {data!r}")
    hints = typing.get_type_hints(cls)
    check_keys(where, data, hints)
    for key, value in data.items():
        if not _matches(value, hints[key]):
            raise MobileDepthError(f"{where}: {key} = {value!r} is not of type {_type_name(hints[key])}")
    try:
        return cls(**data)
    except TypeError as exc:
        raise MobileDepthError(f"{where}: {exc}") from None


TABLES = ("model", "run", "stage")  # a config's top-level tables
POSITIVE = ("batch", "epochs", "lr", "lr_decay_every", "pairs_per_image", "qat_calibration_batches")


def _check_values(stage: "StageConfig", where: str) -> None:
    for key in POSITIVE:
        value = getattr(stage, key)
        if not (value > 0 and math.isfinite(value)):  # lr = inf (or nan) would train to NaN and save it
            raise MobileDepthError(f"{where}: {key} must be a positive finite number, got {value!r}")
    if any(v <= 0 for v in stage.size):
        raise MobileDepthError(f"{where}: size {list(stage.size)} must be positive")


def _check_run(run: RunSection, where: str) -> RunSection:
    """Ranges of the [run] table: log_every 0 divided by zero, threads -1 and workers -1 crashed in torch."""
    import os

    cores = os.cpu_count() or 1
    if run.log_every < 1:
        raise MobileDepthError(f"{where}: log_every must be at least 1, got {run.log_every}")
    if run.threads is not None and not 1 <= run.threads <= cores:
        raise MobileDepthError(f"{where}: threads must be in 1..{cores} (this computer's cores), got {run.threads}")
    if not 0 <= run.workers <= 64:
        raise MobileDepthError(f"{where}: workers (data loader processes) must be between 0 and 64, got {run.workers}")
    return run


def _output_stride(variant: str) -> int:
    """The named variant's encoder stride; a config file given as the variant is checked when it is built."""
    from ..model.config import OUTPUT_STRIDE, VARIANTS

    return VARIANTS[variant]().encoder.output_stride if variant in VARIANTS else OUTPUT_STRIDE


def parse_config(data: dict[str, Any], source: str = "<config>") -> TrainConfig:
    check_keys(source, data, TABLES, what="table")
    stages = []
    raw_stages = data.get("stage")
    if not raw_stages:
        raise MobileDepthError(f"{source}: no [[stage]] table")
    if not isinstance(raw_stages, list) or not all(isinstance(r, dict) for r in raw_stages):
        raise MobileDepthError(f"{source}: 'stage' must be [[stage]] tables, got {raw_stages!r}")
    base = Path(source).parent if source and Path(source).exists() else Path(".")
    model = _build(ModelSection, data.get("model", {}), f"{source}: [model]")
    stride = _output_stride(model.variant)
    for i, raw in enumerate(raw_stages):
        raw = dict(raw)
        where = f"{source}: stage {i + 1}"
        if "teacher" in raw:
            raw["teacher"] = _build(TeacherConfig, raw["teacher"], f"{where} [teacher]")
        if "rebalance" in raw:
            raw["rebalance"] = _build(RebalanceSettings, raw["rebalance"], f"{where} [rebalance]")
        if isinstance(raw.get("size"), list):
            raw["size"] = tuple(raw["size"])
        stage = _build(StageConfig, raw, where)
        _check_values(stage, where)
        if stage.loss not in LOSSES:
            raise MobileDepthError(f"{where}: loss must be one of {', '.join(LOSSES)}, got {stage.loss!r}")
        if not (0 <= stage.dense_weight < math.inf):
            raise MobileDepthError(f"{where}: dense_weight must be a finite number >= 0, got {stage.dense_weight!r}")
        if stage.dense_weight > 0 and stage.data == "diw":
            raise MobileDepthError(f"{where}: dense_weight needs dense depth (data = synth, dense or relative), "
                                   "not DIW pairs")  # fmt: skip
        if stage.rebalance.enabled and stage.teacher is None:
            raise MobileDepthError(f"{where}: rebalancing needs several loss terms; add a [stage.teacher]")
        if stage.size[0] % stride or stage.size[1] % stride:
            raise MobileDepthError(f"{where}: size {list(stage.size)} must be multiples of {stride} (the encoder's "
                                   "output stride)")  # fmt: skip
        for attr in ("train", "val"):
            value = getattr(stage, attr)
            if value and not Path(value).is_absolute() and not Path(value).exists() and (base / value).exists():
                setattr(stage, attr, str(base / value))
        stages.append(stage)
    return TrainConfig(
        model=model,
        run=_check_run(_build(RunSection, data.get("run", {}), f"{source}: [run]"), f"{source}: [run]"),
        stages=stages,
        source=source,
    )


def load_config(path: str | Path) -> TrainConfig:
    return parse_config(read_toml(path), str(path))
