"""Result records (JSON) shared by bench, eval and convert, so ``mobiledepth report`` can join them.

Every record has ``record`` (its kind), ``schema``, ``tool``, ``created`` and a ``model`` block keyed
by the model file's sha256. Phone benchmarks (android_bench) write the same bench record.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
from pathlib import Path
from typing import Any

from . import __version__
from .errors import MobileDepthError

SCHEMA = 1


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
    return {"name": "host", "model": cpu, "soc": cpu, "os": platform.platform(), "abi": platform.machine(), "cores": os.cpu_count()}


def load_records(paths: list[str | os.PathLike]) -> list[dict[str, Any]]:
    """Read records; a file may hold one record or a list. Bad files fail with their name."""
    records: list[dict[str, Any]] = []
    for path in paths:
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise MobileDepthError(f"{path}: no such result file") from None
        except (OSError, ValueError) as exc:
            raise MobileDepthError(f"{path}: not a JSON result file ({exc.__class__.__name__}: {str(exc)[:100]})") from None
        items = data if isinstance(data, list) else [data]
        for item in items:
            if not isinstance(item, dict) or item.get("record") not in ("bench", "eval", "convert"):
                raise MobileDepthError(f"{path}: not a mobiledepth result record (no 'record': bench/eval/convert)")
            item["_source"] = str(path)
            records.append(item)
    return records
