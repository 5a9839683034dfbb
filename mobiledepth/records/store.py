"""Reading and writing record files: one record or a list per file, migrated, decoded, refused with one line.

:func:`write_record` is the only way records reach disk: strict JSON (no NaN), written atomically.
:func:`load_records` reads any mix of kinds and returns the typed records.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence, Union

from ..codec import RecordError, decode
from ..errors import MobileDepthError
from ..fileio import write_json
from .bench import BenchRecord
from .conversion import ConvertReport
from .evaluation import EvalRecord
from .lab import SweepJobRecord
from .migrations import MIGRATIONS, Json
from .parts import SCHEMA
from .prediction import PredictRecord
from .profiling import LayerProfile

AnyRecord = Union[BenchRecord, EvalRecord, ConvertReport, LayerProfile, PredictRecord, SweepJobRecord]
KINDS: dict[str, type] = {
    "bench": BenchRecord,
    "eval": EvalRecord,
    "convert": ConvertReport,
    "profile": LayerProfile,
    "predict": PredictRecord,
    "sweep-job": SweepJobRecord,
}


def write_record(path: str | os.PathLike, records: AnyRecord | Sequence[AnyRecord]) -> Path:
    """One record, or a list, as strict JSON, atomically (a reader never sees half a file)."""
    return write_json(path, records if not isinstance(records, (list, tuple)) else list(records))


def migrate(path: str | os.PathLike, item: Json) -> Json:
    """``item`` brought to :data:`SCHEMA`; a newer or malformed schema is refused naming the file."""
    version = item.get("schema", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise MobileDepthError(f"{path}: {item['record']} record with a malformed schema {version!r}")
    if version > SCHEMA:
        raise MobileDepthError(
            f"{path}: written by a newer mobiledepth (record schema {version}); this one reads schemas up to {SCHEMA}"
        )
    while version < SCHEMA:
        item = MIGRATIONS[version](item)
        version += 1
    item["schema"] = SCHEMA
    return item


def read_record(path: str | os.PathLike, item: object) -> AnyRecord:
    """One JSON object of a record file as its typed record."""
    if not isinstance(item, dict) or item.get("record") not in KINDS:
        raise MobileDepthError(f"{path}: not a mobiledepth result record (no 'record': {'/'.join(KINDS)})")
    kind = item["record"]
    try:
        return decode(KINDS[kind], migrate(path, dict(item)))
    except RecordError as exc:
        raise MobileDepthError(f"{path}: {kind} record: {exc}") from None
    except (KeyError, TypeError, AttributeError) as exc:  # an old file too damaged for its migration
        raise MobileDepthError(f"{path}: {kind} record that cannot be read ({exc.__class__.__name__}: {exc})") from None


def read_json(path: str | os.PathLike) -> object:
    try:
        return json.loads(Path(path).read_text(), parse_constant=_no_constant)
    except FileNotFoundError:
        raise MobileDepthError(f"{path}: no such result file") from None
    except (OSError, ValueError) as exc:
        raise MobileDepthError(f"{path}: not a JSON result file ({exc.__class__.__name__}: {str(exc)[:100]})") from None


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def load_records(paths: Sequence[str | os.PathLike]) -> list[AnyRecord]:
    """Every record of every file, typed. Bad files fail with their name."""
    out: list[AnyRecord] = []
    for path in paths:
        data = read_json(path)
        out += [read_record(path, item) for item in (data if isinstance(data, list) else [data])]
    return out
