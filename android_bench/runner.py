"""On-device benchmark runs: push, cool down, run ``benchmark_model``, parse, a typed result.

One :class:`PhoneResult` per (device, model); mobiledepth turns it into the same bench record as host
benchmarks, so ``mobiledepth report`` shows phones and host side by side. Several phones run in
parallel, one worker per phone; a failure on one phone, or on one model, never loses results already
measured: every finished result is handed to ``on_result`` at once.
"""

from __future__ import annotations

import posixpath
import re
import shlex
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from .binary import REMOTE_BINARY, WORKDIR, Pushed, ensure_binary, push_if_changed
from .devices import DeviceInfo
from .errors import BenchError
from .hashing import sha256_file
from .parse import BenchmarkOutput, Delegation, OpNodeRow, OpTypeRow, Stat, parse_benchmark_output
from .remote import run_with_deadline
from .stats import LatencyStats, TimingError, check_timings
from .thermal import Temperatures, read_temperatures, wait_until_cool
from .timing import Timing

DELEGATES = ("cpu", "gpu", "nnapi")
TOOL_VERSION = "android_bench 0.1.0"
MAX_TEMP_C = 120.0  # a threshold above any phone's shutdown temperature waits for nothing


@dataclass(frozen=True)
class PhoneOptions:
    """What only phones have: delegate settings, CPU affinity, repeats and the thermal guard. The timing
    (threads, warm-up, runs) is a :class:`~android_bench.timing.Timing`, shared with the host."""

    gpu_precision_loss: bool = True  # fp16 on the GPU (the tool's gpu_precision_loss_allowed)
    nnapi_accelerator: str | None = None
    require_full_delegation: bool = False
    affinity: str | None = None  # taskset hex mask, e.g. 'f0' for the big cores of many SoCs
    max_seconds: float = 150.0
    repeats: int = 1
    cooldown_s: float = 0.0
    max_temp_c: float = 40.0
    thermal_timeout_s: float = 300.0
    run_timeout_s: float = 600.0
    op_profiling: bool = False
    peak_memory: bool = True
    use_xnnpack: bool = True  # CPU runs; off = reference kernels, which the op profiler breaks down per node

    def check(self) -> "PhoneOptions":
        """One line naming the first option out of range."""
        if self.affinity is not None and not re.fullmatch(r"(0x)?[0-9a-fA-F]{1,16}", self.affinity):
            raise BenchError(f"--affinity {self.affinity!r}: expected a hex CPU mask such as f0")
        ranges = (
            ("--repeats", self.repeats, 1, 1000),
            ("--cooldown", self.cooldown_s, 0, 3600),
            ("--max-temp", self.max_temp_c, 0, MAX_TEMP_C),
            ("--thermal-timeout", self.thermal_timeout_s, 0, 86400),
            ("--run-timeout", self.run_timeout_s, 1, 86400),
            ("max_seconds", self.max_seconds, 0.1, 86400),
        )
        for flag, value, least, most in ranges:
            if not least <= value <= most:  # NaN fails this too
                raise BenchError(f"{flag} {value}: must be between {least} and {most}")
        return self


@dataclass(frozen=True)
class RunPlan:
    """One benchmark_model invocation's settings: the delegate, the resolved timing, the phone options."""

    delegate: str
    timing: Timing
    options: PhoneOptions = PhoneOptions()

    def __post_init__(self) -> None:
        if self.delegate not in DELEGATES:
            raise BenchError(f"--delegate {self.delegate}: choose one of {', '.join(DELEGATES)}")
        self.options.check()


@dataclass(frozen=True)
class RunFailure:
    serial: str
    model: str
    message: str


@dataclass(frozen=True)
class Repeat:
    """One benchmark_model process: its statistics and the thermal state around it."""

    median_ms: float | None  # None when the tool printed no median: never the mean in disguise
    avg_ms: float
    std_ms: float | None
    min_ms: float
    max_ms: float
    p5_ms: float | None
    p95_ms: float | None
    count: int
    temperature_before: Temperatures | None = None
    temperature_after: Temperatures | None = None
    waited_to_cool_s: float = 0.0
    thermal_timeout: bool = False
    wall_s: float | None = None


@dataclass(frozen=True)
class PhoneDetails:
    """What a phone run adds to a bench record: how it ran, how the delegate took the graph, the repeats."""

    options: PhoneOptions
    delegation: Delegation
    repeats: tuple[Repeat, ...] = ()
    binary: Pushed | None = None
    op_profile: tuple[OpTypeRow, ...] = ()
    op_nodes: tuple[OpNodeRow, ...] = ()
    warmup_avg_ms: float | None = None
    log: str | None = None  # a saved output this was parsed from (bench --from-log)
    log_format: str | None = None  # benchmark_model | logcat


@dataclass(frozen=True)
class PhoneModel:
    path: str
    name: str
    sha256: str
    size_bytes: int | None = None


@dataclass(frozen=True)
class PhoneResult:
    """One model on one phone, typed: android_bench's answer, which mobiledepth turns into a bench record."""

    model: PhoneModel
    device: DeviceInfo
    label: str  # what the user called the phone (alias or serial)
    delegate: str
    status: str  # ok | delegate-partial | delegate-not-applied
    timing: Timing
    latency: LatencyStats
    details: PhoneDetails
    init_ms: float | None = None
    first_inference_ms: float | None = None
    memory_init_mb: float | None = None
    memory_overall_mb: float | None = None
    peak_memory_mb: float | None = None


def build_command(remote_model: str, plan: RunPlan, run_id: str | None = None) -> str:
    """The benchmark_model command line; every path is shell-quoted. ``run_id`` goes into the real
    ``--benchmark_name`` flag, so a timed-out run can be killed by ITS command line (``pkill -f RUN_ID``)
    without touching anyone else's benchmark_model on a shared lab phone."""
    timing, options = plan.timing, plan.options
    flags = [
        f"--graph={remote_model}",
        f"--num_threads={timing.threads}",
        f"--warmup_runs={timing.warmup_runs}",
        f"--warmup_min_secs={timing.warmup_seconds:g}",
        f"--num_runs={timing.runs}",
        f"--min_secs={timing.min_seconds:g}",
        f"--max_secs={options.max_seconds:g}",
    ]
    if plan.delegate == "cpu":  # GPU/NNAPI runs keep XNNPACK for any ops that fall back to the CPU
        flags.append(f"--use_xnnpack={'true' if options.use_xnnpack else 'false'}")
    if plan.delegate == "gpu":
        flags += ["--use_gpu=true", f"--gpu_precision_loss_allowed={'true' if options.gpu_precision_loss else 'false'}"]
    if plan.delegate == "nnapi":
        flags.append("--use_nnapi=true")
        if options.nnapi_accelerator:
            flags.append(f"--nnapi_accelerator_name={options.nnapi_accelerator}")
    if options.require_full_delegation:
        flags.append("--require_full_delegation=true")
    if options.op_profiling:
        flags.append("--enable_op_profiling=true")
    if options.peak_memory:
        flags.append("--report_peak_memory_footprint=true")
    if run_id:
        flags.append(f"--benchmark_name={run_id}")
    argv = (
        (["taskset", options.affinity.lower().removeprefix("0x")] if options.affinity else []) + [REMOTE_BINARY] + flags
    )
    return " ".join(shlex.quote(a) for a in argv)


def remote_model_path(local: Path, sha: str) -> str:
    return posixpath.join(WORKDIR, "models", f"{sha[:12]}-{local.name}")


def _us_to_ms(value: float | None) -> float | None:
    return None if value is None else value / 1000.0


def _failure_message(serial: str, model: Path, code: int, parsed: BenchmarkOutput, text: str) -> str:
    if code in (139, 134, 135, 136):
        sig = {139: "SIGSEGV", 134: "SIGABRT", 135: "SIGBUS", 136: "SIGFPE"}[code]
        return f"{serial}: benchmark_model crashed ({sig}, exit {code}) running {model.name}"
    detail = (
        "; ".join(e for e in parsed.errors if "Benchmarking failed" not in e)
        or (text.strip().splitlines() or ["no output"])[-1]
    )
    return f"{serial}: benchmark_model failed on {model.name} (exit {code}): {detail[:300]}"


def repeat_of(stats: Stat) -> Repeat:
    """A stat line's figures in ms, checked: a phone printing negative or non-finite timings fails the run
    (its record would otherwise say median -4 ms, FPS -250, status ok)."""
    values = {k: _us_to_ms(getattr(stats, k)) for k in ("median", "avg", "std", "min", "max", "p5", "p95")}
    try:
        check_timings([v for k, v in values.items() if v is not None and k != "std"], "the timings it printed")
    except TimingError as exc:
        raise BenchError(str(exc)) from None
    if values["avg"] is None or values["min"] is None or values["max"] is None:
        raise BenchError("the timings it printed lack avg, min or max")
    return Repeat(**{f"{k}_ms": v for k, v in values.items()}, count=stats.count)  # type: ignore[arg-type]


def latency_of(repeats: list[Repeat], last: Repeat) -> LatencyStats:
    """The run's latency: median of the repeats' medians, or None (and says so) when the tool printed none."""
    import statistics

    medians = [r.median_ms for r in repeats]
    has_median = all(m is not None for m in medians)
    return LatencyStats(
        count=sum(r.count for r in repeats),
        median=statistics.median(medians) if has_median else None,  # type: ignore[type-var]
        mean=statistics.fmean(r.avg_ms for r in repeats),
        p90=None,  # benchmark_model reports p5/median/p95, not p90
        std=last.std_ms,
        min=min(r.min_ms for r in repeats),
        max=max(r.max_ms for r in repeats),
        p5=last.p5_ms,
        p95=last.p95_ms,
        samples=tuple(medians) if len(repeats) > 1 and has_median else (),  # type: ignore[arg-type]
        central="median" if has_median else "mean (the tool printed no median)",
        source="benchmark_model stats (per-run samples not printed by the tool)",
    )


def delegation_status(parsed: BenchmarkOutput, delegate: str) -> str:
    """ok | delegate-partial | delegate-not-applied: the phone-status policy, in one place."""
    d = parsed.delegation
    if delegate == "cpu" or (d.applied and d.mode == "full"):
        return "ok"
    return "delegate-partial" if d.applied else "delegate-not-applied"


def _one_run(
    device, info: DeviceInfo, model: Path, remote: str, plan: RunPlan, r: int, progress
) -> tuple[Repeat, BenchmarkOutput]:
    """One benchmark_model run after the thermal guard (and the cool-down between repeats)."""
    options = plan.options
    if r and options.cooldown_s:
        progress(f"{info.serial}: cool-down {options.cooldown_s:.0f} s")
        time.sleep(options.cooldown_s)
    limit = options.max_temp_c

    def waiting(temp: float, waited: float) -> None:
        progress(f"{info.serial}: waiting to cool, {temp:.1f} °C ≥ {limit:.1f} °C ({waited:.0f} s)")

    cool = wait_until_cool(device, limit, options.thermal_timeout_s, progress=waiting)
    progress(f"{info.serial}: {model.name} on {plan.delegate}, run {r + 1}/{options.repeats}")
    run_id = f"mobiledepth-{uuid.uuid4().hex[:12]}"
    result = run_with_deadline(device, build_command(remote, plan, run_id), options.run_timeout_s, kill_pattern=run_id)
    after = read_temperatures(device)
    text = result.stdout + result.stderr
    parsed = parse_benchmark_output(text, plan.delegate)
    if result.returncode != 0 or parsed.failed:
        raise BenchError(_failure_message(info.serial, model, result.returncode, parsed, text))
    try:
        stats = repeat_of(parsed.runs)
    except BenchError as exc:
        raise BenchError(f"{info.serial}: benchmark_model on {model.name}: {exc}") from None
    repeat = replace(
        stats,
        temperature_before=cool.before,
        temperature_after=after,
        waited_to_cool_s=cool.waited_s,
        thermal_timeout=cool.timed_out,
        wall_s=result.seconds,
    )
    return repeat, parsed


def result_of(
    model: PhoneModel,
    info: DeviceInfo,
    label: str,
    plan: RunPlan,
    repeats: list[Repeat],
    parsed: BenchmarkOutput,
    binary: Pushed | None = None,
) -> PhoneResult:
    """The typed result of one model's runs on one phone (live runs and saved logs alike)."""
    details = PhoneDetails(
        options=plan.options,
        delegation=parsed.delegation,
        repeats=tuple(repeats),
        binary=binary,
        op_profile=tuple(parsed.op_profile),
        op_nodes=tuple(parsed.op_nodes),
        warmup_avg_ms=_us_to_ms(parsed.warmup_avg_us),
    )
    return PhoneResult(
        model=model,
        device=info,
        label=label,
        delegate=plan.delegate,
        status=delegation_status(parsed, plan.delegate),
        timing=plan.timing,
        latency=latency_of(repeats, repeats[-1]),
        details=details,
        init_ms=_us_to_ms(parsed.init_us),
        first_inference_ms=_us_to_ms(parsed.first_inference_us),
        memory_init_mb=parsed.memory_init_mb,
        memory_overall_mb=parsed.memory_overall_mb,
        peak_memory_mb=parsed.peak_memory_mb,
    )


def bench_model(
    device,
    info: DeviceInfo,
    model: Path,
    plan: RunPlan,
    binary: Pushed,
    label: str,
    progress: Callable[[str], None] = lambda message: None,
) -> PhoneResult:
    """Benchmark one model on one phone; returns its typed result or raises :class:`BenchError`."""
    if not model.is_file():
        raise BenchError(f"{model}: no such model file")
    sha = sha256_file(model)
    progress(f"{info.serial}: pushing {model.name}")
    remote = push_if_changed(device, model, remote_model_path(model, sha)).remote
    runs = [_one_run(device, info, model, remote, plan, r, progress) for r in range(plan.options.repeats)]
    phone_model = PhoneModel(str(model), model.stem, sha, model.stat().st_size)
    return result_of(phone_model, info, label, plan, [rep for rep, _ in runs], runs[-1][1], binary)


def _lost(exc: Exception) -> bool:
    return "connection lost" in str(exc) or "cannot start a shell" in str(exc)


def _device_worker(
    client, info: DeviceInfo, models: list[Path], plan: RunPlan, binary_for, label: str, on_result, fail, progress
) -> None:
    """Every model on one phone, in order; a lost phone skips the rest (each named as skipped)."""
    device = client.device(serial=info.serial)
    try:
        binary = ensure_binary(device, binary_for(info))
    except Exception as exc:  # BenchError, or adb errors: the device went away before we started
        message = str(exc) if isinstance(exc, BenchError) else f"{info.serial}: {exc.__class__.__name__}: {exc}"
        for m in models:
            fail(RunFailure(info.serial, str(m), message))
        return
    for i, model in enumerate(models):
        try:
            result = bench_model(device, info, model, plan, binary, label, progress)
        except Exception as exc:
            fail(
                RunFailure(
                    info.serial,
                    str(model),
                    str(exc) if isinstance(exc, BenchError) else f"{info.serial}: {exc.__class__.__name__}: {exc}",
                )
            )
            if _lost(exc):
                for m in models[i + 1 :]:
                    fail(RunFailure(info.serial, str(m), f"{info.serial}: skipped after the device was lost"))
                return
            continue
        on_result(result)


def bench_devices(
    client,
    devices: list[DeviceInfo],
    models: list[Path],
    plan: RunPlan,
    binary_for: Callable[[DeviceInfo], Path],
    on_result: Callable[[PhoneResult], None],
    progress: Callable[[str], None] = lambda m: None,
    labels: dict[str, str] | None = None,
) -> list[RunFailure]:
    """All models on all devices, one worker thread per device. Returns the failures; every finished
    result is handed to ``on_result`` at once (under a lock: callers may write files from it)."""
    failures: list[RunFailure] = []
    lock = threading.Lock()

    def locked(fn):
        def call(item) -> None:
            with lock:
                fn(item)

        return call

    def worker(info: DeviceInfo) -> None:
        label = (labels or {}).get(info.serial) or info.alias or info.serial
        _device_worker(
            client, info, models, plan, binary_for, label, locked(on_result), locked(failures.append), progress
        )

    with ThreadPoolExecutor(max_workers=max(1, len(devices))) as pool:
        list(pool.map(worker, devices))
    return failures
