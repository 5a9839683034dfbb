"""One encoder and one decoder for every record: frozen dataclasses <-> JSON, typed all the way down.

Why one codec: each record kind used to write its own dict and every reader picked keys out of it with
``.get``; a renamed key then failed silently in the reader. Here the dataclass is the schema. Encoding
walks its fields; decoding walks the same fields' type hints and refuses, with the dotted path of the
field, any value of the wrong type, any missing required field and any key the class does not know.

Supported field types: ``int``, ``float``, ``str``, ``bool``, ``None``, ``X | None``, unions of
dataclasses told apart by their fields, ``list[X]``, ``tuple[X, ...]``, ``tuple[X, Y]``, ``dict[str, X]``,
``Literal[...]``, ``Path`` and nested dataclasses. A field's JSON name may differ from its Python
name (``field(metadata={"json": "from"})``); a class may list keys it writes but never reads back
(``DERIVED``, e.g. ``fps``). Non-finite floats are refused on both sides: JSON has no NaN.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

T = TypeVar("T")


class RecordError(ValueError):
    """A value that does not fit its record field; ``str()`` is ``<dotted.field>: <problem>``."""


def json_name(f: dataclasses.Field) -> str:
    return f.metadata.get("json", f.name)


def encode(value: Any, where: str = "") -> Any:
    """``value`` as plain JSON data (dicts, lists, str, int, float, bool, None)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {json_name(f): encode(getattr(value, f.name), _join(where, f.name)) for f in dataclasses.fields(value)}
        derived = getattr(value, "derived_fields", None)
        return {**out, **encode(derived(), where)} if derived else out
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RecordError(f"{where or 'value'}: {value} is not a finite number (JSON has no NaN or infinity)")
        return value
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): encode(v, _join(where, str(k))) for k, v in value.items()}
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return encode(value.item(), where)
    raise RecordError(f"{where or 'value'}: cannot write a {type(value).__name__} into a record")


def dumps(value: Any) -> str:
    """Strict JSON text of a record or of plain data (``allow_nan=False``: a NaN is an error, never written)."""
    return json.dumps(encode(value), indent=2, allow_nan=False) + "\n"


def decode(cls: type[T], data: Any, where: str = "") -> T:
    """A ``cls`` instance from JSON data; :class:`RecordError` names the first field that does not fit."""
    return _value(cls, data, where)


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


@functools.lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _dataclass(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise RecordError(f"{where or cls.__name__}: expected an object, got {_kind(data)}")
    hints, values = _hints(cls), {}
    known = set(getattr(cls, "DERIVED", ()))
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        key = json_name(f)
        known.add(key)
        if key in data:
            values[f.name] = _value(hints[f.name], data[key], _join(where, key))
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise RecordError(f"{_join(where, key)}: missing")
    unknown = sorted(set(data) - known)
    if unknown:
        raise RecordError(f"{_join(where, unknown[0])}: not a field of {cls.__name__}")
    return cls(**values)


def _kind(data: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(data), f"the number {data!r}" if isinstance(data, (int, float)) else type(data).__name__
    )


def _scalar(hint: type, data: Any, where: str) -> Any:
    if hint is bool:
        ok = isinstance(data, bool)
    elif hint is int:
        ok = isinstance(data, int) and not isinstance(data, bool)
    elif hint is float:
        ok = isinstance(data, (int, float)) and not isinstance(data, bool)
        if ok and not math.isfinite(data):
            raise RecordError(f"{where}: {data} is not a finite number")
        data = float(data) if ok else data
    elif hint is str:
        ok = isinstance(data, str)
    elif hint is Path:
        ok = isinstance(data, str)
        data = Path(data) if ok else data
    else:
        raise RecordError(f"{where}: no decoder for {hint!r}")
    if not ok:
        raise RecordError(f"{where}: expected {hint.__name__}, got {_kind(data)}")
    return data


def _value(hint: Any, data: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if hint is Any:
        return data
    if origin in (Union, types.UnionType):
        return _union(typing.get_args(hint), data, where)
    if hint is type(None):
        if data is not None:
            raise RecordError(f"{where}: expected null, got {_kind(data)}")
        return None
    if origin is Literal:
        if data not in typing.get_args(hint):
            raise RecordError(f"{where}: {data!r} is not one of {', '.join(map(repr, typing.get_args(hint)))}")
        return data
    if origin in (list, tuple):
        return _sequence(hint, origin, data, where)
    if origin is dict:
        if not isinstance(data, dict):
            raise RecordError(f"{where}: expected an object, got {_kind(data)}")
        value_hint = typing.get_args(hint)[1]
        return {str(k): _value(value_hint, v, _join(where, str(k))) for k, v in data.items()}
    if dataclasses.is_dataclass(hint):
        return _dataclass(hint, data, where)
    return _scalar(hint, data, where)


def _sequence(hint: Any, origin: type, data: Any, where: str) -> Any:
    if not isinstance(data, list):
        raise RecordError(f"{where}: expected a list, got {_kind(data)}")
    args = typing.get_args(hint)
    if origin is list or (len(args) == 2 and args[1] is Ellipsis):
        items = [_value(args[0], v, f"{where}[{i}]") for i, v in enumerate(data)]
        return items if origin is list else tuple(items)
    if len(args) != len(data):
        raise RecordError(f"{where}: expected {len(args)} items, got {len(data)}")
    return tuple(_value(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, data)))


def _union(options: tuple[Any, ...], data: Any, where: str) -> Any:
    """``X | None`` and unions of dataclasses: the first member that decodes without an error."""
    if data is None and type(None) in options:
        return None
    members = [o for o in options if o is not type(None)]
    first_error: RecordError | None = None
    for member in members:
        try:
            return _value(member, data, where)
        except RecordError as exc:
            first_error = first_error or exc
    assert first_error is not None
    raise first_error
