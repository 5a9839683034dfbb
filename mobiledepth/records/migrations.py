"""Files written by earlier versions, brought to the current schema before they are decoded.

Schema history: 0 (convert reports without ``schema``: ``tools``/``source`` only), 1 (header on every
record), 2 (convert ``source.kind`` and ``input.preprocess``: any model, declared preprocessing), 3 (typed
records: host and phone details in their own blocks, parity per output, the input contract, task scores
for any task). Each step is a function of one plain JSON object; :func:`migrate` runs them in order.
"""

from __future__ import annotations

from typing import Callable

from .migration_parts import IDENTITY_PREPROCESS, Json
from .migration_parts import pick as _pick
from .migration_parts import tool as _tool


def _v0_to_v1(item: Json) -> Json:
    """Convert reports of schema 0 had no header beyond 'record': the tool is named in 'tools'."""
    tools = item.get("tools") or {}
    item.setdefault("tool", {"name": "mobiledepth", "version": tools.get("mobiledepth", "unknown")})
    return item


def _v1_to_v2(item: Json) -> Json:
    """Schema 1 converted mobiledepth checkpoints only, with inputs in [0, 1] and no preprocessing."""
    if item["record"] == "convert":
        item.setdefault("source", {}).setdefault("kind", "checkpoint")
        item.setdefault("input", {}).setdefault("preprocess", dict(IDENTITY_PREPROCESS))
    return item


LATENCY_KEYS = ("count", "median", "mean", "p90", "std", "min", "max", "p5", "p95", "samples", "central", "source")
MODEL_KEYS = ("path", "name", "format", "precision", "sha256", "size_bytes", "params", "trained")
DEVICE_KEYS = ("name", "model", "soc", "os", "abi", "cores", "serial", "manufacturer")
PHONE_OPTION_KEYS = (
    "gpu_precision_loss",
    "nnapi_accelerator",
    "require_full_delegation",
    "affinity",
    "max_seconds",
    "repeats",
    "cooldown_s",
    "max_temp_c",
    "thermal_timeout_s",
    "run_timeout_s",
    "op_profiling",
    "peak_memory",
    "use_xnnpack",
)
REPEAT_KEYS = (
    "median_ms",
    "avg_ms",
    "std_ms",
    "min_ms",
    "max_ms",
    "p5_ms",
    "p95_ms",
    "count",
    "temperature_before",
    "temperature_after",
    "waited_to_cool_s",
    "thermal_timeout",
    "wall_s",
)


def _latency(block: Json) -> Json:
    out = _pick(block, LATENCY_KEYS)
    samples = out.get("samples") or []
    out.setdefault("count", len(samples))
    mean = out.get("mean", out.get("median"))
    out["mean"] = mean
    for key in ("min", "max"):
        out.setdefault(key, out.get("median", mean))
    for key in ("median", "p90", "std"):
        out.setdefault(key, None)
    return out


def _phone_block(item: Json) -> Json | None:
    if not ((item.get("tool") or {}).get("harness") or "repeats" in item or "delegation" in item):
        return None
    settings = {**_pick(item.get("settings") or {}, PHONE_OPTION_KEYS), "affinity": item.get("affinity")}
    binary = item.get("binary")
    return {
        "options": settings,
        "delegation": item.get("delegation") or {"requested": item.get("delegate", "cpu")},
        "repeats": [_pick(r, REPEAT_KEYS) for r in item.get("repeats") or []],
        "binary": None
        if not binary
        else {
            "remote": binary["remote"],
            "md5": binary["md5"],
            "pushed": binary.get("pushed_this_session", False),
            "sha256": binary.get("sha256"),
        },
        "op_profile": item.get("op_profile") or [],
        "op_nodes": item.get("op_nodes") or [],
        "warmup_avg_ms": item.get("warmup_avg_ms"),
        "log": (item.get("source") or {}).get("log") if isinstance(item.get("source"), dict) else None,
    }


def _bench_v3(item: Json) -> Json:
    settings = item.get("settings") or {}
    memory = item.get("memory_mb") or {}
    timing = {k: settings.get(k) for k in ("warmup_runs", "warmup_seconds", "runs", "min_seconds", "rounds")}
    out = {
        "record": "bench",
        "schema": 3,
        "tool": _tool(item),
        "created": item.get("created", ""),
        "model": _pick(item.get("model"), MODEL_KEYS),
        "device": _pick(item.get("device"), DEVICE_KEYS),
        "delegate": item.get("delegate"),
        "latency_ms": _latency(item["latency_ms"]) if isinstance(item.get("latency_ms"), dict) else None,
        "timing": {"threads": item.get("threads"), **timing},
        "status": item.get("status", "ok"),
        "paired": item.get("paired"),
        "init_ms": item.get("init_ms"),
        "first_inference_ms": item.get("first_inference_ms"),
        "memory": {
            "peak_mb": item.get("peak_memory_mb"),
            "model_mb": item.get("model_memory_mb"),
            "init_mb": memory.get("init"),
            "overall_mb": memory.get("overall"),
        },
        "phone": _phone_block(item),
    }
    if "runtime" in item and "input_hw" in item:
        out["host"] = {
            "runtime": item["runtime"],
            "input_hw": item["input_hw"],
            "warmup_runs_done": item.get("warmup_runs"),
        }
    details = item.get("details") or {}
    if isinstance(details, dict) and isinstance(details.get("source"), str):
        out["source"] = details["source"]
    return {k: v for k, v in out.items() if v is not None}


def _eval_v3(item: Json) -> Json:
    keys = ("whdr", "wrong_pairs", "input_hw", "disparity", "resize", "preprocess", "dense")
    return {
        "record": "eval",
        "schema": 3,
        "tool": _tool(item),
        "created": item.get("created", ""),
        "model": _pick(item.get("model"), MODEL_KEYS),
        "dataset": _pick(item.get("dataset"), ("csv", "images", "pairs")),
        **_pick(item, keys),
    }


def _profile_v3(item: Json) -> Json:
    keys = ("model", "device", "runtime", "runs", "end_to_end_ms", "layers", "unprofiled_ms", "note")
    return {
        "record": "profile",
        "schema": 3,
        "tool": _tool(item),
        "created": item.get("created", ""),
        **_pick(item, keys),
    }


def _predict_v3(item: Json) -> Json:
    keys = ("pictures", "videos", "differences", "summary")
    return {
        "record": "predict",
        "schema": 3,
        "tool": _tool(item),
        "created": item.get("created", ""),
        **_pick(item, keys),
    }


def _v2_to_v3(item: Json) -> Json:
    from .migrations_convert import convert_v3

    steps: dict[str, Callable[[Json], Json]] = {
        "bench": _bench_v3,
        "eval": _eval_v3,
        "convert": convert_v3,
        "profile": _profile_v3,
        "predict": _predict_v3,
    }
    return steps[item["record"]](item)


MIGRATIONS: dict[int, Callable[[Json], Json]] = {0: _v0_to_v1, 1: _v1_to_v2, 2: _v2_to_v3}  # schema N -> N + 1
