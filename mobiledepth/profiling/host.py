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
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from android_bench.timing import HOST_TIMING, MAX_RUNS

from ..errors import MobileDepthError
from ..records.profiling import LayerProfile, LayerTime
from .layers import module_of


@dataclass(frozen=True)
class ProfileOptions:
    runs: int = 30
    warmup_runs: int = 5
    threads: int | None = None  # None: the host's default (HOST_TIMING)
    size: tuple[int, int] | None = None  # checkpoints only (None: the model's); files have a fixed size

    def __post_init__(self) -> None:
        for flag, value in (("--runs", self.runs), ("--threads", self.threads), ("warmup_runs", self.warmup_runs + 1)):
            if value is not None and not 1 <= value <= MAX_RUNS:
                raise MobileDepthError(f"{flag} {value}: must be between 1 and {MAX_RUNS}")


# ONNX Runtime fuses an activation (and a residual add) into the conv before it and names the fused node
# after its LAST op's output ("/decoder/clamp_4/Clip_output_0_nchwc"): the time is the conv's.
FUSED_INTO_CONV = ("Clip", "Relu", "Sigmoid", "HardSigmoid", "LeakyRelu", "Add", "Sum", "Mul")


def owning_convs(onnx_path: Path) -> dict[str, tuple[str, str]]:
    """Tensor name -> (the conv node it comes from, the ops fused after it), for tensors an activation or add
    produces from a conv's output: so a fused node's time is named after the module that owns the conv."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    producer = {out: node for node in graph.node for out in node.output}
    owners: dict[str, tuple[str, str]] = {}
    for node in graph.node:
        if node.op_type not in FUSED_INTO_CONV:
            continue
        chain, current = [node.op_type], node
        for _ in range(3):
            sources = [producer.get(i) for i in current.input if producer.get(i) is not None]
            conv = next((s for s in sources if s.op_type == "Conv"), None)
            if conv is not None:
                owners[node.output[0]] = (conv.name, "+".join(reversed(chain)))
                break
            current = next((s for s in sources if s.op_type in FUSED_INTO_CONV), None)
            if current is None:
                break
            chain.append(current.op_type)
    return owners


def _owner(name: str, owners: dict[str, tuple[str, str]], op: str) -> tuple[str, str]:
    """(module, op label) of a profiled node: a fused conv is its conv's module, 'Conv+Clip'."""
    tensor = name[: -len("_nchwc")] if name.endswith("_nchwc") else name
    if tensor in owners:
        conv, fused = owners[tensor]
        return module_of(conv), f"{op}+{fused}"
    return module_of(name), op


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


def _node_medians(
    events: list[dict], skip_runs: int, owners: dict[str, tuple[str, str]]
) -> tuple[list[LayerTime], list[float]]:
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
        LayerTime(name, *_owner(name, owners, ops[name]), statistics.median(times) * len(times) / len(runs))
        for name, times in per_node.items()
    ]
    return layers, [r["dur"] / 1000.0 for r in runs]


def profile_onnx(path: Path, options: ProfileOptions = ProfileOptions(), label: str | None = None) -> LayerProfile:
    """Profile ``path`` with ONNX Runtime; also time it unprofiled, so the profiler's cost is visible."""
    threads = options.threads or HOST_TIMING.threads
    plain = _session(path, threads, None)
    feed = _feed(plain)
    for _ in range(options.warmup_runs):
        plain.run(None, feed)
    unprofiled = []
    for _ in range(options.runs):
        start = time.perf_counter()
        plain.run(None, feed)
        unprofiled.append((time.perf_counter() - start) * 1000.0)
    with tempfile.TemporaryDirectory(prefix="mobiledepth-profile-") as scratch:
        session = _session(path, threads, scratch)
        for _ in range(options.warmup_runs + options.runs):
            session.run(None, feed)
        events = json.loads(Path(session.end_profiling()).read_text())
    layers, run_ms = _node_medians(events, options.warmup_runs, owning_convs(path))
    profile = LayerProfile(
        model=label or path.name,
        device="host",
        runtime="onnxruntime (CPU, profiler)",
        runs=len(run_ms),
        end_to_end_ms=statistics.median(run_ms),
        layers=tuple(layers),
        unprofiled_ms=statistics.median(unprofiled),
    )
    return replace(profile, layers=tuple(profile.ranked()))


def profile_checkpoint(path: Path, options: ProfileOptions = ProfileOptions()) -> LayerProfile:
    """A checkpoint, exported head-less to a temporary ONNX file at ``options.size``, then profiled."""
    from ..conversion.export_onnx import export_onnx
    from ..model.checkpoint import load_model

    model = load_model(path)
    size = options.size or model.config.input.size
    with tempfile.TemporaryDirectory(prefix="mobiledepth-profile-") as scratch:
        onnx_path = export_onnx(model, Path(scratch) / "model.onnx", *size)
        result = profile_onnx(onnx_path, options, label=path.name)
    return replace(result, note=f"exported to ONNX at {size[0]}x{size[1]} for the profiler")


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
