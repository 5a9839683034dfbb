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


def _op_times_ms(interp, avg_us: float) -> tuple[list[dict], dict, list[float]]:
    """The measured average split over the ops by estimated work (output size x MACs per output)."""
    ops = [op for op in interp._get_ops_details() if op["op_name"] != "DELEGATE"]
    tensors = {t["index"]: t for t in interp.get_tensor_details()}
    costs = []
    for op in ops:
        out = sum(int(np.prod(tensors[i]["shape"])) for i in op["outputs"] if i in tensors) or 1
        weight = 1
        conv = op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
        if conv and len(op["inputs"]) > 1 and op["inputs"][1] in tensors:
            shape = tensors[op["inputs"][1]]["shape"]
            # CONV_2D weights are [O, kh, kw, I]: kh*kw*I MACs per output; depthwise [1, kh, kw, C]: kh*kw
            if op["op_name"] == "DEPTHWISE_CONV_2D":
                weight = int(np.prod(shape[1:3]))
            else:
                weight = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        costs.append(out * weight)
    total = float(sum(costs)) or 1.0
    return ops, tensors, [avg_us / 1000.0 * c / total for c in costs]


PROFILE_HEAD = (
    "\t             [node type]\t          [start]\t  [first]\t [avg ms]\t     [%]\t  [cdf%]\t  [mem "
    "KB]\t[times called]\t[Name]"
)


def _row(op_name: str, start: float, t: float, pct: float, cdf: float, name: str) -> str:
    return (f"\t{op_name:>24}\t{start:>17.3f}\t{t:>9.3f}\t{t:>9.3f}\t{pct:>7.3f}%\t{cdf:>7.3f}%\t{0.0:>10.3f}\t"
            f"{1:>9}\t[{name}]")  # fmt: skip


def _profile_tables(interp, avg_us: float, runs: int) -> str:
    """The tool's op-profiling output: Run Order, Top by Computation Time, Summary by node type."""
    ops, tensors, ms = _op_times_ms(interp, avg_us)
    lines = ["Operator-wise Profiling Info for Regular Benchmark Runs:",
             "============================== Run Order ==============================", PROFILE_HEAD]  # fmt: skip
    start = cdf = 0.0
    rows = []
    for op, t in zip(ops, ms):
        pct = 100.0 * t / (sum(ms) or 1.0)
        cdf += pct
        name = tensors[op["outputs"][0]]["name"] if op["outputs"] and op["outputs"][0] in tensors else str(op["index"])
        rows.append((op["op_name"], start, t, pct, name))
        lines.append(_row(op["op_name"], start, t, pct, cdf, name) + f":{op['index']}")
        start += t
    lines += ["", "============================== Top by Computation Time ==============================", PROFILE_HEAD]
    cdf = 0.0
    for op_name, st, t, pct, name in sorted(rows, key=lambda r: -r[2])[:10]:
        cdf += pct
        lines.append(_row(op_name, st, t, pct, cdf, name))
    return "\n".join(lines + _summary_by_type(rows, ms, len(ops), avg_us, runs)) + "\n"


def _summary_by_type(rows: list[tuple], ms: list[float], n_ops: int, avg_us: float, runs: int) -> list[str]:
    lines = [
        "",
        f"Number of nodes executed: {n_ops}",
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
        lines.append(f"\t{op_name:>24}\t{len(times):>9}\t{sum(times):>10.3f}\t{pct:>10.3f}%\t{cdf:>10.3f}%\t"
                     f"{0.0:>10.3f}\t{len(times):>9}")  # fmt: skip
    return lines + ["", f"Timings (microseconds): count={runs} curr={int(avg_us)}", "Memory (bytes): count=0",
                    f"{n_ops} nodes observed", ""]  # fmt: skip


BOOL_FLAGS = (
    "enable_op_profiling",
    "report_peak_memory_footprint",
    "use_gpu",
    "gpu_precision_loss_allowed",
    "use_nnapi",
    "use_xnnpack",
    "require_full_delegation",
)


MEMORY_NOTE = (
    "INFO: Note: as the benchmark tool itself affects memory footprint, the following is only APPROXIMATE to the "
    "actual memory footprint of the model at runtime. Take the information at your discretion."
)


class _Failed(Exception):
    """The tool stops with this exit status (its error lines are already printed)."""

    def __init__(self, status: int) -> None:
        self.status = status


def run_benchmark_model(argv: list[str], phone, io, cancel, crash_marker: bool = False) -> int:
    """One emulated ``benchmark_model`` process: the exit status; output goes to ``io``."""
    run = _BenchmarkRun(phone, io, cancel)
    try:
        run.parse(argv)
        run.load(crash_marker)
        run.delegates()
        warm, runs = run.phases()
        run.summary(warm, runs)
    except _Failed as failed:
        return failed.status
    return 0


class _BenchmarkRun:
    """The tool's phases in the real tool's order: flags, model load, delegates, warm-up + timed runs, summary."""

    def __init__(self, phone, io, cancel) -> None:
        self.phone, self.io, self.cancel = phone, io, cancel
        self.flags: dict[str, str] = {}

    def out(self, s: str) -> None:
        self.io.out((s + "\n").encode())

    def err(self, s: str) -> None:
        self.io.err((s + "\n").encode())

    def fail(self, *lines: str, status: int = 1) -> _Failed:
        for line in (*lines, "ERROR: Benchmarking failed."):
            self.err(line)
        return _Failed(status)

    def flag(self, name: str, default: str = "false") -> bool:
        return _bool(self.flags.get(name, default))

    def parse(self, argv: list[str]) -> None:
        """``--name=value`` flags the tool knows; the rest is reported as unconsumed, as the tool does."""
        known = {k for k, _ in PARAM_LABELS}
        unknown = []
        for a in argv[1:]:
            k, _, v = a[2:].partition("=") if a.startswith("--") and "=" in a else ("", "", "")
            (self.flags.__setitem__(k, v) if k in known else unknown.append(a))
        self.out("INFO: STARTING!")
        if unknown:
            self.out(f"WARN: Unconsumed cmdline flags: {' '.join(unknown)}")
        self.out("INFO: Log parameter values verbosely: [0]")
        for k, label in PARAM_LABELS:
            if k in self.flags:
                v = self.flags[k]
                self.out(f"INFO: {label}: [{('1' if _bool(v) else '0') if k in BOOL_FLAGS else v}]")
        if not self.flags.get("graph"):
            raise self.fail("ERROR: Please specify the name of your TF Lite input file with --graph")
        try:
            self.num_runs = int(self.flags.get("num_runs", DEFAULTS["num_runs"]))
            self.min_secs = float(self.flags.get("min_secs", DEFAULTS["min_secs"]))
            self.max_secs = float(self.flags.get("max_secs", DEFAULTS["max_secs"]))
            self.warmup_runs = int(self.flags.get("warmup_runs", DEFAULTS["warmup_runs"]))
            self.warmup_min_secs = float(self.flags.get("warmup_min_secs", DEFAULTS["warmup_min_secs"]))
            self.threads = int(self.flags.get("num_threads", DEFAULTS["num_threads"]))
        except ValueError as exc:
            raise self.fail(f"ERROR: bad numeric flag: {exc}") from None

    def load(self, crash_marker: bool) -> None:
        """The model through LiteRT (XNNPACK unless --use_xnnpack=false), allocated and fed."""
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        graph, fs = self.flags["graph"], self.phone.fs
        self.host_path = fs.host(fs.normalize(graph))
        self.rss0, t_init = _rss_mb(), time.perf_counter()
        if not self.host_path.is_file():
            raise self.fail(f"ERROR: Could not open '{graph}'.", f"ERROR: Failed to mmap model {graph}")
        use_xnnpack = self.flag("use_xnnpack", "true")
        resolver = OpResolverType.AUTO if use_xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        try:
            self.interp = Interpreter(model_path=str(self.host_path), num_threads=self.threads if self.threads > 0
                                      else None, experimental_op_resolver_type=resolver)  # fmt: skip
        except (ValueError, RuntimeError):
            raise self.fail("ERROR: The model is not a valid Flatbuffer buffer", f"ERROR: Failed to mmap model {graph}")
        self.out(f"INFO: Loaded model {graph}")
        self.err("INFO: Initialized TensorFlow Lite runtime.")
        if use_xnnpack:
            self.err("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.")
        if crash_marker or self.phone.profile.faults.crash_benchmark:
            self.io.err(b"Segmentation fault \n")
            raise _Failed(139)
        self.interp.allocate_tensors()
        self.t_init = t_init

    def delegates(self) -> None:
        """GPU / NNAPI messages as the phone's profile says: unsupported, full or partial delegation."""
        n_nodes = len([op for op in self.interp._get_ops_details() if op["op_name"] != "DELEGATE"])
        for delegate, flag, kernel_name, mode in (
            ("GPU", "use_gpu", "TfLiteGpuDelegateV2", self.phone.profile.gpu),
            ("NNAPI", "use_nnapi", "TfLiteNnapiDelegate", self.phone.profile.nnapi),
        ):
            if not self.flag(flag):
                continue
            if mode == "unsupported":
                self.out(f"WARN: {delegate} acceleration is unsupported on this platform.")
                continue
            self.err(f"INFO: Created TensorFlow Lite delegate for {delegate}.")
            if delegate == "GPU":
                self.err("INFO: GPU delegate created.")
            if mode == "full":
                self._full(delegate, kernel_name, n_nodes)
            else:
                self._partial(delegate, kernel_name, n_nodes)
        self._feed()

    def _full(self, delegate: str, kernel_name: str, n_nodes: int) -> None:
        self.err(f"INFO: Replacing {n_nodes} out of {n_nodes} node(s) with delegate ({kernel_name}) node, yielding 1 "
                 "partitions for the whole graph.")  # fmt: skip
        if delegate == "GPU":
            self.err("INFO: Initialized OpenCL-based API.")
            self.err("INFO: Created 1 GPU delegate kernels.")
        self.out(f"INFO: Explicitly applied {delegate} delegate, and the model graph will be completely executed by "
                 "the delegate.")  # fmt: skip

    def _partial(self, delegate: str, kernel_name: str, n_nodes: int) -> None:
        taken = max(1, int(n_nodes * self.phone.profile.gpu_partial_fraction))
        self.err(f"INFO: Replacing {taken} out of {n_nodes} node(s) with delegate ({kernel_name}) node, yielding 2 "
                 "partitions for the whole graph.")  # fmt: skip
        self.out(f"INFO: Explicitly applied {delegate} delegate, and the model graph will be partially executed by "
                 "the delegate w/ 2 delegate kernels.")  # fmt: skip
        if self.flag("require_full_delegation"):
            raise self.fail("ERROR: Disallowed CPU fallback detected.")

    def _feed(self) -> None:
        self.out(f"INFO: The input model file size (MB): {os.path.getsize(self.host_path) / 1e6:g}")
        detail = self.interp.get_input_details()[0]
        scale = 255 if detail["dtype"] != np.float32 else 1
        feed = (np.random.default_rng(0).random(detail["shape"]) * scale).astype(detail["dtype"])
        self.interp.set_tensor(detail["index"], feed)
        self.init_us = int((time.perf_counter() - self.t_init) * 1e6)
        self.rss_init = _rss_mb() - self.rss0
        self.out(f"INFO: Initialized session in {self.init_us / 1000:.3f}ms.")

    def _timed_loop(self, min_runs: int, min_s: float) -> list[int]:
        samples: list[int] = []
        start = time.perf_counter()
        while (len(samples) < min_runs or time.perf_counter() - start < min_s) and (
            time.perf_counter() - start < self.max_secs
        ):
            if self.cancel.is_set():
                raise _Failed(143)
            t0 = time.perf_counter_ns()
            if self.phone.profile.fixed_latency_ms > 0:
                time.sleep(self.phone.profile.fixed_latency_ms / 1000)
            else:
                self.interp.invoke()
            samples.append(int((time.perf_counter_ns() - t0) / 1000))
        return samples

    def _phase(self, min_runs: int, min_s: float) -> list[int]:
        """One of the tool's two phases (warm-up, then timed runs): announce, run, print the stat line."""
        self.out(f"INFO: Running benchmark for at least {min_runs} iterations and at least {min_s:g} seconds but "
                 f"terminate if exceeding {self.max_secs:g} seconds.")  # fmt: skip
        samples = self._timed_loop(min_runs, min_s)
        self.out(f"INFO: {format_stat(samples)}")
        self.out("")
        return samples

    def phases(self) -> tuple[list[int], list[int]]:
        """Warm-up then timed runs, the phone marked busy (it heats); faults from the phone's profile."""
        faults = self.phone.profile.faults
        self.phone.thermal.busy(True)
        try:
            if faults.hang_benchmark_s:
                end = time.monotonic() + faults.hang_benchmark_s
                while time.monotonic() < end:
                    if self.cancel.wait(0.05):
                        raise _Failed(143)
            warm = self._phase(self.warmup_runs, self.warmup_min_secs)
            if faults.disconnect_during_benchmark:
                self.phone.disconnect()
                raise _Failed(255)
            return warm, self._phase(self.num_runs, self.min_secs)
        finally:
            self.phone.thermal.busy(False)

    def summary(self, warm: list[int], runs: list[int]) -> None:
        avg = float(np.mean(runs))
        self.out(f"INFO: Inference timings in us: Init: {self.init_us}, First inference: {warm[0]}, Warmup (avg): "
                 f"{float(np.mean(warm)):g}, Inference (avg): {avg:g}")  # fmt: skip
        self.out(MEMORY_NOTE)
        overall = _rss_mb() - self.rss0
        self.out(f"INFO: Memory footprint delta from the start of the tool (MB): init={self.rss_init:g} "
                 f"overall={overall:g}")  # fmt: skip
        if self.flag("report_peak_memory_footprint"):
            self.out(f"INFO: Overall peak memory footprint (MB) via periodic monitoring: "
                     f"{max(overall, self.rss_init) * 1.05:g}")  # fmt: skip
        if self.flag("enable_op_profiling"):
            self.io.out(_profile_tables(self.interp, avg, len(runs)).encode())
