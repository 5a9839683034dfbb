"""Per-layer latency on this computer through ONNX Runtime's profiler.

LiteRT's Python interpreter exposes no op profiler (benchmark_model's ``--enable_op_profiling`` is
the phone path), so the host profiles the ONNX graph: the converted ``.onnx`` as given, or a
checkpoint exported to a temporary ONNX file first. Node times are the profiler's own per-kernel
durations, grouped by run; each node's median over the runs is its time, and the end-to-end median of
the same profiled runs is what the layers are checked against (``coverage``).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MobileDepthError
from .layers import LayerProfile, LayerTime, module_of


@dataclass(frozen=True)
class ProfileOptions:
    runs: int = 30
    warmup_runs: int = 5
    threads: int = 2
    size: tuple[int, int] = (256, 256)  # checkpoints only: files have a fixed size


def _session(path: Path, threads: int, profile_dir: str | None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    if profile_dir is not None:
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(profile_dir) / "ort")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise MobileDepthError(f"{path}: not a valid ONNX model ({str(exc).splitlines()[0][:160]})") from None


def _feed(session) -> dict[str, np.ndarray]:
    inp = session.get_inputs()[0]
    if any(not isinstance(d, int) for d in inp.shape):
        raise MobileDepthError(f"input shape {inp.shape} is dynamic; profile a fixed-size export")
    return {inp.name: np.random.default_rng(0).random(inp.shape, dtype=np.float32)}


def _node_medians(events: list[dict], skip_runs: int) -> tuple[list[LayerTime], list[float]]:
    """Per-node median duration over the runs after ``skip_runs``, and each run's end-to-end ms."""
    runs = sorted((e for e in events if e.get("name") == "model_run"), key=lambda e: e["ts"])[skip_runs:]
    spans = [(r["ts"], r["ts"] + r["dur"]) for r in runs]
    per_node: dict[str, list[float]] = {}
    ops: dict[str, str] = {}
    for e in events:
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time"):
            continue
        if not any(lo <= e["ts"] <= hi for lo, hi in spans):
            continue
        name = e["name"][: -len("_kernel_time")]
        per_node.setdefault(name, []).append(e["dur"] / 1000.0)
        ops[name] = e.get("args", {}).get("op_name", "?")
    layers = [
        LayerTime(name, module_of(name), ops[name], statistics.median(times) * len(times) / len(runs))
        for name, times in per_node.items()
    ]
    return layers, [r["dur"] / 1000.0 for r in runs]


def profile_onnx(path: Path, options: ProfileOptions = ProfileOptions(), label: str | None = None) -> LayerProfile:
    """Profile ``path`` with ONNX Runtime; also time it unprofiled, so the profiler's cost is visible."""
    plain = _session(path, options.threads, None)
    feed = _feed(plain)
    for _ in range(options.warmup_runs):
        plain.run(None, feed)
    unprofiled = []
    for _ in range(options.runs):
        start = time.perf_counter()
        plain.run(None, feed)
        unprofiled.append((time.perf_counter() - start) * 1000.0)
    with tempfile.TemporaryDirectory(prefix="mobiledepth-profile-") as scratch:
        session = _session(path, options.threads, scratch)
        for _ in range(options.warmup_runs + options.runs):
            session.run(None, feed)
        events = json.loads(Path(session.end_profiling()).read_text())
    layers, run_ms = _node_medians(events, options.warmup_runs)
    return LayerProfile(
        label or path.name,
        "host",
        "onnxruntime (CPU, profiler)",
        len(run_ms),
        statistics.median(run_ms),
        layers,
        statistics.median(unprofiled),
    )


def profile_checkpoint(path: Path, options: ProfileOptions = ProfileOptions()) -> LayerProfile:
    """A checkpoint, exported head-less to a temporary ONNX file at ``options.size``, then profiled."""
    from ..convert.export_onnx import export_onnx
    from ..model.checkpoint import load_model

    model = load_model(path)
    with tempfile.TemporaryDirectory(prefix="mobiledepth-profile-") as scratch:
        onnx_path = export_onnx(model, Path(scratch) / "model.onnx", *options.size)
        result = profile_onnx(onnx_path, options, label=path.name)
    result.note = f"exported to ONNX at {options.size[0]}x{options.size[1]} for the profiler"
    return result


def profile_host(path: Path, options: ProfileOptions = ProfileOptions()) -> LayerProfile:
    from ..runtime.predictors import model_format

    if not path.is_file():
        raise MobileDepthError(f"{path}: no such model file")
    fmt = model_format(path)
    if fmt == "tflite":
        raise MobileDepthError(
            f"{path}: LiteRT's Python interpreter has no op profiler; profile the .onnx it was converted "
            "from on the host, or this file on a phone (--device)"
        )
    return profile_checkpoint(path, options) if fmt == "pytorch" else profile_onnx(path, options)
