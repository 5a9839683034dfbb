"""Convert reports of schema 2 brought to schema 3 (typed parity per output, task scores, rewrites).

What schema 2 did not measure stays unmeasured: its parity had one output and no dynamic range or SNR
(those become ``None``), its files no recorded input contract beyond the converted size.
"""

from __future__ import annotations

from typing import Any

from .migration_parts import IDENTITY_PREPROCESS, Json
from .migration_parts import pick as _pick
from .migration_parts import tool as _tool


def _parity(old: Json, data: str) -> Json:
    max_abs = float(old.get("max_abs", 0.0))
    rel = old.get("rel_l2")
    output = {
        "output": "output",
        "max_abs": max_abs,
        "range": 0.0,
        "max_abs_over_range": None,
        "rel_l2": rel if isinstance(rel, (int, float)) and rel == rel and rel != float("inf") else None,
        "snr_db": None,
        "cosine": None,
    }
    ordering = None
    if "whdr_vs_torch" in old:
        ordering = {
            "disagree": old["whdr_vs_torch"],
            "ties": old.get("ties_vs_torch", 0.0),
            "pairs": old.get("n_pairs", 0),
        }
    return {"images": old.get("n_images", 0), "data": data, "outputs": [output], "ordering": ordering}


def _task(old: Any) -> Json | None:
    if not isinstance(old, dict) or old.get("whdr") is None:
        return None
    return {
        "task": "depth",
        "metric": "whdr",
        "value": old["whdr"],
        "units": old.get("pairs", 0),
        "unit": "pairs",
        "higher_is_better": False,
        "drop": old.get("drop"),
        "interval": old.get("drop_ci"),
        "lost": old.get("lost", 0),
        "gained": old.get("gained", 0),
    }


def _gate(old: Any) -> Json | None:
    if not isinstance(old, dict):
        return None
    return {"verdict": old["verdict"], "metric": "whdr", "limit": old["limit"], "problem": old.get("problem", "")}


def _file(old: Json, size: tuple[int, int]) -> Json:
    fmt, precision = old.get("format", "tflite"), old.get("precision", "fp32")
    integer = fmt == "tflite" and precision == "int8"
    contract = {
        "layout": "NCHW" if fmt == "onnx" else "NHWC",
        "dtype": "int8" if integer else "float32",
        "height": size[0],
        "width": size[1],
    }
    analysis = old.get("analysis")
    return {
        **_pick(old, ("path", "format", "precision", "size_bytes", "sha256", "params", "note", "status", "problem")),
        "input": contract,
        "outputs": [],
        "parity": _parity(old.get("parity") or {}, ""),
        "analysis": None if not analysis else _pick(analysis, ("ops", "gpu_compatible", "gpu_incompatible", "note")),
        "task": _task(old.get("task")),
        "gate": _gate(old.get("gate")),
    }


def _rewrites(old: Json) -> Json:
    out: Json = {
        "depth_to_space": old.get("depth_to_space") or [],
        "input_fold": old.get("input_fold") or [],
        "saturating_clamps": {},
        "float_resize": {},
        "note": old.get("note", ""),
    }
    for key, names in old.items():
        for prefix, block in (("saturating_clamps_", "saturating_clamps"), ("float_resize_", "float_resize")):
            if key.startswith(prefix):
                out[block][key.removeprefix(prefix)] = names
    return out


def convert_v3(item: Json) -> Json:
    source, old_input = item.get("source") or {}, item.get("input") or {}
    size = (int(old_input.get("height", 256)), int(old_input.get("width", 256)))
    task = item.get("task") or {}
    diagnosis = item.get("int8_diagnosis") or None
    return {
        "record": "convert",
        "schema": 3,
        "tool": _tool(item),
        "created": item.get("created", ""),
        "source": {
            "path": source.get("path"),
            "name": source.get("name", ""),
            "kind": source.get("kind", "checkpoint"),
            **_pick(source, ("sha256", "params", "variant", "trained")),
        },
        "input": {
            "height": size[0],
            "width": size[1],
            "layout": "NCHW",
            "preprocess": old_input.get("preprocess") or dict(IDENTITY_PREPROCESS),
        },
        "files": [_file(f, size) for f in item.get("files") or []],
        "task": None
        if not task
        else {
            "task": "depth",
            "metric": "whdr",
            "limit": task.get("max_int8_whdr_drop", 0.005),
            "data": "",
            "images": task.get("images", 0),
            "pairs": task.get("pairs", 0),
            "source_value": task.get("source_whdr"),
        },
        "calibration": item.get("calibration") or None,
        "int8_diagnosis": diagnosis,
        "rewrites": _rewrites(item.get("graph_rewrites") or {}),
        "tools": item.get("tools") if set(item.get("tools") or {}) == {"mobiledepth", "torch", "onnx2tf"} else None,
    }
