"""Result records (JSON) shared by bench, eval, convert, predict and profile, so ``report`` can join them.

Every record has ``record`` (its kind), ``schema``, ``tool``, ``created``; bench and eval records a
``model`` block keyed by the model file's sha256. Phone benchmarks (android_bench) write the same bench
record. Files from older versions are migrated when read (:data:`MIGRATIONS`); files from a newer
version, or not ours, are refused with one line.

Schema history: 0 (convert reports without ``schema``: ``tools``/``source`` only), 1 (header on every
record), 2 (convert ``source.kind`` and ``input.preprocess``: any model, declared preprocessing).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from android_bench import RECORD_SCHEMA

from . import __version__
from .errors import MobileDepthError

SCHEMA = RECORD_SCHEMA


def _v0_to_v1(item: dict[str, Any]) -> dict[str, Any]:
    """Convert reports of schema 0 had no header beyond 'record': the tool is named in 'tools'."""
    tools = item.get("tools") or {}
    item.setdefault("tool", {"name": "mobiledepth", "version": tools.get("mobiledepth", "unknown")})
    return item


def _v1_to_v2(item: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 converted mobiledepth checkpoints only, with inputs in [0, 1] and no preprocessing."""
    if item["record"] == "convert":
        item.setdefault("source", {}).setdefault("kind", "checkpoint")
        item.setdefault("input", {}).setdefault("preprocess", {"mean": [0.0] * 3, "std": [1.0] * 3, "pixel_scale": 1.0})
    return item


MIGRATIONS = {0: _v0_to_v1, 1: _v1_to_v2}  # schema N -> N + 1


def migrate(path: str | os.PathLike, item: dict[str, Any]) -> dict[str, Any]:
    """``item`` brought to :data:`SCHEMA`; a newer or malformed schema is refused naming the file."""
    version = item.get("schema", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise MobileDepthError(f"{path}: {item['record']} record with a malformed schema {version!r}")
    if version > SCHEMA:
        raise MobileDepthError(f"{path}: written by a newer mobiledepth (record schema {version}); this one reads "
                               f"schemas up to {SCHEMA}")  # fmt: skip
    while version < SCHEMA:
        item = MIGRATIONS[version](item)
        version += 1
    item["schema"] = SCHEMA
    return item


def record_header(kind: str) -> dict[str, Any]:
    return {
        "record": kind,
        "schema": SCHEMA,
        "tool": {"name": "mobiledepth", "version": __version__},
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


HEADER_KEYS = ("record", "schema", "tool", "created")


class TypedRecord:
    """What the typed records share: a header (kind, schema, tool, time), typed fields, and ``details`` for
    the producer-specific rest. :meth:`to_dict` is the JSON form written to files; :meth:`from_dict` reads
    any record of that kind back (fields it does not type go to ``details``), so a file written by one
    producer reads back through the same class as every other."""

    details: dict[str, Any]
    header: dict[str, Any]

    @classmethod
    def _typed(cls) -> set[str]:
        return {f.name for f in fields(cls)} - {"details", "header"}  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        core = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("details", "header")}  # type: ignore[arg-type]
        return {**self.header, **core, **self.details}

    @classmethod
    def from_dict(cls, item: dict[str, Any]):
        typed, untyped = cls._typed(), {*HEADER_KEYS, *cls._derived()}
        return cls(
            **{k: item[k] for k in typed if k in item},
            details={k: v for k, v in item.items() if k not in typed and k not in untyped},
            header={k: item[k] for k in HEADER_KEYS if k in item},
        )  # fmt: skip

    @classmethod
    def _derived(cls) -> tuple[str, ...]:
        return ()  # fields to_dict computes (not read back)


@dataclass
class BenchRecord(TypedRecord):
    """One model file's latency on one device (host or phone), single or paired: the typed form of the
    ``bench`` record. Every producer (host worker, paired host run, phone runs, saved phone logs,
    NetAdapt's verifications) builds one."""

    model: dict[str, Any]  # modelinfo.ModelInfo.to_dict(): path, sha256, format, precision, ...
    device: dict[str, Any]  # host_device() or the phone's block
    delegate: str
    latency_ms: dict[str, Any]  # median / p90 / mean / ...; phones may lack a median (then mean, labelled)
    threads: int | None = None
    status: str = "ok"  # ok | delegate-partial | delegate-not-applied (phones; the host is always ok)
    settings: dict[str, Any] = field(default_factory=dict)
    paired: dict[str, Any] | None = None  # rounds, round medians, ratio to the first file (paired runs only)
    details: dict[str, Any] = field(default_factory=dict)  # runtime-specific: memory, init, delegation, thermal
    header: dict[str, Any] = field(default_factory=lambda: record_header("bench"))

    @property
    def central_ms(self) -> float:
        """The median, or the mean where the tool printed no median (recorded as such)."""
        from android_bench.runner import central_ms

        return float(central_ms(self.latency_ms))

    @property
    def fps(self) -> float:
        return 1000.0 / self.central_ms

    @property
    def file_name(self) -> str:
        return Path(self.model.get("path", "?")).name

    def to_dict(self) -> dict[str, Any]:
        item = super().to_dict()
        if item["paired"] is None:
            del item["paired"]
        return {**item, "fps": self.fps}

    @classmethod
    def _derived(cls) -> tuple[str, ...]:
        return ("fps",)


@dataclass
class EvalRecord(TypedRecord):
    """One model file's accuracy on one DIW-format split: WHDR over the annotated pairs (and dense metrics
    where ground-truth depth maps exist)."""

    model: dict[str, Any]
    whdr: float
    dataset: dict[str, Any] = field(default_factory=dict)  # csv, images, pairs
    wrong_pairs: int = 0
    input_hw: list[int] = field(default_factory=list)
    disparity: bool = False
    resize: str = "torch7"
    preprocess: dict[str, Any] = field(default_factory=dict)
    dense: dict[str, Any] | None = None  # rmse / delta1 / si_rmse, least-squares aligned
    details: dict[str, Any] = field(default_factory=dict)
    header: dict[str, Any] = field(default_factory=lambda: record_header("eval"))

    @property
    def file_name(self) -> str:
        return Path(self.model.get("path", "?")).name


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


TYPED = {"bench": BenchRecord, "eval": EvalRecord}  # kind -> class; the other kinds stay plain JSON blocks


def as_dict(record: Any) -> dict[str, Any]:
    """A record in its JSON form, whether typed or already a dict."""
    return record.to_dict() if isinstance(record, TypedRecord) else record


def host_device() -> dict[str, Any]:
    """What 'host' means in a record: CPU model, cores, OS."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "name": "host",
        "model": cpu,
        "soc": cpu,
        "os": platform.platform(),
        "abi": platform.machine(),
        "cores": os.cpu_count(),
    }


def load_records(paths: list[str | os.PathLike]) -> list[dict[str, Any]]:
    """Read records; a file may hold one record or a list. Bad files fail with their name."""
    records: list[dict[str, Any]] = []
    for path in paths:
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise MobileDepthError(f"{path}: no such result file") from None
        except (OSError, ValueError) as exc:
            raise MobileDepthError(
                f"{path}: not a JSON result file ({exc.__class__.__name__}: {str(exc)[:100]})"
            ) from None
        items = data if isinstance(data, list) else [data]
        for item in items:
            if not isinstance(item, dict) or item.get("record") not in REQUIRED:
                raise MobileDepthError(f"{path}: not a mobiledepth result record (no 'record': {'/'.join(REQUIRED)})")
            item = migrate(path, item)
            _check_fields(path, item)
            _check_typed(path, item)
            item["_source"] = str(path)
            records.append(item)
    return records


# What `report` reads from each kind of record (field -> type, dotted for nested blocks; 'a|b': a, else b,
# as a phone log without a median gives its mean, labelled).
REQUIRED: dict[str, dict[str, type | tuple[type, ...]]] = {
    "bench": {
        "model": dict,
        "model.sha256": str,
        "latency_ms": dict,
        "latency_ms.median|mean": (int, float),
        "device": dict,
    },
    "eval": {"model": dict, "model.sha256": str, "whdr": (int, float)},
    "convert": {"files": list, "source": dict},
    "profile": {"model": str, "layers": list, "end_to_end_ms": (int, float)},
    "predict": {"pictures": list, "differences": list},
}


def _check_typed(path: str | os.PathLike, item: dict[str, Any]) -> None:
    """Bench and eval records must also build their typed class (the one definition of the schema)."""
    kind = TYPED.get(item["record"])
    if kind is None:
        return
    try:
        kind.from_dict(item)
    except TypeError as exc:
        missing = ", ".join(re.findall(r"'(\w+)'", str(exc))) or str(exc)
        raise MobileDepthError(f"{path}: {item['record']} record without '{missing}'") from None


def _field(item: dict[str, Any], dotted: str) -> Any:
    head, _, last = dotted.rpartition(".")
    value: Any = item
    for part in head.split(".") if head else []:
        value = value.get(part) if isinstance(value, dict) else None
    if not isinstance(value, dict):
        return None
    return next((value[k] for k in last.split("|") if value.get(k) is not None), None)


def _check_fields(path: str | os.PathLike, item: dict[str, Any]) -> None:
    """One line naming the file, the record kind and the first missing or mistyped field."""
    for name, kind in REQUIRED[item["record"]].items():
        value = _field(item, name)
        if value is None or not isinstance(value, kind) or isinstance(value, bool):
            problem = "without" if value is None else "with a mistyped"
            raise MobileDepthError(f"{path}: {item['record']} record {problem} '{name.replace('|', ' or ')}'")
