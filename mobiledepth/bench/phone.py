"""``mobiledepth bench --device S21``: phones through android_bench, records in the host schema.

android_bench knows TFLite files, not depth models; here each record's model block is completed
with what mobiledepth knows (precision, parameters from the convert report), and every finished
record is written to the JSON file at once, so a later failure loses nothing already measured.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from android_bench import adb
from android_bench.binary import local_binary
from android_bench.devices import DeviceInfo, connected, load_registry, resolve
from android_bench.errors import BenchError
from android_bench.runner import PhoneBenchOptions, RunFailure, bench_devices

from ..errors import MobileDepthError
from ..fileio import write_json
from ..modelinfo import describe_model
from ..records import BenchRecord
from .options import PHONE_PAIRED_ROUNDS


@dataclass
class PhoneBenchResult:
    records: list[BenchRecord] = field(default_factory=list)
    failures: list[RunFailure] = field(default_factory=list)


def phone_record(run: dict[str, Any]) -> BenchRecord:
    """android_bench's run, mapped once into a BenchRecord, its model block completed with what mobiledepth
    knows (precision, parameters from the convert report). Described only after the phone ran the file: a
    file the phone rejects is reported by the phone's tool."""
    try:
        known = describe_model(run["model"]["path"]).to_dict()
    except MobileDepthError:
        known = {}
    record = BenchRecord.from_dict(run)
    record.model = {**known, **{k: v for k, v in run["model"].items() if v is not None}}
    return record


def bench_phones(
    models: list[Path],
    device_spec: str,
    options: PhoneBenchOptions,
    adb_host: str = adb.SERVER_HOST,
    adb_port: int = adb.SERVER_PORT,
    binary: Path | None = None,
    devices_file: Path | None = None,
    json_path: Path | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> PhoneBenchResult:
    for m in models:
        if m.suffix.lower() != ".tflite":
            raise MobileDepthError(f"{m}: phones run .tflite files; convert it first (mobiledepth convert)")
        if not m.is_file():
            raise MobileDepthError(f"{m}: no such model file")
    try:
        options.validate()
        registry = load_registry(devices_file)
        client = adb.client(adb_host, adb_port)
        chosen = resolve(device_spec, connected(client, registry), registry)
        binaries = {info.serial: local_binary(binary, info.abi) for info in chosen}
    except BenchError as exc:
        raise MobileDepthError(str(exc)) from None
    requested = [s.strip() for s in device_spec.split(",")]
    labels = {
        info.serial: (next((r for r in requested if r == info.alias), None) or info.alias or info.serial)
        for info in chosen
    }
    result = PhoneBenchResult()

    def on_record(run: dict[str, Any]) -> None:
        result.records.append(phone_record(run))
        if json_path is not None:
            write_json(json_path, [r.to_dict() for r in result.records])

    result.failures = bench_devices(
        client, chosen, models, options, lambda info: binaries[info.serial], on_record, progress, labels
    )
    return result


def list_devices(
    adb_host: str = adb.SERVER_HOST, adb_port: int = adb.SERVER_PORT, devices_file: Path | None = None
) -> list[DeviceInfo]:
    try:
        registry = load_registry(devices_file)
        return connected(adb.client(adb_host, adb_port), registry)
    except BenchError as exc:
        raise MobileDepthError(str(exc)) from None


def bench_phones_paired(
    models: list[Path],
    device_spec: str,
    options: PhoneBenchOptions,
    rounds: int = PHONE_PAIRED_ROUNDS,
    adb_host: str = adb.SERVER_HOST,
    adb_port: int = adb.SERVER_PORT,
    binary: Path | None = None,
    devices_file: Path | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> list[BenchRecord]:
    """Paired on phones: the files' benchmark_model runs alternate, order flipped every round (A B, B A,
    ...: neither file is always the one that runs warmer), the thermal guard waits before every run, and
    each file's round value is its run's median. Per device: one record per file
    with its median of round values and its ratio to the first file (bootstrap interval over rounds)."""
    if len(models) < 2 or rounds < 2:
        raise MobileDepthError("--paired needs two or more model files and at least 2 rounds")
    sequence = [m for r in range(rounds) for m in (models if r % 2 == 0 else models[::-1])]
    result = bench_phones(
        sequence, device_spec, replace(options, repeats=1), adb_host, adb_port, binary, devices_file, progress=progress
    )
    if result.failures:
        raise MobileDepthError(f"paired run incomplete: {result.failures[0].message}")
    records = []
    for serial in dict.fromkeys(r.device["serial"] for r in result.records):
        runs = [r for r in result.records if r.device["serial"] == serial]
        records += _paired_records(models, runs, rounds, options.runs)
    return records


def _paired_records(models: list[Path], runs: list[BenchRecord], rounds: int, runs_per_round: int):
    """One device's alternating runs grouped by position, not by path: the same file may be given twice
    (an A/A check, or current == base)."""
    from .paired import bootstrap_ratio
    from .stats import latency_stats

    per_file: list[list[float]] = [[] for _ in models]
    last: list[BenchRecord] = [runs[0] for _ in models]
    for r in range(rounds):
        order = range(len(models)) if r % 2 == 0 else reversed(range(len(models)))
        for k, i in enumerate(order):
            run = runs[r * len(models) + k]
            per_file[i].append(run.central_ms)
            last[i] = run
    records = []
    for i, model in enumerate(models):
        values = per_file[i]
        ratio = bootstrap_ratio(per_file[0], values) if i else None
        ratio_block = None if ratio is None else dict(zip(("median", "low", "high"), ratio), confidence=0.95)
        record = replace(last[i])  # its last run's details
        record.latency_ms = asdict(latency_stats(values)) | {"source": "median of per-round benchmark_model medians"}
        record.paired = {
            "files": [str(m) for m in models], "label": str(model), "baseline": str(models[0]), "rounds": rounds,
            "round_medians_ms": values, "runs_per_round": runs_per_round, "latency_is": "median of per-round medians",
            "ratio_to_baseline": ratio_block,
        }  # fmt: skip
        records.append(record)
    return records
