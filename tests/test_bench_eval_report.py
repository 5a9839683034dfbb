"""Host benchmark, evaluation and the joined report, on the real converted files."""

import csv
import io
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from mobiledepth.api import bench, evaluate
from mobiledepth.benchmark.request import BenchRequest
from mobiledepth.cli import app
from mobiledepth.codec import decode, encode
from mobiledepth.data.diw import read_diw_csv
from mobiledepth.data.images import load_rgb, resize_rgb
from mobiledepth.evaluation import EvalOptions
from mobiledepth.metrics import WHDRCount, whdr_for_image
from mobiledepth.records import BenchRecord, EvalRecord, load_records
from mobiledepth.reporting.plot import pareto_front
from mobiledepth.reporting.table import build_rows, to_csv, to_markdown
from mobiledepth.runtime import load_predictor
from mobiledepth.timing import Timing


def bench_one(path, **timing) -> BenchRecord:
    [record] = bench(BenchRequest((path,), timing=Timing(**timing))).records
    return record


pytestmark = pytest.mark.slow


def test_host_bench_record(small_converted):
    out, _ = small_converted
    typed = bench_one(out / "small_64x96_int8.tflite", threads=1, warmup_runs=2, runs=7)
    record = encode(typed)
    assert decode(BenchRecord, json.loads(json.dumps(record))) == typed  # the JSON form reads back to the same record
    assert typed.status == "ok" and typed.central_ms == record["latency_ms"]["median"]
    lat = record["latency_ms"]
    assert record["record"] == "bench" and record["device"]["name"] == "host" and record["delegate"] == "xnnpack"
    assert record["model"]["precision"] == "int8" and record["model"]["params"] > 0  # from convert_report.json
    assert len(lat["samples"]) == lat["count"] == 7
    assert lat["median"] == pytest.approx(float(np.median(lat["samples"])))
    assert lat["p90"] == pytest.approx(float(np.percentile(lat["samples"], 90)))
    assert record["fps"] == pytest.approx(1000 / lat["median"])
    assert record["host"]["warmup_runs_done"] == 2 and record["timing"]["threads"] == 1
    assert record["host"]["input_hw"] == [64, 96]
    assert 0 < record["memory"]["peak_mb"] < 2000 and record["first_inference_ms"] > 0


def test_bench_checkpoint_and_onnx_paths(small_converted, small_ckpt):
    out, _ = small_converted
    onnx = bench_one(out / "small_64x96.onnx", runs=3, warmup_runs=1)
    [torch_rec] = bench(BenchRequest((small_ckpt,), timing=Timing(runs=3, warmup_runs=1), size=(64, 64))).records
    assert onnx.delegate == "onnxruntime-cpu" and torch_rec.delegate == "pytorch-cpu"
    assert torch_rec.host.input_hw == (64, 64) and torch_rec.model.format == "pytorch"


def test_eval_whdr_matches_hand_count_and_tflite_matches_torch(small_converted, small_ckpt, synth_dir):
    out, _ = small_converted
    tfl = out / "small_64x96_fp32.tflite"
    record = evaluate(tfl, synth_dir)
    # recount by hand with the same predictor
    predictor = load_predictor(tfl)
    count = WHDRCount()
    for entry in read_diw_csv(synth_dir / "DIW_test.csv"):
        pred = predictor.predict(resize_rgb(load_rgb(entry.path), 64, 96))
        count.add(whdr_for_image(pred, entry.width, entry.height, entry.pairs))
    assert record.whdr == pytest.approx(count.whdr) and record.dataset.pairs == count.total == 3 * 15
    assert record.dense.images == 3 and 0 <= record.dense.delta1 <= 1
    assert decode(EvalRecord, json.loads(json.dumps(encode(record)))) == record  # the JSON form reads back the same
    torch_record = evaluate(small_ckpt, synth_dir, EvalOptions(size=(64, 96)))
    assert torch_record.whdr == record.whdr  # fp32 file orders every annotated pair as PyTorch does
    flipped = evaluate(tfl, synth_dir, EvalOptions(disparity=True))
    assert flipped.whdr == pytest.approx(1 - record.whdr)  # no ties on real-valued outputs


def test_report_joins_records(small_converted, tmp_path):
    out, report = small_converted
    int8 = out / "small_64x96_int8.tflite"
    fp16 = out / "small_64x96_fp16.tflite"
    bench = encode(bench_one(int8, runs=3, warmup_runs=1))
    dataset = {"csv": "DIW_test.csv", "images": 1, "pairs": 4}
    ev_int8 = {"record": "eval", "model": bench["model"], "whdr": 0.25, "dataset": dataset, "wrong_pairs": 1,
               "input_hw": [64, 96]}  # fmt: skip
    ev_fp16_model = dict(
        bench["model"],
        sha256=next(f.sha256 for f in report.files if f.precision == "fp16"),
        path=str(fp16),
        size_bytes=fp16.stat().st_size,
    )
    ev_fp16 = {**ev_int8, "model": ev_fp16_model, "whdr": 0.125}
    (tmp_path / "b.json").write_text(json.dumps(bench))
    (tmp_path / "e.json").write_text(json.dumps([ev_int8, ev_fp16]))
    records = load_records([tmp_path / "b.json", tmp_path / "e.json", out / "convert_report.json"])
    rows = build_rows(records)
    assert len(rows) == 2
    timed, untimed = rows
    assert (timed.precision, timed.whdr, timed.device, timed.delegate) == ("int8", 0.25, "host", "xnnpack")
    assert timed.median_ms == bench["latency_ms"]["median"] and timed.fps == pytest.approx(1000 / timed.median_ms)
    int8_drop = next(f.task.drop for f in report.files if f.precision == "int8")
    assert timed.params == report.source.params
    assert timed.note == f"untrained, convert gate unverified (whdr {int8_drop:+.4f})"  # 45 held-out pairs: no verdict
    assert (untimed.precision, untimed.whdr, untimed.median_ms) == ("fp16", 0.125, None)
    parsed = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert parsed[0]["whdr"] == "0.25" and parsed[1]["median_ms"] == ""
    md = to_markdown(rows).splitlines()
    assert md[0].startswith("| Model | File | Precision | Params | Size MB | WHDR |") and "| 0.2500 |" in md[2]
    assert timed.file == "small_64x96_int8.tflite" and timed.label == "small_64x96_int8.tflite xnnpack"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "report",
            str(tmp_path / "b.json"),
            str(tmp_path / "e.json"),
            str(out / "convert_report.json"),
            "--plot",
            str(tmp_path / "r.png"),
            "--md",
            str(tmp_path / "r.md"),
            "--json",
            str(tmp_path / "r.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((tmp_path / "r.json").read_text())[0]["whdr"] == 0.25


def test_pareto_front():
    #        A: fast+bad  B: dominated by C  C: mid  D: slow+best  E: same speed as A, worse
    pts = [(10, 0.30), (20, 0.29), (15, 0.20), (40, 0.10), (10, 0.35)]
    assert pareto_front(pts) == [0, 2, 3]


def test_cli_errors_are_one_line(tmp_path, synth_dir):
    runner = CliRunner()
    bad_csv = tmp_path / "DIW_test.csv"
    bad_csv.write_text("./nope.png\n1,2,3,4,>,10,10\n")
    ckpt = tmp_path / "m.pt"
    assert runner.invoke(app, ["init", "mobiledepth-small", "-o", str(ckpt)]).exit_code == 0
    result = runner.invoke(app, ["eval", str(ckpt), "--data", str(bad_csv), "--json", str(tmp_path / "out.json")])
    assert result.exit_code == 1
    assert "DIW_test.csv:1: image not found" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out.json").exists()  # nothing half-written
    result = runner.invoke(app, ["report", str(bad_csv)])
    assert result.exit_code == 1 and "DIW_test.csv: not a JSON result file" in result.output
    result = runner.invoke(app, ["bench", str(tmp_path / "model.bin")])
    assert result.exit_code == 1 and "model.bin: unknown model type '.bin'" in result.output
    result = runner.invoke(app, ["convert", str(ckpt), "-o", str(tmp_path / "c"), "--size", "65x64"])
    assert result.exit_code == 1 and "multiples of 32" in result.output


def test_host_paired_table_names_its_threads(small_converted):
    """The demo prints the fp32/int8 ratio at 2 threads and at 1; each table must say which it is."""
    from mobiledepth.reporting.terminal import paired_table

    out, _ = small_converted
    files = (out / "small_64x96_fp32.tflite", out / "small_64x96_int8.tflite")
    records = bench(BenchRequest(files, paired=True, timing=Timing(threads=1, rounds=3, runs=2))).records
    assert [r.threads for r in records] == [1, 1]
    assert len(records[1].paired.round_medians_ms) == 3
    assert str(paired_table(records).title) == (
        "Paired benchmark: 3 interleaved rounds x 2 runs, 1 thread(s); ratio = file / small_64x96_fp32.tflite, "
        "per-round, 95% bootstrap interval"
    )


def test_speedup_inverts_a_latency_ratio_and_swaps_its_interval():
    from mobiledepth.records import Interval

    # int8 / fp32 latency 0.5 with interval 0.4-0.625: int8 is 2x as fast, 1.6x at worst (0.625), 2.5x at best
    s = Interval(0.5, 0.4, 0.625).speedup()
    assert (s.median, s.low, s.high) == (2.0, 1.6, 2.5)
