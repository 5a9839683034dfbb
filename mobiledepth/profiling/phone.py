"""Per-layer latency on a phone: benchmark_model's op profiler (``--enable_op_profiling``).

The ``Run Order`` table's rows become layers (node names are the TFLite tensor names onnx2tf gave,
which keep the exported module path). With XNNPACK on (the default CPU path) the delegated part is
one ``TfLiteXNNPackDelegate`` node: per-layer detail then needs ``--no-xnnpack`` (the reference CPU
kernels, slower but broken down), which the table's note says.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from android_bench.adb import AdbEndpoint
from android_bench.runner import PhoneOptions
from android_bench.timing import Timing

from ..errors import MobileDepthError
from ..records import BenchRecord
from ..records.profiling import LayerProfile, LayerTime
from .layers import module_of


def profile_from_record(record: BenchRecord) -> LayerProfile:
    """A phone bench record made with op profiling -> the per-layer table."""
    nodes = record.phone.op_nodes if record.phone else ()
    if not nodes:
        raise MobileDepthError(f"{record.model.path}: the phone's benchmark_model printed no Run Order table "
                               "(op profiling unsupported by this build?)")  # fmt: skip
    layers = tuple(LayerTime(n.name, module_of(n.name.strip("[]").split("]:")[0]), n.node_type, n.avg_ms)
                   for n in nodes)  # fmt: skip
    delegated = [n for n in nodes if n.node_type.startswith("TfLite") and n.node_type.endswith("Delegate")]
    note = f"{len(delegated)} delegate node(s) hold {sum(n.avg_ms for n in delegated):.2f} ms as one row each" if (
        delegated) else ""  # fmt: skip
    # The op profiler prints each node's AVERAGE over the runs, so the layers are checked against the mean
    # of the same runs (a median would differ by the runs' skew, not by anything the profile missed).
    note = "; ".join(n for n in (note, "node times are averages: compared with the runs' mean") if n)
    profile = LayerProfile(model=record.file_name, device=record.device.label,
                           runtime=f"benchmark_model ({record.delegate})", runs=record.latency_ms.count,
                           end_to_end_ms=record.latency_ms.mean, layers=layers, note=note)  # fmt: skip
    return replace(profile, layers=tuple(profile.ranked()))


def profile_phone(model: Path, device: str, timing: Timing = Timing(), use_xnnpack: bool = True,
                  adb: AdbEndpoint = AdbEndpoint(), binary: Path | None = None) -> list[LayerProfile]:  # fmt: skip
    """One profiled benchmark_model run per matching phone; ``binary`` overrides the fetched tool."""
    from ..benchmark.request import BenchRequest
    from ..benchmark.run import run_bench

    phone = PhoneOptions(op_profiling=True, use_xnnpack=use_xnnpack)
    outcome = run_bench(BenchRequest((model,), device, timing=timing, phone=phone, adb=adb, binary=binary))
    if outcome.problems:
        raise MobileDepthError("; ".join(outcome.problems))
    return [profile_from_record(r) for r in outcome.records]
