"""Per-layer latency on a phone: benchmark_model's op profiler (``--enable_op_profiling``).

The ``Run Order`` table's rows become layers (node names are the TFLite tensor names onnx2tf gave,
which keep the exported module path). With XNNPACK on (the default CPU path) the delegated part is
one ``TfLiteXNNPackDelegate`` node: per-layer detail then needs ``--no-xnnpack`` (the reference CPU
kernels, slower but broken down), which the table's note says.
"""

from __future__ import annotations

from pathlib import Path

from android_bench.adb import SERVER_PORT

from ..errors import MobileDepthError
from .layers import LayerProfile, LayerTime, module_of

PHONE_PROFILE_THREADS = 4  # benchmark_model's usual phone setting: the big cluster of a 4+4 SoC
PHONE_PROFILE_RUNS = 50


def profile_from_record(record: dict) -> LayerProfile:
    """A phone bench record made with op profiling -> the per-layer table."""
    from android_bench.runner import central_ms

    nodes = record.get("op_nodes") or []
    if not nodes:
        raise MobileDepthError(
            f"{record['model']['path']}: the phone's benchmark_model printed no Run Order table "
            "(op profiling unsupported by this build?)"
        )
    layers = [
        LayerTime(n["name"], module_of(n["name"].strip("[]").split("]:")[0]), n["node_type"], n["avg_ms"])
        for n in nodes
    ]
    delegated = [n for n in nodes if n["node_type"].startswith("TfLite") and n["node_type"].endswith("Delegate")]
    note = (
        f"{len(delegated)} delegate node(s) hold {sum(n['avg_ms'] for n in delegated):.2f} ms as one row each"
        if delegated
        else ""
    )
    latency = record["latency_ms"]
    # The op profiler prints each node's AVERAGE over the runs, so the layers are checked against the mean
    # of the same runs (a median would differ by the runs' skew, not by anything the profile missed).
    end_to_end = latency.get("mean") if latency.get("mean") is not None else central_ms(latency)
    note = "; ".join(n for n in (note, "node times are averages: compared with the runs' mean") if n)
    return LayerProfile(
        Path(record["model"]["path"]).name,
        record["device"]["name"],
        f"benchmark_model ({record['delegate']})",
        int(latency.get("count") or 0),
        end_to_end,
        layers,
        note=note,
    )


def profile_phone(
    model: Path,
    device: str,
    threads: int = PHONE_PROFILE_THREADS,
    runs: int = PHONE_PROFILE_RUNS,
    use_xnnpack: bool = True,
    adb_port: int = SERVER_PORT,
    binary: Path | None = None,
) -> list[LayerProfile]:
    """One profiled benchmark_model run per matching phone; ``binary`` overrides the fetched tool."""
    from android_bench.runner import PhoneBenchOptions

    from ..bench.phone import bench_phones

    options = PhoneBenchOptions(threads=threads, runs=runs, op_profiling=True, use_xnnpack=use_xnnpack)
    result = bench_phones([model], device, options, adb_port=adb_port, binary=binary)
    if result.failures:
        raise MobileDepthError("; ".join(f.message for f in result.failures))
    return [profile_from_record(r.to_dict()) for r in result.records]
