"""Host benchmark: LiteRT (XNNPACK) for .tflite, ONNX Runtime for .onnx, PyTorch for checkpoints.

The timed loop runs in a fresh worker process (``python -m mobiledepth.bench.host_worker``) so that
the peak-memory figure is that model's alone and one model's warm caches don't flatter the next.
The worker streams progress lines and a final JSON result on stdout.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from ..errors import MobileDepthError
from ..modelinfo import describe_model
from ..records import BenchRecord, host_device
from ..runtime.predictors import load_predictor, model_format
from .options import HostBenchOptions, PairedOptions  # noqa: F401  (re-exported)
from .stats import latency_stats

PROGRESS = "@@progress"
RESULT = "@@result"
ERROR = "@@error"
HOST_DELEGATES = {"tflite": "xnnpack", "onnx": "onnxruntime-cpu", "pytorch": "pytorch-cpu"}  # format -> runtime path


def _status_mb(field: str) -> float | None:
    """A VmRSS / VmHWM figure of this process in MiB (Linux). ``VmHWM`` is the resident high-water
    mark of this process image; unlike ``ru_maxrss`` it is not inherited from the parent across exec."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def _peak_mb() -> float:
    hwm = _status_mb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_timed(
    path: str, options: HostBenchOptions, report: Callable[[int, int], None] = lambda done, total: None
) -> dict[str, Any]:
    """The in-process measurement (called inside the worker)."""
    base_rss = _status_mb("VmRSS") or 0.0
    t0 = time.perf_counter()
    size = (options.height, options.width)
    predictor = load_predictor(
        path, size if model_format(path) == "pytorch" else None, threads=options.threads, dynamic_hw=size
    )
    feed = predictor.feed()
    init_ms = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    predictor.run(feed)
    first_ms = (time.perf_counter() - t0) * 1e3
    warm_start = time.perf_counter()
    warm = 0
    while warm < options.warmup_runs or time.perf_counter() - warm_start < options.warmup_seconds:
        predictor.run(feed)
        warm += 1
    samples: list[float] = []
    timed_start = time.perf_counter()
    while len(samples) < options.runs or time.perf_counter() - timed_start < options.min_seconds:
        t0 = time.perf_counter_ns()
        predictor.run(feed)
        samples.append((time.perf_counter_ns() - t0) / 1e6)
        report(len(samples), options.runs)
    peak_mb = _peak_mb()
    runtime = getattr(predictor, "runtime", None)
    delegate = HOST_DELEGATES[predictor.format]
    return {
        "runtime": runtime or predictor.format,
        "delegate": delegate,
        "input_hw": [int(v) for v in predictor.input_hw],
        "warmup_runs": warm,
        "init_ms": init_ms,
        "first_inference_ms": first_ms,
        "latency_ms": asdict(latency_stats(samples)),
        "peak_memory_mb": peak_mb,
        "model_memory_mb": peak_mb - base_rss,
    }


def _run_worker(request: dict[str, Any], label: Path, progress: Callable[[int, int], None]) -> dict[str, Any]:
    """Start a worker process for ``request`` and collect its result (progress lines are forwarded)."""
    cmd = [sys.executable, "-m", "mobiledepth.bench.host_worker", json.dumps(request)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    result: dict[str, Any] | None = None
    error = ""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(PROGRESS):
            done, total = (int(v) for v in line.split()[1:3])
            progress(done, total)
        elif line.startswith(RESULT):
            result = json.loads(line[len(RESULT) :])
        elif line.startswith(ERROR):
            error = line[len(ERROR) :].strip()
    stderr = proc.stderr.read() if proc.stderr else ""
    proc.wait()
    if error:
        raise MobileDepthError(error)
    if proc.returncode != 0 or result is None:
        tail = " | ".join(stderr.strip().splitlines()[-2:])
        raise MobileDepthError(f"{label}: benchmark worker failed (exit {proc.returncode}): {tail[:300]}")
    return result


def bench_host(
    path: str | Path,
    options: HostBenchOptions = HostBenchOptions(),
    progress: Callable[[int, int], None] = lambda d, t: None,
) -> BenchRecord:
    """Benchmark one model file on this computer."""
    path = Path(path)
    info = describe_model(path)  # validates the file before a worker is started
    result = _run_worker({"path": str(path), "options": asdict(options)}, path, progress)
    settings = {k: getattr(options, k) for k in ("warmup_runs", "warmup_seconds", "runs", "min_seconds")}
    return BenchRecord(
        model=info.to_dict(),
        device=host_device(),
        delegate=result.pop("delegate"),
        latency_ms=result.pop("latency_ms"),
        threads=options.threads,
        settings=settings,
        details={"affinity": None, **result},
    )


def bench_host_paired(
    paths: list[str | Path], options: "PairedOptions", input_hw: tuple[int, int] | None = None
) -> list[BenchRecord]:
    """Time several files interleaved in ONE worker process (see bench/paired.py); one bench record per
    file, each carrying the paired block: rounds, and its ratio to the first file with a 95% interval."""
    paths = [Path(p) for p in paths]
    infos = [describe_model(p) for p in paths]
    request = {
        "paired": [str(p) for p in paths],
        "options": asdict(options),
        "input_hw": list(input_hw) if input_hw else None,
    }
    result = _run_worker(request, paths[0], lambda d, t: None)
    ratios = {r["file"]: r for r in result["ratios"]}
    settings = {"warmup_runs": options.warmup_runs, "rounds": options.rounds, "runs_per_round": options.runs_per_round}
    records = []
    for label, info in zip(result["files"], infos):
        rounds = result["round_medians_ms"][label]
        ratio = ratios.get(label)
        ratio_block = None if ratio is None else {k: ratio[k] for k in ("median", "low", "high", "confidence")}
        paired = {
            "files": result["files"], "label": label, "baseline": result["files"][0], "rounds": options.rounds,
            "round_medians_ms": rounds, "runs_per_round": options.runs_per_round,
            "latency_is": "median of per-round medians",
            "ratio_to_baseline": ratio_block,
        }  # fmt: skip
        records.append(
            BenchRecord(
                model=info.to_dict(),
                device=host_device(),
                delegate=HOST_DELEGATES.get(info.format, "pytorch-cpu"),
                latency_ms=asdict(latency_stats(rounds)),
                threads=options.threads,
                settings=settings,
                paired=paired,
                details={"affinity": None},
            )  # fmt: skip
        )
    return records
