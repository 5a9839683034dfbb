"""Host benchmark: LiteRT (XNNPACK) for .tflite, ONNX Runtime for .onnx, PyTorch for checkpoints.

The timed loop runs in a fresh worker process (``python -m mobiledepth.benchmark.host_worker``) so that
the peak-memory figure is that model's alone and one model's warm caches don't flatter the next; paired
files share one worker (that is the point of pairing). Parent and worker speak typed messages through
the record codec: a :class:`HostJob` in, progress lines and a :class:`HostRun` or
:class:`~.paired.PairedRun` out.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from android_bench.stats import LatencyStats, latency_stats
from android_bench.timing import PAIRED_RUNS_PER_ROUND, Timing

from ..codec import decode, dumps
from ..errors import MobileDepthError
from ..modelinfo import describe_model
from ..records import BenchRecord, HostDetails, Memory, Paired, host_device
from ..runtime.predictors import load_predictor
from .paired import PairedRun, labels, run_paired

PROGRESS = "@@progress"
RESULT = "@@result"
ERROR = "@@error"
HOST_DELEGATES = {"tflite": "xnnpack", "onnx": "onnxruntime-cpu", "pytorch": "pytorch-cpu"}  # format -> runtime path


@dataclass(frozen=True)
class HostJob:
    """What a worker is asked to time: one file alone, or several paired (``timing`` fully resolved)."""

    paths: tuple[str, ...]
    timing: Timing
    paired: bool = False
    size: tuple[int, int] | None = None  # checkpoints and dynamic files: None = the model's own
    runs_per_round: int = PAIRED_RUNS_PER_ROUND


@dataclass(frozen=True)
class HostRun:
    runtime: str
    delegate: str
    input_hw: tuple[int, int]
    warmup_runs_done: int
    init_ms: float
    first_inference_ms: float
    latency: LatencyStats
    peak_mb: float | None
    model_mb: float | None


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


def run_timed(job: HostJob, report: Callable[[int, int], None] = lambda done, total: None) -> HostRun:
    """The in-process measurement of ``job.paths[0]`` (called inside the worker)."""
    t = job.timing
    base_rss = _status_mb("VmRSS") or 0.0
    t0 = time.perf_counter()
    predictor = load_predictor(job.paths[0], job.size, threads=t.threads)
    feed = predictor.feed()
    init_ms = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    predictor.run(feed)
    first_ms = (time.perf_counter() - t0) * 1e3
    warm_start, warm = time.perf_counter(), 0
    while warm < t.warmup_runs or time.perf_counter() - warm_start < t.warmup_seconds:
        predictor.run(feed)
        warm += 1
    samples: list[float] = []
    timed_start = time.perf_counter()
    while len(samples) < t.runs or time.perf_counter() - timed_start < t.min_seconds:
        t0 = time.perf_counter_ns()
        predictor.run(feed)
        samples.append((time.perf_counter_ns() - t0) / 1e6)
        report(len(samples), t.runs)
    peak = _peak_mb()
    return HostRun(
        runtime=getattr(predictor, "runtime", None) or predictor.format,
        delegate=HOST_DELEGATES[predictor.format],
        input_hw=tuple(int(v) for v in predictor.input_hw),
        warmup_runs_done=warm,
        init_ms=init_ms,
        first_inference_ms=first_ms,
        latency=latency_stats(samples),
        peak_mb=peak,
        model_mb=peak - base_rss,
    )


def run_paired_job(job: HostJob) -> PairedRun:
    """Paired timing of model files on this host, all loaded in this process (LiteRT, ONNX Runtime, PyTorch).
    Idle threads of one session must not spin on the cores the other runs on (``spinning=False``)."""
    t = job.timing
    predictors = [load_predictor(p, job.size, threads=t.threads, spinning=False) for p in job.paths]
    feeds = [p.feed() for p in predictors]
    runners = [(lambda p=p, f=f: p.run(f)) for p, f in zip(predictors, feeds)]
    return run_paired(labels(job.paths), runners, t.rounds, job.runs_per_round, t.warmup_runs)


def _run_worker(job: HostJob, label: Path, progress: Callable[[int, int], None]) -> str:
    """Start a worker process for ``job``; returns its result line (progress lines are forwarded)."""
    cmd = [sys.executable, "-m", "mobiledepth.benchmark.host_worker", dumps(job)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    result, error = None, ""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(PROGRESS):
            done, total = (int(v) for v in line.split()[1:3])
            progress(done, total)
        elif line.startswith(RESULT):
            result = line[len(RESULT) :]
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
    path: Path,
    timing: Timing,
    size: tuple[int, int] | None = None,
    progress: Callable[[int, int], None] = lambda d, t: None,
) -> BenchRecord:
    """One model file timed alone on this computer (``timing`` fully resolved)."""
    info = describe_model(path)  # validates the file before a worker is started
    run = decode(HostRun, json.loads(_run_worker(HostJob((str(path),), timing, size=size), path, progress)))
    return BenchRecord(
        model=info,
        device=host_device(),
        delegate=run.delegate,
        latency_ms=run.latency,
        timing=Timing(
            threads=timing.threads,
            warmup_runs=timing.warmup_runs,
            warmup_seconds=timing.warmup_seconds,
            runs=timing.runs,
            min_seconds=timing.min_seconds,
        ),
        memory=Memory(peak_mb=run.peak_mb, model_mb=run.model_mb),
        init_ms=run.init_ms,
        first_inference_ms=run.first_inference_ms,
        host=HostDetails(run.runtime, run.input_hw, run.warmup_runs_done),
    )


def bench_host_paired(
    paths: list[Path], timing: Timing, runs_per_round: int, size: tuple[int, int] | None = None
) -> list[BenchRecord]:
    """Several files interleaved in ONE worker process (see paired.py); one record per file, each carrying
    the paired block: its round medians, and its ratio to the first file with a 95% interval."""
    infos = [describe_model(p) for p in paths]
    job = HostJob(tuple(str(p) for p in paths), timing, paired=True, size=size, runs_per_round=runs_per_round)
    run = decode(PairedRun, json.loads(_run_worker(job, paths[0], lambda d, t: None)))
    used = Timing(threads=timing.threads, warmup_runs=timing.warmup_runs, rounds=timing.rounds, runs=runs_per_round)
    records = []
    for i, info in enumerate(infos):
        rounds = run.round_medians_ms[i]
        paired = Paired(
            files=run.labels,
            label=run.labels[i],
            baseline=run.labels[0],
            rounds=run.rounds,
            runs_per_round=run.runs_per_round,
            round_medians_ms=rounds,
            ratio_to_baseline=run.ratios[i],
        )
        records.append(
            BenchRecord(
                model=info,
                device=host_device(),
                delegate=HOST_DELEGATES.get(info.format, "pytorch-cpu"),
                latency_ms=latency_stats(rounds, source="round medians"),
                timing=used,
                paired=paired,
            )
        )
    return records
