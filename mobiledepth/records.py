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
    for field, kind in REQUIRED[item["record"]].items():
        value = _field(item, field)
        if value is None or not isinstance(value, kind) or isinstance(value, bool):
            problem = "without" if value is None else "with a mistyped"
            raise MobileDepthError(f"{path}: {item['record']} record {problem} '{field.replace('|', ' or ')}'")
