"""``mobiledepth bench``: host or phones, single or paired, and saved phone logs."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

from rich.text import Text

from android_bench.adb import AdbEndpoint
from android_bench.runner import PhoneOptions
from android_bench.timing import Timing

from ..benchmark.request import BenchRequest, run_bench
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
    threads: o.Threads = None,
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
) -> None:
    """Benchmark models: median / p90 latency, FPS, peak memory; on this computer or on phones over adb."""
    if from_log:
        if paired:
            raise MobileDepthError("--from-log reads saved runs; --paired times files interleaved: give one of them")
        return _bench_from_logs(from_log, models or [], device, json_path)
    phone = PhoneOptions(**given_flags(
        gpu_precision_loss=gpu_precision_loss, nnapi_accelerator=nnapi_accelerator, affinity=affinity,
        require_full_delegation=require_full_delegation, repeats=repeats, cooldown_s=cooldown, max_temp_c=max_temp,
        thermal_timeout_s=thermal_timeout, run_timeout_s=run_timeout, op_profiling=op_profiling))  # fmt: skip
    timing = Timing(threads, warmup, warmup_seconds, runs, min_seconds, rounds)
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
