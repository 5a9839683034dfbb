"""On-device benchmark runs: push, cool down, run ``benchmark_model``, parse, record.

One record per (device, model), in the same JSON schema as host benchmarks (``record: bench``), so
``mobiledepth report`` shows phones and host side by side. Several phones run in parallel, one worker
per phone; a failure on one phone, or on one model, never loses results already measured: every
finished record is handed to ``on_record`` at once.
"""

from __future__ import annotations

import datetime as _dt
import posixpath
import re
import shlex
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from . import RECORD_SCHEMA
from .binary import REMOTE_BINARY, WORKDIR, Pushed, ensure_binary, push_if_changed
from .devices import DeviceInfo
from .errors import BenchError
from .hashing import sha256_file
from .parse import BenchmarkOutput, Stat, parse_benchmark_output
from .remote import run_with_deadline
from .thermal import read_temperatures, wait_until_cool

DELEGATES = ("cpu", "gpu", "nnapi")
TOOL_VERSION = "android_bench 0.1.0"


@dataclass
class PhoneBenchOptions:
    delegate: str = "cpu"
    gpu_precision_loss: bool = True  # fp16 on the GPU (the tool's gpu_precision_loss_allowed)
    nnapi_accelerator: str | None = None
    require_full_delegation: bool = False
    threads: int = 4
    affinity: str | None = None  # taskset hex mask, e.g. 'f0' for the big cores of many SoCs
    warmup_runs: int = 5
    warmup_seconds: float = 1.0
    runs: int = 50
    min_seconds: float = 1.0
    max_seconds: float = 150.0
    repeats: int = 1
    cooldown_s: float = 0.0
    max_temp_c: float = 40.0
    thermal_timeout_s: float = 300.0
    run_timeout_s: float = 600.0
    op_profiling: bool = False
    peak_memory: bool = True
    use_xnnpack: bool = True  # CPU runs; off = reference kernels, which the op profiler breaks down per node

    def validate(self) -> None:
        if self.delegate not in DELEGATES:
            raise BenchError(f"--delegate {self.delegate}: choose one of {', '.join(DELEGATES)}")
        if self.affinity is not None and not re.fullmatch(r"(0x)?[0-9a-fA-F]+", self.affinity):
            raise BenchError(f"--affinity {self.affinity!r}: expected a hex CPU mask such as f0")
        if self.runs < 1 or self.repeats < 1:
            raise BenchError("--runs and --repeats must be at least 1")


@dataclass
class RunFailure:
    serial: str
    model: str
    message: str


def build_command(remote_model: str, options: PhoneBenchOptions, run_id: str | None = None) -> str:
    """The benchmark_model command line; every path is shell-quoted. ``run_id`` goes into the real
    ``--benchmark_name`` flag, so a timed-out run can be killed by ITS command line (``pkill -f RUN_ID``)
    without touching anyone else's benchmark_model on a shared lab phone."""
    flags = [
        f"--graph={remote_model}",
        f"--num_threads={options.threads}",
        f"--warmup_runs={options.warmup_runs}",
        f"--warmup_min_secs={options.warmup_seconds:g}",
        f"--num_runs={options.runs}",
        f"--min_secs={options.min_seconds:g}",
        f"--max_secs={options.max_seconds:g}",
    ]
    if options.delegate == "cpu":  # GPU/NNAPI runs keep XNNPACK for any ops that fall back to the CPU
        flags.append(f"--use_xnnpack={'true' if options.use_xnnpack else 'false'}")
    if options.delegate == "gpu":
        flags += ["--use_gpu=true", f"--gpu_precision_loss_allowed={'true' if options.gpu_precision_loss else 'false'}"]
    if options.delegate == "nnapi":
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


def latency_block(repeats: list[dict[str, Any]], last: Stat, n_repeats: int) -> dict[str, Any]:
    """The record's latency: median of the repeats' medians, or None (and says so) when the tool printed none."""
    import statistics

    medians = [r["median_ms"] for r in repeats]
    has_median = all(m is not None for m in medians)
    return {
        "count": sum(r["count"] for r in repeats),
        "median": statistics.median(medians) if has_median else None,
        "mean": statistics.fmean(r["avg_ms"] for r in repeats),
        "central": "median" if has_median else "mean (the tool printed no median)",
        "p90": None,  # benchmark_model reports p5/median/p95, not p90
        "p95": _us_to_ms(last.p95),
        "p5": _us_to_ms(last.p5),
        "std": _us_to_ms(last.std),
        "min": min(r["min_ms"] for r in repeats),
        "max": max(r["max_ms"] for r in repeats),
        "samples": medians if n_repeats > 1 and has_median else [],  # no per-run samples printed; per-repeat medians
        "source": "benchmark_model stats (per-run samples not printed by the tool)",
    }


def central_ms(latency: dict[str, Any]) -> float:
    """The median, or the mean where the tool printed no median (the record's 'central' says which)."""
    return latency["median"] if latency.get("median") is not None else latency["mean"]


def _device_block(info: DeviceInfo, label: str) -> dict[str, Any]:
    return {
        "name": label,
        "serial": info.serial,
        "model": info.model,
        "manufacturer": info.manufacturer,
        "soc": info.soc,
        "os": f"Android {info.android} (SDK {info.sdk})",
        "abi": info.abi,
    }


def delegation_status(parsed: BenchmarkOutput, delegate: str) -> str:
    """ok | delegate-partial | delegate-not-applied: the phone-status policy, in one place."""
    d = parsed.delegation
    if delegate == "cpu" or (d.applied and d.mode == "full"):
        return "ok"
    return "delegate-partial" if d.applied else "delegate-not-applied"


def output_fields(parsed: BenchmarkOutput) -> dict[str, Any]:
    """The record fields read straight from the tool's output (live runs and saved logs alike)."""
    return {
        "init_ms": _us_to_ms(parsed.init_us),
        "first_inference_ms": _us_to_ms(parsed.first_inference_us),
        "warmup_avg_ms": _us_to_ms(parsed.warmup_avg_us),
        "memory_mb": {
            "init": parsed.memory_init_mb,
            "overall": parsed.memory_overall_mb,
            "peak": parsed.peak_memory_mb,
        },
        "peak_memory_mb": parsed.peak_memory_mb,
        "op_profile": [asdict(o) for o in parsed.op_profile],
        "op_nodes": [asdict(o) for o in parsed.op_nodes],
    }


def _one_run(
    device,
    info: DeviceInfo,
    model: Path,
    remote: str,
    options: PhoneBenchOptions,
    r: int,
    progress: Callable[[str], None],
) -> tuple[dict[str, Any], BenchmarkOutput]:
    """One benchmark_model run after the thermal guard (and the cool-down between repeats)."""
    if r and options.cooldown_s:
        progress(f"{info.serial}: cool-down {options.cooldown_s:.0f} s")
        time.sleep(options.cooldown_s)
    limit = options.max_temp_c

    def waiting(temp: float, waited: float) -> None:
        progress(f"{info.serial}: waiting to cool, {temp:.1f} °C ≥ {limit:.1f} °C ({waited:.0f} s)")

    cool = wait_until_cool(device, limit, options.thermal_timeout_s, progress=waiting)
    progress(f"{info.serial}: {model.name} on {options.delegate}, run {r + 1}/{options.repeats}")
    run_id = f"mobiledepth-{uuid.uuid4().hex[:12]}"
    result = run_with_deadline(
        device, build_command(remote, options, run_id), options.run_timeout_s, kill_pattern=run_id
    )
    after = read_temperatures(device)
    text = result.stdout + result.stderr
    parsed = parse_benchmark_output(text, options.delegate)
    if result.returncode != 0 or parsed.failed:
        raise BenchError(_failure_message(info.serial, model, result.returncode, parsed, text))
    stats = parsed.runs
    repeat = {
        "median_ms": _us_to_ms(stats.median),  # None when the tool printed no median: never the mean in disguise
        **{f"{k}_ms": _us_to_ms(getattr(stats, k)) for k in ("avg", "std", "min", "max", "p5", "p95")},
        "count": stats.count, "temperature_before": cool.before.to_dict(), "temperature_after": after.to_dict(),
        "waited_to_cool_s": cool.waited_s, "thermal_timeout": cool.timed_out, "wall_s": result.seconds,
    }  # fmt: skip
    return repeat, parsed


def bench_model(
    device,
    info: DeviceInfo,
    model: Path,
    options: PhoneBenchOptions,
    binary: Pushed,
    label: str,
    progress: Callable[[str], None] = lambda message: None,
) -> dict[str, Any]:
    """Benchmark one model on one phone; returns a bench record or raises :class:`BenchError`."""
    if not model.is_file():
        raise BenchError(f"{model}: no such model file")
    sha = sha256_file(model)
    progress(f"{info.serial}: pushing {model.name}")
    remote = push_if_changed(device, model, remote_model_path(model, sha)).remote
    runs = [_one_run(device, info, model, remote, options, r, progress) for r in range(options.repeats)]
    repeats, parsed = [rep for rep, _ in runs], runs[-1][1]
    latency = latency_block(repeats, parsed.runs, options.repeats)
    return {
        "record": "bench", "schema": RECORD_SCHEMA, "tool": {"name": "mobiledepth", "harness": TOOL_VERSION},
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "model": {"path": str(model), "name": model.stem, "format": "tflite", "sha256": sha,
                  "size_bytes": model.stat().st_size},
        "device": _device_block(info, label), "delegate": options.delegate,
        "delegation": parsed.to_dict()["delegation"], "status": delegation_status(parsed, options.delegate),
        "threads": options.threads, "affinity": options.affinity, "settings": dict(asdict(options)),
        "latency_ms": latency, "fps": 1000.0 / central_ms(latency), **output_fields(parsed), "repeats": repeats,
        "temperatures": {"before": repeats[0]["temperature_before"], "after": repeats[-1]["temperature_after"]},
        "binary": {"remote": binary.remote, "md5": binary.md5, "sha256": binary.sha256,
                   "pushed_this_session": binary.pushed},
    }  # fmt: skip


def bench_devices(
    client,
    devices: list[DeviceInfo],
    models: list[Path],
    options: PhoneBenchOptions,
    binary_for: Callable[[DeviceInfo], Path],
    on_record: Callable[[dict[str, Any]], None],
    progress: Callable[[str], None] = lambda m: None,
    labels: dict[str, str] | None = None,
) -> list[RunFailure]:
    """All models on all devices, one worker thread per device. Returns the failures."""
    options.validate()
    failures: list[RunFailure] = []
    lock = threading.Lock()

    def worker(info: DeviceInfo) -> None:
        device = client.device(serial=info.serial)
        label = (labels or {}).get(info.serial) or info.alias or info.serial
        try:
            binary = ensure_binary(device, binary_for(info))
        except BenchError as exc:
            with lock:
                failures.extend(RunFailure(info.serial, str(m), str(exc)) for m in models)
            return
        except Exception as exc:  # adb errors: the device went away before we started
            with lock:
                failures.extend(
                    RunFailure(info.serial, str(m), f"{info.serial}: {exc.__class__.__name__}: {exc}") for m in models
                )
            return
        for i, model in enumerate(models):
            try:
                record = bench_model(device, info, model, options, binary, label, progress)
            except BenchError as exc:
                with lock:
                    failures.append(RunFailure(info.serial, str(model), str(exc)))
                if "connection lost" in str(exc) or "cannot start a shell" in str(exc):
                    with lock:
                        failures.extend(
                            RunFailure(info.serial, str(m), f"{info.serial}: skipped after the device was lost")
                            for m in models[i + 1 :]
                        )
                    return
                continue
            except Exception as exc:
                with lock:
                    failures.append(
                        RunFailure(info.serial, str(model), f"{info.serial}: {exc.__class__.__name__}: {exc}")
                    )
                continue
            with lock:
                on_record(record)

    with ThreadPoolExecutor(max_workers=max(1, len(devices))) as pool:
        list(pool.map(worker, devices))
    return failures
