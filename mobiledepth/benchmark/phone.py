"""``mobiledepth bench --device S21``: phones through android_bench, records in the host schema.

android_bench knows TFLite files, not depth models; here each typed phone result becomes a bench record
whose model block is completed with what mobiledepth knows (precision, parameters, the input contract
from the convert report), and every finished record is written to the JSON file at once, so a later
failure loses nothing already measured. The phone-status policy (a delegate that was not applied fails
the command, partial delegation warns) is :func:`delegation_outcome`, here and nowhere else.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

from android_bench.binary import local_binary
from android_bench.devices import DeviceInfo, connected, load_registry, resolve
from android_bench.errors import BenchError
from android_bench.runner import PhoneResult, RunPlan, bench_devices
from android_bench.stats import latency_stats
from android_bench.timing import Timing

from ..errors import MobileDepthError
from ..modelinfo import describe_model
from ..records import BenchRecord, Device, Memory, ModelInfo, Paired
from ..records.store import write_record
from .paired import bootstrap_ratio
from .request import BenchOutcome, BenchRequest

Progress = Callable[[str], None]


def phone_device(result: PhoneResult) -> Device:
    info = result.device
    return Device(
        name=result.label,
        model=info.model,
        soc=info.soc,
        os=f"Android {info.android} (SDK {info.sdk})" if info.android else "",
        abi=info.abi,
        serial=info.serial or None,
        manufacturer=info.manufacturer,
        emulated=info.emulated,
    )


def phone_record(result: PhoneResult) -> BenchRecord:
    """A phone's typed result as a bench record. The model is described only after the phone ran the file:
    a file the phone rejects is reported by the phone's tool."""
    m = result.model
    try:
        known = describe_model(m.path)
        model = replace(known, path=m.path, sha256=m.sha256, size_bytes=m.size_bytes or known.size_bytes)
    except MobileDepthError:
        model = ModelInfo(
            path=m.path, name=m.name, format="tflite", precision="", sha256=m.sha256, size_bytes=m.size_bytes
        )
    memory = Memory(peak_mb=result.peak_memory_mb, init_mb=result.memory_init_mb, overall_mb=result.memory_overall_mb)
    source = f"log: {result.details.log}" if result.details.log else ""
    return BenchRecord(
        model=model,
        device=phone_device(result),
        delegate=result.delegate,
        latency_ms=result.latency,
        timing=result.timing,
        status=result.status,
        memory=memory,
        init_ms=result.init_ms,
        first_inference_ms=result.first_inference_ms,
        phone=result.details,
        source=source,
    )


def _phones(request: BenchRequest) -> tuple[object, list[DeviceInfo], dict[str, Path], dict[str, str]]:
    """The adb client, the chosen phones, each one's benchmark binary and the label the user called it by."""
    try:
        registry = load_registry(request.devices_file)
        client = request.adb.client()
        exact = request.device if "," not in request.device and request.device != "all" else None
        chosen = resolve(request.device, connected(client, registry, only=exact), registry)
        binaries = {info.serial: local_binary(request.binary, info.abi) for info in chosen}
    except BenchError as exc:
        raise MobileDepthError(str(exc)) from None
    requested = [s.strip() for s in request.device.split(",")]
    labels = {i.serial: next((r for r in requested if r == i.alias), None) or i.alias or i.serial for i in chosen}
    return client, chosen, binaries, labels


def _run(request: BenchRequest, files: list[Path], plan: RunPlan, progress: Progress, save: bool):
    for f in request.files:
        if not f.is_file():
            raise MobileDepthError(f"{f}: no such model file")
    client, chosen, binaries, labels = _phones(request)
    records: list[BenchRecord] = []

    def on_result(result: PhoneResult) -> None:
        records.append(phone_record(result))
        if save and request.json_path is not None:
            write_record(request.json_path, records)

    failures = bench_devices(client, chosen, files, plan, lambda i: binaries[i.serial], on_result, progress, labels)
    return records, failures


def bench_phones(request: BenchRequest, progress: Progress = lambda m: None) -> BenchOutcome:
    """Every file on every chosen phone, phones in parallel; records saved after every finished run."""
    plan = RunPlan(request.delegate, request.resolved_timing, request.phone)
    records, failures = _run(request, list(request.files), plan, progress, save=True)
    outcome = delegation_outcome(records)
    problems = tuple(f.message for f in failures) + outcome.problems
    return replace(outcome, problems=problems, saved=request.json_path if records else None)


def bench_phones_paired(request: BenchRequest, progress: Progress = lambda m: None) -> BenchOutcome:
    """Paired on phones: the files' benchmark_model runs alternate, order flipped every round (A B, B A,
    ...: neither file is always the one that runs warmer), the thermal guard waits before every run, and
    each file's round value is its run's median. Per phone: one record per file with its median of round
    values and its ratio to the first file (bootstrap interval over rounds)."""
    timing = request.resolved_timing
    files = list(request.files)
    sequence = [m for r in range(timing.rounds) for m in (files if r % 2 == 0 else files[::-1])]
    plan = RunPlan(request.delegate, timing, replace(request.phone, repeats=1))
    runs, failures = _run(request, sequence, plan, progress, save=False)
    if failures:
        raise MobileDepthError(f"paired run incomplete: {failures[0].message}")
    records = []
    for serial in dict.fromkeys(r.device.serial for r in runs):
        records += paired_records(files, [r for r in runs if r.device.serial == serial], timing)
    return delegation_outcome(records, paired=True)


def paired_records(files: list[Path], runs: list[BenchRecord], timing: Timing) -> list[BenchRecord]:
    """One phone's alternating runs grouped by position, not by path: the same file may be given twice
    (an A/A check, or current == base)."""
    per_file: list[list[float]] = [[] for _ in files]
    last: list[BenchRecord] = [runs[0] for _ in files]
    for r in range(timing.rounds):
        order = range(len(files)) if r % 2 == 0 else reversed(range(len(files)))
        for k, i in enumerate(order):
            run = runs[r * len(files) + k]
            per_file[i].append(run.central_ms)
            last[i] = run
    labels = tuple(str(f) for f in files)
    records = []
    for i, values in enumerate(per_file):
        ratio = bootstrap_ratio(per_file[0], values) if i else None
        paired = Paired(
            files=labels,
            label=labels[i],
            baseline=labels[0],
            rounds=timing.rounds,
            runs_per_round=timing.runs,
            round_medians_ms=tuple(values),
            ratio_to_baseline=ratio,
        )
        latency = latency_stats(values, source="median of per-round benchmark_model medians")
        records.append(replace(last[i], latency_ms=latency, paired=paired))  # its last run's details
    return records


def list_devices(request_adb, devices_file: Path | None = None) -> list[DeviceInfo]:
    """Every phone the adb server at ``request_adb`` (an AdbEndpoint) knows, described."""
    try:
        registry = load_registry(devices_file)
        return connected(request_adb.client(), registry)
    except BenchError as exc:
        raise MobileDepthError(str(exc)) from None


def delegation_outcome(records: list[BenchRecord], paired: bool = False) -> BenchOutcome:
    """The phone-status policy: a delegate that was not applied is a problem (its CPU timings are saved,
    labelled), a partly applied one a warning (timings include CPU fallback)."""
    problems: list[str] = []
    warnings: list[str] = []
    skipped = [r for r in records if r.status == "delegate-not-applied"]
    if paired and skipped:
        names = ", ".join(sorted({r.file_name for r in skipped}))
        problems.append(f"{skipped[0].delegate.upper()} delegate NOT applied to {names}: CPU timings (saved)")
        return BenchOutcome(tuple(records), tuple(problems))
    for r in records:
        d = r.phone.delegation if r.phone else None
        if r.status == "delegate-not-applied":
            problems.append(
                f"{r.device.name}: {r.delegate.upper()} delegate NOT applied to {r.file_name} "
                f"({d.reason if d else ''}); the {r.central_ms:.2f} ms measured are CPU timings, saved with status "
                "delegate-not-applied"
            )
        elif r.status == "delegate-partial" and d is not None:
            warnings.append(
                f"{r.device.name}: {r.delegate.upper()} delegate took {d.delegated_nodes} of {d.total_nodes} nodes of "
                f"{r.file_name}; timings include CPU fallback"
            )
    return BenchOutcome(tuple(records), tuple(problems), tuple(warnings))
