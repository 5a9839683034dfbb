"""benchmark_model output parsing, on outputs in the real tool's formats (current and older builds)."""

from pathlib import Path

import pytest

from android_bench.emulator.benchmark_tool import format_stat
from android_bench.parse import parse_benchmark_output, parse_stat

FIX = Path(__file__).parent / "fixtures" / "benchmark_model"


def load(name):
    return (FIX / name).read_text()


def test_cpu_xnnpack_current_format():
    out = parse_benchmark_output(load("cpu_xnnpack.txt"), "cpu")
    assert (out.init_us, out.first_inference_us, out.warmup_avg_us, out.inference_avg_us) == (61213, 71208, 53811.4, 53021.6)
    r = out.runs
    assert (r.count, r.first, r.curr, r.min, r.max, r.avg, r.std, r.p5, r.median, r.p95) == (50, 52644, 53120, 50874, 58903, 53021.6, 1402, 51102, 52790, 55874)
    assert out.warmup.count == 19 and out.warmup.median == 52310
    assert (out.memory_init_mb, out.memory_overall_mb, out.peak_memory_mb) == (28.4375, 41.1914, 47.5508)
    assert out.model_size_mb == 10.4182
    assert not out.failed and out.delegation.applied


def test_gpu_fully_delegated():
    d = parse_benchmark_output(load("gpu_full.txt"), "gpu").delegation
    assert (d.applied, d.mode, d.delegated_nodes, d.total_nodes, d.partitions, d.coverage) == (True, "full", 183, 183, 1, 1.0)


def test_gpu_partially_delegated_lists_unsupported_ops():
    out = parse_benchmark_output(load("gpu_partial.txt"), "gpu")
    d = out.delegation
    assert (d.applied, d.mode, d.kernels, d.delegated_nodes, d.total_nodes, d.partitions) == (True, "partial", 2, 71, 75, 3)
    assert d.coverage == pytest.approx(71 / 75)
    assert d.unsupported_ops == ["CUMSUM: Operation is not supported.", "GATHER_ND: Operation is not supported."]
    assert not out.failed and out.runs.median == 44711


def test_gpu_unsupported_platform_is_not_gpu_numbers():
    out = parse_benchmark_output(load("gpu_unsupported.txt"), "gpu")
    assert out.runs.median == 55050 and not out.failed  # the tool exits 0 and measures ...
    assert out.delegation.applied is False and out.delegation.mode == "none"  # ... the CPU
    assert out.delegation.reason == "GPU acceleration is unsupported on this platform."
    assert out.warnings == ["GPU acceleration is unsupported on this platform."]


def test_nnapi_older_format_without_prefixes():
    out = parse_benchmark_output(load("nnapi_old.txt"), "nnapi")
    assert out.delegation.applied and out.delegation.mode == "full"
    assert out.runs.avg == 20651.2 and out.runs.median is None and out.runs.std == 712
    assert (out.memory_init_mb, out.memory_overall_mb) == (12.5, 19.75)


def test_old_average_line_and_delegate_not_executed():
    out = parse_benchmark_output(load("old_average_format.txt"), "gpu")
    assert (out.warmup_avg_us, out.init_us, out.inference_avg_us) == (130565, 870557, 119375)
    assert out.warmup.count == 1 and out.warmup.curr == 130565 and out.warmup.avg == 130565
    assert not out.delegation.applied and "will not be executed" in out.delegation.reason


def test_failed_runs():
    out = parse_benchmark_output(load("failed_model.txt"), "cpu")
    assert out.failed and out.runs is None
    assert out.errors[0] == "The model is not a valid Flatbuffer buffer"
    nn = parse_benchmark_output(load("nnapi_disallowed_fallback.txt"), "nnapi")
    assert nn.failed and nn.delegation.mode == "partial" and nn.delegation.reason == "Disallowed CPU fallback detected."
    assert (nn.delegation.delegated_nodes, nn.delegation.total_nodes) == (140, 183)


def test_op_profile_summary_of_regular_runs_only():
    out = parse_benchmark_output(load("op_profiling.txt"), "cpu")
    assert [(o.node_type, o.count, o.avg_ms, o.percent) for o in out.op_profile] == [
        ("TfLiteXNNPackDelegate", 1, 4.79, 94.101), ("RESIZE_BILINEAR", 1, 0.3, 5.899)]
    assert out.runs.count == 196  # the stat line of the runs, not the profiler's trailing 'Timings' line


def test_stat_line_variants_roundtrip_with_emulator_formatter():
    assert parse_stat("count=0").count == 0
    same = parse_stat(format_stat([1000, 1000, 1000]))
    assert (same.count, same.curr, same.min, same.max, same.std) == (3, 1000, 1000, 1000, 0.0)
    s = parse_stat(format_stat([300, 100, 200, 400]))
    assert (s.count, s.first, s.curr, s.min, s.max, s.avg, s.median) == (4, 300, 400, 100, 400, 250.0, 300)
    assert s.std == round(((150**2 + 50**2) * 2 / 4) ** 0.5)
