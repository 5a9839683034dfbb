"""``mobiledepth bench``: host or phones, single or paired, and saved phone logs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from rich.text import Text

from android_bench.adb import AdbEndpoint
from android_bench.runner import PhoneOptions
from android_bench.timing import PHONE_TIMING, Timing

from ..benchmark.request import BenchRequest
from ..benchmark.run import run_bench
from ..errors import MobileDepthError
from ..reporting.terminal import bench_table, paired_table
from . import options as o
from .app import app, console, err_console
from .common import given_flags, size_flag, user_errors, write_records


@app.command()
@user_errors
def bench(
    models: o.Models = None,
    device: o.Device = "host",
    delegate: o.Delegate = "cpu",
    threads: o.SweepThreads = None,
    warmup: o.Warmup = None,
    warmup_seconds: o.WarmupSeconds = None,
    runs: o.Runs = None,
    min_seconds: o.MinSeconds = None,
    size: o.Size = None,
    json_path: o.JsonOut = None,
    adb_host: o.AdbHost = o.ADB_HOST,
    adb_port: o.AdbPort = o.ADB_PORT,
    benchmark_binary: o.Binary = None,
    gpu_precision_loss: o.GpuFp16 = None,
    nnapi_accelerator: o.NnapiAccelerator = None,
    require_full_delegation: o.FullDelegation = None,
    affinity: o.Affinity = None,
    repeats: o.Repeats = None,
    cooldown: o.Cooldown = None,
    max_temp: o.MaxTemp = None,
    thermal_timeout: o.ThermalTimeout = None,
    run_timeout: o.RunTimeout = None,
    op_profiling: o.OpProfiling = None,
    devices_file: o.DevicesFile = None,
    paired: o.Paired = False,
    rounds: o.Rounds = None,
    from_log: o.FromLog = None,
    fleet: o.Fleet = None,
    results: o.Results = None,
    ray_address: o.RayAddress = None,
) -> None:
    """Benchmark models: median / p90 latency, FPS, peak memory; on this computer, on phones over adb, or on a
    device lab (--fleet: files x phones x delegates x threads as Ray jobs, remembered in --results)."""
    if fleet is not None or results is not None:
        if from_log:
            raise MobileDepthError("--from-log reads saved runs; --fleet runs new ones: give one of them")
        sweep = SweepFlags(models or [], device if device != "host" else "all", delegate, threads, paired)
        return _bench_fleet(fleet, results, sweep, ray_address, benchmark_binary,
                            Timing(None, warmup, warmup_seconds, runs, min_seconds, rounds))  # fmt: skip
    if from_log:
        if paired:
            raise MobileDepthError("--from-log reads saved runs; --paired times files interleaved: give one of them")
        return _bench_from_logs(from_log, models or [], device, json_path)
    phone = PhoneOptions(**given_flags(
        gpu_precision_loss=gpu_precision_loss, nnapi_accelerator=nnapi_accelerator, affinity=affinity,
        require_full_delegation=require_full_delegation, repeats=repeats, cooldown_s=cooldown, max_temp_c=max_temp,
        thermal_timeout_s=thermal_timeout, run_timeout_s=run_timeout, op_profiling=op_profiling))  # fmt: skip
    timing = Timing(_one_count(threads), warmup, warmup_seconds, runs, min_seconds, rounds)
    request = BenchRequest(tuple(models or ()), device, delegate, paired, timing, size_flag(size), phone,
                           AdbEndpoint(adb_host, adb_port), benchmark_binary, devices_file, json_path)  # fmt: skip
    with err_console.status(f"benchmarking on {device}") as status:
        outcome = run_bench(request, progress=lambda m: status.update(m))
    show_outcome(outcome, paired, json_path)


def show_outcome(outcome, paired: bool, json_path: Optional[Path]) -> None:
    """The records' table, where they were written, the warnings; then the problems fail the command."""
    if outcome.records:
        console.print((paired_table if paired else bench_table)(list(outcome.records)))
    if outcome.saved:
        console.print(f"wrote {outcome.saved}")
    elif outcome.records:
        write_records(json_path, list(outcome.records))
    for line in outcome.warnings:
        err_console.print(Text("warning: ", style="yellow") + Text(line), highlight=False)
    outcome.raise_problems()


def _bench_from_logs(logs: List[Path], models: List[Path], device: str, json_path: Optional[Path]) -> None:
    from android_bench.errors import BenchError
    from android_bench.from_log import result_from_log

    from ..benchmark.phone import phone_record

    if models and len(models) != len(logs):
        raise MobileDepthError(
            f"--from-log: {len(logs)} log(s) but {len(models)} model file(s); give one file per log or none"
        )
    for path in [*logs, *models]:
        if not path.is_file():
            raise MobileDepthError(f"{path}: no such file")
    label = "log" if device == "host" else device
    try:
        records = [
            phone_record(result_from_log(log, label, models[i] if models else None)) for i, log in enumerate(logs)
        ]
    except BenchError as exc:
        raise MobileDepthError(str(exc)) from None
    console.print(bench_table(records))
    write_records(json_path, records)


def _counts(text: str | None, flag: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in (text or "").split(",") if v.strip())
    except ValueError:
        raise MobileDepthError(f"{flag} {text!r}: expected a whole number, or a comma list with --fleet") from None


def _one_count(text: str | None) -> int | None:
    values = _counts(text, "--threads")
    if len(values) > 1:
        raise MobileDepthError(f"--threads {text}: one value (a list of values is for --fleet sweeps)")
    return values[0] if values else None


@dataclass(frozen=True)
class SweepFlags:
    models: list[Path]
    device: str
    delegate: str
    threads: str | None
    paired: bool


def _bench_fleet(fleet: Path | None, results: Path | None, flags: SweepFlags, ray_address: str | None,
                 binary: Path | None, timing: Timing) -> None:  # fmt: skip
    """The sweep: a live table while it runs, the fleet's FPS + WHDR table after, failed jobs named."""
    from ..lab.fleet import load_fleet
    from ..lab.plan import SweepRequest
    from ..lab.progress import SweepProgress
    from ..lab.report import sweep_table
    from ..lab.sweep import run_sweep

    if fleet is None or results is None:
        raise MobileDepthError("a device-lab sweep needs both --fleet FLEET.toml and --results DIR")
    delegates = tuple(d.strip() for d in flags.delegate.split(",") if d.strip())
    threads = _counts(flags.threads, "--threads") or (PHONE_TIMING.threads,)
    request = SweepRequest(tuple(flags.models), load_fleet(fleet), results, flags.device, delegates, threads,
                           flags.paired, timing, binary=binary, ray_address=ray_address)  # fmt: skip
    summary = run_sweep(request, SweepProgress(err_console))
    if summary.records:
        console.print(sweep_table(summary.records))
    console.print(f"{summary.done} job(s) run now, {summary.earlier} done earlier, {len(summary.failures)} failed; "
                  f"records: {results}")  # fmt: skip
    for record in summary.records:
        for line in record.warnings:
            err_console.print(Text("warning: ", style="yellow") + Text(line), highlight=False)
    problems = [p for r in summary.records for p in r.problems]
    for line in problems:
        err_console.print(Text("problem: ", style="red") + Text(line), highlight=False)
    for r in summary.failures:
        line = f"failed: {r.alias or r.key.serial} {r.key.delegate} t{r.key.threads} {', '.join(r.files)}: {r.cause}"
        err_console.print(Text(line), highlight=False)
    if summary.failures:
        raise MobileDepthError(f"{len(summary.failures)} of {summary.jobs} job(s) failed; run the same command again "
                               "to retry only those")  # fmt: skip
    if problems:
        raise MobileDepthError(f"{len(problems)} job(s) ran without the delegate they asked for (CPU timings, saved "
                               "and labelled)")  # fmt: skip
