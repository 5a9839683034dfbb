"""An emulated TensorFlow Lite ``benchmark_model`` for the emulated phone.

It runs the pushed model with LiteRT on this computer and prints what the real tool prints, line for
line in the real formats: parameters, delegate messages (including the GPU/NNAPI failure path of a
device without those accelerators: a WARN line and a quiet fall-back to CPU with exit status 0),
the two ``count= first= curr= ...`` stat lines in microseconds, the ``Inference timings in us``
summary, memory footprint lines, and the op-profiling tables. Timings are real host timings; per-op
times in the profiling tables are the measured average split by each op's estimated work (LiteRT's
Python API has no per-op profiler), which is what makes them emulated.
"""

from __future__ import annotations

import os
import time
from typing import Callable

import numpy as np

BINARY_MARKER = b"#!mobiledepth-emulated benchmark_model"

PARAM_LABELS = [
    ("num_runs", "Min num runs"),
    ("min_secs", "Min runs duration (seconds)"),
    ("max_secs", "Max runs duration (seconds)"),
    ("num_threads", "Num threads"),
    ("warmup_runs", "Min warmup runs"),
    ("warmup_min_secs", "Min warmup runs duration (seconds)"),
    ("graph", "Graph"),
    ("enable_op_profiling", "Enable op profiling"),
    ("report_peak_memory_footprint", "Report the peak memory footprint"),
    ("use_gpu", "Use gpu"),
    ("gpu_precision_loss_allowed", "Allow lower precision in gpu"),
    ("use_nnapi", "Use NNAPI"),
    ("nnapi_accelerator_name", "NNAPI accelerator name"),
    ("use_xnnpack", "Use xnnpack"),
    ("require_full_delegation", "Require full delegation"),
    ("benchmark_name", "Benchmark name"),
]
DEFAULTS = {
    "num_runs": 50,
    "min_secs": 1.0,
    "max_secs": 150.0,
    "warmup_runs": 1,
    "warmup_min_secs": 0.5,
    "num_threads": -1,
}


def _bool(v: str) -> bool:
    return v.lower() in ("1", "true", "yes")


def format_stat(samples_us: list[int]) -> str:
    """The tool's Stat<int64> line: count/first/curr/min/max/avg/std and percentiles."""
    if not samples_us:
        return "count=0"
    if all(s == samples_us[0] for s in samples_us):
        return f"count={len(samples_us)} curr={samples_us[-1]}" + ("(all same)" if len(samples_us) > 1 else "")
    a = np.asarray(samples_us, dtype=np.float64)
    srt = np.sort(a)

    def pct(p: float) -> int:
        return int(srt[min(len(srt) - 1, int(len(srt) * p / 100.0))])

    return (
        f"count={len(a)} first={samples_us[0]} curr={samples_us[-1]} min={int(srt[0])} max={int(srt[-1])} "
        f"avg={a.mean():g} std={int(round(a.std()))} p5={pct(5)} median={pct(50)} p95={pct(95)}"
    )


def _rss_mb() -> float:
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def _profile_tables(interp, avg_us: float, runs: int) -> str:
    ops = [op for op in interp._get_ops_details() if op["op_name"] != "DELEGATE"]
    tensors = {t["index"]: t for t in interp.get_tensor_details()}
    costs = []
    for op in ops:
        out = sum(int(np.prod(tensors[i]["shape"])) for i in op["outputs"] if i in tensors) or 1
        weight = 1
        if (
            op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
            and len(op["inputs"]) > 1
            and op["inputs"][1] in tensors
        ):
            shape = tensors[op["inputs"][1]]["shape"]
            # CONV_2D weights are [O, kh, kw, I]: kh*kw*I MACs per output; depthwise [1, kh, kw, C]: kh*kw
            weight = (
                int(np.prod(shape[1:3]))
                if op["op_name"] == "DEPTHWISE_CONV_2D"
                else (int(np.prod(shape[1:])) if len(shape) > 1 else 1)
            )
        costs.append(out * weight)
    total = float(sum(costs)) or 1.0
    ms = [avg_us / 1000.0 * c / total for c in costs]
    head = (
        "\t             [node type]\t          [start]\t  [first]\t [avg ms]\t     [%]\t  [cdf%]\t  [mem "
        "KB]\t[times called]\t[Name]"
    )
    lines = [
        "Operator-wise Profiling Info for Regular Benchmark Runs:",
        "============================== Run Order ==============================",
        head,
    ]
    start = cdf = 0.0
    rows = []
    for op, t in zip(ops, ms):
        pct = 100.0 * t / (sum(ms) or 1.0)
        cdf += pct
        name = tensors[op["outputs"][0]]["name"] if op["outputs"] and op["outputs"][0] in tensors else str(op["index"])
        rows.append((op["op_name"], start, t, pct, name))
        lines.append(
            f"\t{op['op_name']:>24}\t{start:>17.3f}\t{t:>9.3f}\t{t:>9.3f}\t{pct:>7.3f}%\t{cdf:>7.3f}%\t{0.0:>10.3f}\t{1:>9}\t[{name}]:{op['index']}"
        )
        start += t
    lines += ["", "============================== Top by Computation Time ==============================", head]
    cdf = 0.0
    for op_name, st, t, pct, name in sorted(rows, key=lambda r: -r[2])[:10]:
        cdf += pct
        lines.append(
            f"\t{op_name:>24}\t{st:>17.3f}\t{t:>9.3f}\t{t:>9.3f}\t{pct:>7.3f}%\t{cdf:>7.3f}%\t{0.0:>10.3f}\t{1:>9}\t[{name}]"
        )
    lines += [
        "",
        f"Number of nodes executed: {len(ops)}",
        "============================== Summary by node type ==============================",
        "\t             [Node type]\t  [count]\t  [avg ms]\t    [avg %]\t    [cdf %]\t  [mem KB]\t[times called]",
    ]
    by_type: dict[str, list[float]] = {}
    for op_name, _st, t, _pct, _name in rows:
        by_type.setdefault(op_name, []).append(t)
    cdf = 0.0
    for op_name, times in sorted(by_type.items(), key=lambda kv: -sum(kv[1])):
        pct = 100.0 * sum(times) / (sum(ms) or 1.0)
        cdf += pct
        lines.append(
            f"\t{op_name:>24}\t{len(times):>9}\t{sum(times):>10.3f}\t{pct:>10.3f}%\t{cdf:>10.3f}%\t{0.0:>10.3f}\t{len(times):>9}"
        )
    lines += [
        "",
        f"Timings (microseconds): count={runs} curr={int(avg_us)}",
        "Memory (bytes): count=0",
        f"{len(ops)} nodes observed",
        "",
    ]
    return "\n".join(lines) + "\n"


def run_benchmark_model(argv: list[str], phone, io, cancel, crash_marker: bool = False) -> int:
    out: Callable[[str], None] = lambda s: io.out((s + "\n").encode())
    err: Callable[[str], None] = lambda s: io.err((s + "\n").encode())
    flags: dict[str, str] = {}
    unknown = []
    known = {k for k, _ in PARAM_LABELS}
    for a in argv[1:]:
        if a.startswith("--") and "=" in a:
            k, v = a[2:].split("=", 1)
            (flags.__setitem__(k, v) if k in known else unknown.append(a))
        else:
            unknown.append(a)
    out("INFO: STARTING!")
    if unknown:
        out(f"WARN: Unconsumed cmdline flags: {' '.join(unknown)}")
    out("INFO: Log parameter values verbosely: [0]")
    for k, label in PARAM_LABELS:
        if k in flags:
            v = flags[k]
            shown = (
                ("1" if _bool(v) else "0")
                if k
                in (
                    "enable_op_profiling",
                    "report_peak_memory_footprint",
                    "use_gpu",
                    "gpu_precision_loss_allowed",
                    "use_nnapi",
                    "use_xnnpack",
                    "require_full_delegation",
                )
                else v
            )
            out(f"INFO: {label}: [{shown}]")
    graph = flags.get("graph")
    if not graph:
        err("ERROR: Please specify the name of your TF Lite input file with --graph")
        err("ERROR: Benchmarking failed.")
        return 1
    try:
        num_runs = int(flags.get("num_runs", DEFAULTS["num_runs"]))
        min_secs = float(flags.get("min_secs", DEFAULTS["min_secs"]))
        max_secs = float(flags.get("max_secs", DEFAULTS["max_secs"]))
        warmup_runs = int(flags.get("warmup_runs", DEFAULTS["warmup_runs"]))
        warmup_min_secs = float(flags.get("warmup_min_secs", DEFAULTS["warmup_min_secs"]))
        threads = int(flags.get("num_threads", DEFAULTS["num_threads"]))
    except ValueError as exc:
        err(f"ERROR: bad numeric flag: {exc}")
        err("ERROR: Benchmarking failed.")
        return 1
    fs = phone.fs
    path = fs.normalize(graph)
    rss0 = _rss_mb()
    t_init = time.perf_counter()
    if not fs.host(path).is_file():
        err(f"ERROR: Could not open '{graph}'.")
        err(f"ERROR: Failed to mmap model {graph}")
        err("ERROR: Benchmarking failed.")
        return 1
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    use_xnnpack = _bool(flags.get("use_xnnpack", "true"))
    try:
        interp = Interpreter(
            model_path=str(fs.host(path)),
            num_threads=threads if threads > 0 else None,
            experimental_op_resolver_type=OpResolverType.AUTO
            if use_xnnpack
            else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
    except (ValueError, RuntimeError):
        err("ERROR: The model is not a valid Flatbuffer buffer")
        err(f"ERROR: Failed to mmap model {graph}")
        err("ERROR: Benchmarking failed.")
        return 1
    out(f"INFO: Loaded model {graph}")
    err("INFO: Initialized TensorFlow Lite runtime.")
    if use_xnnpack:
        err("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.")
    if crash_marker or phone.profile.faults.crash_benchmark:
        io.err(b"Segmentation fault \n")
        return 139
    interp.allocate_tensors()
    n_nodes = len([op for op in interp._get_ops_details() if op["op_name"] != "DELEGATE"])
    for delegate, flag, kernel_name, mode in (
        ("GPU", "use_gpu", "TfLiteGpuDelegateV2", phone.profile.gpu),
        ("NNAPI", "use_nnapi", "TfLiteNnapiDelegate", phone.profile.nnapi),
    ):
        if not _bool(flags.get(flag, "false")):
            continue
        if mode == "unsupported":
            out(f"WARN: {delegate} acceleration is unsupported on this platform.")
            continue
        err(f"INFO: Created TensorFlow Lite delegate for {delegate}.")
        if delegate == "GPU":
            err("INFO: GPU delegate created.")
        if mode == "full":
            err(
                f"INFO: Replacing {n_nodes} out of {n_nodes} node(s) with delegate ({kernel_name}) node, yielding 1 "
                "partitions for the whole graph."
            )
            if delegate == "GPU":
                err("INFO: Initialized OpenCL-based API.")
                err("INFO: Created 1 GPU delegate kernels.")
            out(
                f"INFO: Explicitly applied {delegate} delegate, and the model graph will be completely executed by the "
                "delegate."
            )
        else:
            taken = max(1, int(n_nodes * phone.profile.gpu_partial_fraction))
            err(
                f"INFO: Replacing {taken} out of {n_nodes} node(s) with delegate ({kernel_name}) node, yielding 2 "
                "partitions for the whole graph."
            )
            out(
                f"INFO: Explicitly applied {delegate} delegate, and the model graph will be partially executed by the "
                "delegate w/ 2 delegate kernels."
            )
            if _bool(flags.get("require_full_delegation", "false")):
                err("ERROR: Disallowed CPU fallback detected.")
                err("ERROR: Benchmarking failed.")
                return 1
    out(f"INFO: The input model file size (MB): {os.path.getsize(fs.host(path)) / 1e6:g}")
    detail = interp.get_input_details()[0]
    feed = (np.random.default_rng(0).random(detail["shape"]) * (255 if detail["dtype"] != np.float32 else 1)).astype(
        detail["dtype"]
    )
    interp.set_tensor(detail["index"], feed)
    init_us = int((time.perf_counter() - t_init) * 1e6)
    rss_init = _rss_mb() - rss0
    out(f"INFO: Initialized session in {init_us / 1000:.3f}ms.")

    def timed_loop(min_runs: int, min_s: float) -> list[int] | None:
        samples: list[int] = []
        start = time.perf_counter()
        while (
            len(samples) < min_runs or time.perf_counter() - start < min_s
        ) and time.perf_counter() - start < max_secs:
            if cancel.is_set():
                return None
            t0 = time.perf_counter_ns()
            interp.invoke()
            samples.append(int((time.perf_counter_ns() - t0) / 1000))
        return samples

    def phase(min_runs: int, min_s: float) -> list[int] | None:
        """One of the tool's two phases (warm-up, then timed runs): announce, run, print the stat line."""
        out(
            f"INFO: Running benchmark for at least {min_runs} iterations and at least {min_s:g} seconds but terminate "
            f"if exceeding {max_secs:g} seconds."
        )
        samples = timed_loop(min_runs, min_s)
        if samples is not None:
            out(f"INFO: {format_stat(samples)}")
            out("")
        return samples

    phone.thermal.busy(True)
    try:
        if phone.profile.faults.hang_benchmark_s:
            end = time.monotonic() + phone.profile.faults.hang_benchmark_s
            while time.monotonic() < end:
                if cancel.wait(0.05):
                    return 143
        warm = phase(warmup_runs, warmup_min_secs)
        if warm is None:
            return 143
        if phone.profile.faults.disconnect_during_benchmark:
            phone.disconnect()
            return 255
        runs = phase(num_runs, min_secs)
        if runs is None:
            return 143
    finally:
        phone.thermal.busy(False)
    avg = float(np.mean(runs))
    out(
        f"INFO: Inference timings in us: Init: {init_us}, First inference: {warm[0]}, Warmup (avg): "
        f"{float(np.mean(warm)):g}, Inference (avg): {avg:g}"
    )
    out(
        "INFO: Note: as the benchmark tool itself affects memory footprint, the following is only APPROXIMATE to the "
        "actual memory footprint of the model at runtime. Take the information at your discretion."
    )
    overall = _rss_mb() - rss0
    out(f"INFO: Memory footprint delta from the start of the tool (MB): init={rss_init:g} overall={overall:g}")
    if _bool(flags.get("report_peak_memory_footprint", "false")):
        out(f"INFO: Overall peak memory footprint (MB) via periodic monitoring: {max(overall, rss_init) * 1.05:g}")
    if _bool(flags.get("enable_op_profiling", "false")):
        io.out(_profile_tables(interp, avg, len(runs)).encode())
    return 0
