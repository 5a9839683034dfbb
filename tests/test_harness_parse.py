"""benchmark_model output parsing, on outputs in the real tool's formats (current and older builds)."""

from pathlib import Path

import pytest

from android_bench.parse import parse_benchmark_output, parse_stat
from phone_emulator.benchmark_tool import format_stat

FIX = Path(__file__).parent / "fixtures" / "benchmark_model"


def load(name):
    return (FIX / name).read_text()


def test_cpu_xnnpack_current_format():
    out = parse_benchmark_output(load("cpu_xnnpack.txt"), "cpu")
    assert (out.init_us, out.first_inference_us, out.warmup_avg_us, out.inference_avg_us) == (
        61213,
        71208,
        53811.4,
        53021.6,
    )
    r = out.runs
    assert (r.count, r.first, r.curr, r.min, r.max, r.avg, r.std, r.p5, r.median, r.p95) == (
        50,
        52644,
        53120,
        50874,
        58903,
        53021.6,
        1402,
        51102,
        52790,
        55874,
    )
    assert out.warmup.count == 19 and out.warmup.median == 52310
    assert (out.memory_init_mb, out.memory_overall_mb, out.peak_memory_mb) == (28.4375, 41.1914, 47.5508)
    assert out.model_size_mb == 10.4182
    assert not out.failed and out.delegation.applied


def test_gpu_fully_delegated():
    d = parse_benchmark_output(load("gpu_full.txt"), "gpu").delegation
    assert (d.applied, d.mode, d.delegated_nodes, d.total_nodes, d.partitions, d.coverage) == (
        True,
        "full",
        183,
        183,
        1,
        1.0,
    )


def test_gpu_partially_delegated_lists_unsupported_ops():
    out = parse_benchmark_output(load("gpu_partial.txt"), "gpu")
    d = out.delegation
    assert (d.applied, d.mode, d.kernels, d.delegated_nodes, d.total_nodes, d.partitions) == (
        True,
        "partial",
        2,
        71,
        75,
        3,
    )
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
        ("TfLiteXNNPackDelegate", 1, 4.79, 94.101),
        ("RESIZE_BILINEAR", 1, 0.3, 5.899),
    ]
    assert out.runs.count == 196  # the stat line of the runs, not the profiler's trailing 'Timings' line


def test_stat_line_variants_roundtrip_with_emulator_formatter():
    assert parse_stat("count=0").count == 0
    same = parse_stat(format_stat([1000, 1000, 1000]))
    assert (same.count, same.curr, same.min, same.max, same.std) == (3, 1000, 1000, 1000, 0.0)
    s = parse_stat(format_stat([300, 100, 200, 400]))
    assert (s.count, s.first, s.curr, s.min, s.max, s.avg, s.median) == (4, 300, 400, 100, 400, 250.0, 300)
    assert s.std == round(((150**2 + 50**2) * 2 / 4) ** 0.5)


# --- outputs quoted verbatim from public sources (each fixture names its source in its first lines) ----


def test_tf1_no_stats_line_is_the_inference_average():
    out = parse_benchmark_output(load("tf1_no_stats.txt"), "cpu")
    assert (out.warmup_avg_us, out.init_us, out.inference_avg_us) == (76605.9, 9933, 66767.6)
    assert out.warmup.count == 7 and out.runs.count == 15 and out.runs.avg == 66767.6
    assert out.runs.median is None and not out.failed  # TF 1.x printed no median: it stays missing


def test_output_that_stops_after_the_warmup_block_is_a_failed_run():
    out = parse_benchmark_output(load("warmup_only.txt"), "cpu")
    assert out.failed and out.runs is None and out.warmup.avg == 76605.9
    assert out.errors == ["the output ends after the warm-up block: no timed runs"]


def test_nnapi_accelerator_names_are_recorded():
    out = parse_benchmark_output(load("nnapi_accelerator_synap.txt"), "nnapi")
    d = out.delegation
    assert (d.applied, d.mode, d.delegated_nodes, d.total_nodes, d.partitions) == (True, "full", 31, 31, 1)
    assert d.accelerator == "synap-npu" and d.available_accelerators == ["synap-npu", "nnapi-reference"]
    assert out.warmup.count == 1 and out.warmup.curr == 637079  # 'count=1 curr=...' is the warm-up, not the result
    assert out.runs.count == 520 and out.runs.avg == 1885.74 and out.runs.median is None
    assert out.warnings == ["NNAPI SL driver did not implement SL_ANeuralNetworksDiagnostic_registerCallbacks!"]


def test_op_profile_without_start_column():
    from android_bench.parse import parse_run_order

    rows = parse_run_order(load("op_profiling_synap_no_start.txt"))
    assert [(r.node_type, r.avg_ms, r.percent, r.name) for r in rows] == [
        ("TfLiteNnapiDelegate", 4.011, 62.037, "[]:64"),
        ("RESIZE_NEAREST_NEIGHBOR", 0.058, 0.899, "[]:38"),
        ("TfLiteNnapiDelegate", 2.396, 37.064, "[]:65"),
    ]


def test_benchmark_apk_logcat_output():
    out = parse_benchmark_output(load("logcat_apk_xnnpack.txt"), "cpu")
    assert (out.init_us, out.first_inference_us, out.warmup_avg_us, out.inference_avg_us) == (
        92318,
        235158,
        211669,
        145528,
    )
    assert out.warmup.count == 3 and out.runs.count == 25 and out.runs.median == 141253
    assert (out.memory_init_mb, out.memory_overall_mb, out.model_size_mb) == (54.2852, 73.4102, 3.06409)
    assert not out.failed and not out.errors


def test_from_log_record_and_report(tmp_path):
    """`bench --from-log` turns saved outputs into records that `report` shows, mean labelled as such."""
    from typer.testing import CliRunner

    from mobiledepth.cli import app

    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "bench",
            "--from-log",
            str(FIX / "logcat_apk_xnnpack.txt"),
            "--from-log",
            str(FIX / "nnapi_accelerator_synap.txt"),
            "--device",
            "lab-phone",
            "--json",
            str(tmp_path / "logs.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    import json

    apk, synap = json.loads((tmp_path / "logs.json").read_text())
    assert apk["latency_ms"]["median"] == 141.253 and apk["timing"]["threads"] == 4
    assert apk["phone"]["log_format"] == "logcat" and apk["source"] == f"log: {FIX / 'logcat_apk_xnnpack.txt'}"
    assert apk["model"]["path"] == "/data/local/tmp/best_int8.tflite" and apk["device"]["name"] == "lab-phone"
    assert apk["device"]["serial"] is None and apk["device"]["emulated"] is False
    assert synap["delegate"] == "nnapi" and synap["status"] == "ok"
    assert synap["phone"]["delegation"]["available_accelerators"] == ["synap-npu", "nnapi-reference"]
    assert synap["latency_ms"]["median"] is None and synap["latency_ms"]["mean"] == 1.88574
    assert synap["latency_ms"]["central"] == "mean (the tool printed no median)"
    assert synap["fps"] == 1000 / 1.88574
    rows = runner.invoke(app, ["report", str(tmp_path / "logs.json"), "--json", str(tmp_path / "rows.json")])
    assert rows.exit_code == 0, rows.output
    by_model = {r["model"]: r for r in json.loads((tmp_path / "rows.json").read_text())}
    assert by_model["mobilenet_v1_0.25_224_quant"]["median_ms"] == 1.88574
    assert by_model["mobilenet_v1_0.25_224_quant"]["note"] == "mean: the tool printed no median"
    cut = runner.invoke(app, ["bench", "--from-log", str(FIX / "warmup_only.txt")])
    assert cut.exit_code == 1
    assert cut.output.strip() == (
        f"error: {FIX / 'warmup_only.txt'}: not a finished benchmark_model run "
        "(the output ends after the warm-up block: no timed runs)"
    )


def test_legacy_shell_exit_marker():
    from android_bench.shell import MARKER, legacy_command, split_marker

    assert legacy_command("getprop 'ro.x'") == f"getprop 'ro.x'; echo \"\n{MARKER}$?\""
    assert split_marker(f"SM-G991B\n\n{MARKER}0\n") == ("SM-G991B\n", 0)
    assert split_marker(f"no newline\n{MARKER}127\r\n") == ("no newline", 127)
    assert split_marker("cut off before the marker") == ("cut off before the marker", None)
