"""``records.json`` of a NetAdapt run: bench and eval records of the family (base, every iteration, final),
so ``mobiledepth report`` draws the path. Latencies are the paired verification measurements; for our
network, WHDR is scored on the data's held-out test split (val where there is none)."""

from __future__ import annotations

from pathlib import Path

from android_bench.stats import LatencyStats
from android_bench.timing import Timing

from ..evaluation import EvalOptions, evaluate_file
from ..modelinfo import describe_model
from ..records import BenchRecord, Device, host_device, read_record
from ..records.pruning import PruneHistory
from ..records.store import read_json, write_record
from .options import PruneOptions


def _members(history: PruneHistory) -> list[tuple[str, object]]:
    iterations = [(f"iter_{it.iteration:03d}", it) for it in history.iterations]
    return [("base", history.base), *iterations, ("final", history.final)]


def write_family_records(history: PruneHistory, parts, options: PruneOptions) -> Path:
    target = parts.target
    device = host_device() if target.device == "host" else Device(name=target.device)
    delegate = target.key.delegate if target.device != "host" else {"onnxruntime": "onnxruntime-cpu"}.get(
        target.key.runtime, "xnnpack")  # fmt: skip
    split = "test" if parts.tuner.has_test() else "val"
    records = []
    for label, item in _members(history):
        file = Path(item.tflite)
        if not file.is_file():
            continue
        report = file.parent / "convert_report.json"
        if report.is_file():
            records.append(read_record(report, read_json(report)))
        if options.data is not None and file.suffix == ".tflite":
            records.append(evaluate_file(file, options.data, EvalOptions(split=split)))
        ms = item.measured_ms
        latency = LatencyStats(count=1, median=ms, mean=ms, p90=None, std=None, min=ms, max=ms,
                               source="netadapt paired verification")  # fmt: skip
        records.append(BenchRecord(model=describe_model(file), device=device, delegate=delegate, latency_ms=latency,
                                   timing=Timing(threads=int(target.key.threads)),
                                   source=f"netadapt verification ({label})"))  # fmt: skip
    path = parts.store.out / "records.json"
    write_record(path, records)
    return path
