"""Real conversions: PyTorch -> ONNX -> onnx2tf -> LiteRT, on small inputs. These take ~30 s each."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from mobiledepth.api import convert
from mobiledepth.conversion.analyze import parse_analyzer_output
from mobiledepth.conversion.options import ConvertOptions
from mobiledepth.conversion.precisions import parse_precisions
from mobiledepth.conversion.view import convert_tables
from mobiledepth.errors import MobileDepthError
from mobiledepth.model import init_checkpoint
from mobiledepth.runtime import load_predictor

pytestmark = pytest.mark.slow


def by_precision(report, fmt="tflite"):
    return {f.precision: f for f in report.files if f.format == fmt}


def test_every_written_file_is_reported(small_converted):
    out, report = small_converted
    data = json.loads((out / "convert_report.json").read_text())
    written = sorted(p.name for p in out.iterdir() if p.suffix in (".onnx", ".tflite"))
    assert sorted(Path(f["path"]).name for f in data["files"]) == written
    assert written == [
        "small_64x96.onnx",
        "small_64x96_fp16.tflite",
        "small_64x96_fp32.tflite",
        "small_64x96_int8.tflite",
        "small_64x96_int8_dynamic.tflite",
    ]
    for f in data["files"]:
        assert f["size_bytes"] == (out / Path(f["path"]).name).stat().st_size
        assert f["parity"]["images"] == 3 and f["parity"]["ordering"]["pairs"] > 1000
        assert f["params"] == data["source"]["params"]
        assert f["input"]["height"] == 64 and f["input"]["width"] == 96 and f["outputs"]
        if f["format"] == "tflite":  # timed paired against the fp32 file on this host
            assert f["speed"]["baseline"] == "small_64x96_fp32.tflite" and f["speed"]["median_ms"] > 0
            assert (f["speed"]["ratio"] is None) == (f["precision"] == "fp32")
    assert data["input"]["height"] == 64 and data["input"]["width"] == 96
    assert data["tools"]["onnx2tf"] == "1.28.8"


def test_parity_bounds_per_precision(small_converted):
    _, report = small_converted
    onnx = by_precision(report, "onnx")["fp32"].parity.outputs[0]
    t = {k: f.parity.outputs[0] for k, f in by_precision(report).items()}
    files = by_precision(report)
    assert onnx.rel_l2 < 1e-5 and t["fp32"].rel_l2 < 1e-5
    assert onnx.max_abs_over_range < 1e-5 and t["fp32"].max_abs_over_range < 1e-5 and t["fp32"].snr_db > 90
    assert files["fp32"].parity.ordering.disagree < 1e-3
    assert 1e-6 < t["fp16"].rel_l2 < 5e-3  # fp16 weights: small but non-zero error
    assert t["int8-dynamic"].rel_l2 < 0.05
    assert t["int8"].rel_l2 < 0.2 and files["int8"].parity.ordering.disagree < 0.15
    assert 0 <= files["int8"].parity.ordering.ties < 0.1 and 0.9 < t["int8"].cosine < 1.0
    assert all(f.status == "ok" for f in report.files if f.precision != "int8")
    # 3 held-out scenes x 15 pairs: far too few pairs to check a 0.005 WHDR drop, so no "ok"
    int8 = files["int8"]
    assert int8.status == "unverified" and int8.gate.verdict == "unverified"
    assert int8.problem == "only 45 held-out pairs (need 1000) to check a WHDR drop of 0.005"
    assert int8.task.units == 45 and report.task.pairs == 45
    low, high = int8.task.interval  # over the 3 scenes: it brackets the measured drop
    assert low <= int8.task.drop <= high
    saved = json.loads((Path(int8.path).parent / "convert_report.json").read_text())
    assert [f["task"]["interval"] for f in saved["files"] if f["precision"] == "int8"] == [[low, high]]


def test_failed_gate_names_the_calibration_count(small_converted, small_ckpt, small_convert_options):
    """A failing int8 file's line says how many images calibrated it and the measured remedy (rejudged with a
    limit every file fails and a pair minimum the 45 pairs meet, on the real file of the shared conversion)."""
    from dataclasses import replace

    from mobiledepth.conversion.calibration import load_images
    from mobiledepth.conversion.data import select_data
    from mobiledepth.conversion.export import Exported
    from mobiledepth.conversion.sources import load_source
    from mobiledepth.conversion.verify import source_results, verify_file

    out, report = small_converted
    int8 = by_precision(report)["int8"]
    options = replace(small_convert_options, gate_limit=-1.0, min_gate_pairs=10)
    data, source, metric = select_data(options), load_source(small_ckpt, options.size), options.task_metric
    exported = Exported(out / "small_64x96.onnx", by_precision(report, "onnx")["fp32"].outputs, (0,), source.spec)
    src = source_results(source, exported, data, metric, list(load_images(list(data.parity_paths), 64, 96)))
    entry = verify_file(
        Path(int8.path), "tflite", "int8", src, exported, data, metric, "depth", 0, None, False, (10, 8)
    )
    assert entry.status == "failed"
    assert entry.problem == (
        f"int8 task WHDR {entry.task.value:.4f} is {entry.task.drop:+.4f} vs the source model on 45 held-out pairs "
        "(limit -1.0); it was calibrated on 12 images: try 128 like the ones it will see (--calib DIR --n-calib 128)"
    )


def test_int8_file_is_diagnosed_per_tensor(small_converted):
    _, report = small_converted
    diagnosis = report.int8_diagnosis
    assert diagnosis.images == 3 and len(diagnosis.tensors) > 40
    for t in diagnosis.tensors:
        assert t.scale > 0 and t.quant_min <= 0 <= t.quant_max and t.tensor and isinstance(t.zero_point, int)
        assert t.rmse >= 0 and t.steps == pytest.approx(t.rmse / t.scale) and 0 <= t.clipped <= 1
        assert t.relative >= 0
    # The input is calibrated to exactly [0, 1]: scale 1/255, zero point -128.
    int8 = load_predictor(Path(by_precision(report)["int8"].path))
    scale, zero = int8.input["quantization"]
    assert scale == pytest.approx(1 / 255) and zero == -128


def test_int8_file_feeds_pixels_to_the_first_conv(small_converted):
    """The normalisation is folded into the stem (input_fold.py): no normalised tensor is rounded. The only ops
    before the first conv concatenate the mean-pixel border strips, on the input's exact 1/255 grid."""
    from ai_edge_litert.interpreter import Interpreter

    _, report = small_converted
    assert report.rewrites.input_fold == ("/Conv",)
    interpreter = Interpreter(model_path=str(by_precision(report)["int8"].path))
    interpreter.allocate_tensors()  # applies the XNNPACK delegate
    ops, tensors = interpreter._get_ops_details(), interpreter.get_tensor_details()
    assert [op["op_name"] for op in ops[:3]] == ["CONCATENATION", "CONCATENATION", "CONV_2D"]
    padded = tensors[ops[1]["outputs"][0]]
    assert padded["quantization"][0] == pytest.approx(1 / 255) and padded["quantization"][1] == -128
    assert tuple(padded["shape"]) == (1, 65, 97, 3)  # top row and left column: the stride-2 stem reads no others
    assert sum(op["op_name"] == "DELEGATE" for op in ops) == 1  # XNNPACK still takes the whole graph
    assert "input normalisation folded into the first conv" in convert_tables(report)[0].caption


def test_quantised_io_and_layouts(small_converted):
    out, report = small_converted
    int8 = load_predictor(out / "small_64x96_int8.tflite")
    assert int8.input["dtype"] == np.int8 and int8.layout == "NHWC" and int8.input_hw == (64, 96)
    onnx = load_predictor(out / "small_64x96.onnx")
    assert onnx.layout == "NCHW" and onnx.input_hw == (64, 96)
    image = np.random.default_rng(0).random((64, 96, 3), dtype=np.float32)
    y = int8.predict(image)
    assert y.shape == (64, 96) and y.dtype == np.float32 and np.isfinite(y).all()
    # dequantised int8 output tracks the float file's output
    ref = load_predictor(out / "small_64x96_fp32.tflite").predict(image)
    assert np.corrcoef(ref.ravel(), y.ravel())[0, 1] > 0.9
    # by default the int8 file's final resize runs in float (tflite_float_resize.py): a float32 output
    assert int8.outputs[0]["dtype"] == np.float32 and report.rewrites.float_resize["int8"] == ("PartitionedCall:0",)
    contract = by_precision(report)["int8"].input  # the input contract: what an app must feed the file
    assert (contract.layout, contract.dtype, contract.height, contract.width) == ("NHWC", "int8", 64, 96)
    assert contract.quantization.scale == pytest.approx(1 / 255) and contract.quantization.zero_point == -128
    assert contract.describe() == "NHWC int8 1x64x96x3, RGB [0,1] -> round(v / 0.0039216) -128"
    assert "int8: the output's bilinear resize runs in float" in convert_tables(report)[0].caption


def test_op_histogram_and_gpu_analysis(small_converted):
    _, report = small_converted
    fp32 = by_precision(report)["fp32"].analysis
    assert fp32.ops["CONV_2D"] > 10 and fp32.ops["DEPTHWISE_CONV_2D"] > 10
    # five skip connections, four nearest upsamplings written as 4 copies + DepthToSpace (onnx_rewrites.py)
    # and the input's two mean-pixel border strips (input_fold.py)
    assert fp32.ops["CONCATENATION"] == 5 + 4 + 2 and fp32.ops["DEPTH_TO_SPACE"] == 4
    assert fp32.ops["RESIZE_BILINEAR"] == 1 and "RESIZE_NEAREST_NEIGHBOR" not in fp32.ops
    assert report.rewrites.depth_to_space == tuple(f"/decoder/stages.{i}/upsample/Resize" for i in range(4))
    caption = convert_tables(report)[0].caption  # the printed table says the files come from a rewritten graph
    assert caption.startswith("TFLite files: 4 nearest upsampling(s) written as DepthToSpace")
    assert fp32.gpu_compatible is True and fp32.gpu_incompatible == ()
    assert by_precision(report)["fp16"].analysis.ops.get("DEQUANTIZE", 0) > 0


def test_analyzer_parser_flags_incompatible_ops():
    text = (
        "Subgraph#0 main(T#0) -> [T#5]\n"
        "  Op#0 CONV_2D(T#0, T#1, T#2) -> [T#3]\n"
        "  Op#1 CUMSUM(T#3, T#4) -> [T#5]\n"
        "GPU COMPATIBILITY WARNING: Not supported op CUMSUM\n"
        "\nGPU COMPATIBILITY WARNING: Subgraph#0 has GPU delegate compatibility issues at nodes 1 with TFLite runtime "
        "version 2.21.0\n"
    )
    result = parse_analyzer_output(text)
    assert result.ops == {"CONV_2D": 1, "CUMSUM": 1}
    assert result.gpu_compatible is False
    assert [(o.index, o.op, o.reason) for o in result.gpu_incompatible] == [(1, "CUMSUM", "Not supported op CUMSUM")]


def test_base_model_square_fp32_fp16(tmp_path, synth_dir):
    ckpt = init_checkpoint("mobiledepth-base", tmp_path / "base.pt", seed=0)
    report = convert(
        ckpt,
        tmp_path / "out",
        ConvertOptions(precisions=("fp32", "fp16"), size=(64, 64), calib=synth_dir, parity_data=synth_dir, n_parity=2),
    )
    t = by_precision(report)
    assert set(t) == {"fp32", "fp16"}
    assert t["fp32"].parity.outputs[0].rel_l2 < 1e-5 and t["fp16"].parity.outputs[0].rel_l2 < 5e-3
    assert not list((tmp_path / "out").glob("*int8*"))


def test_onnxsim_passes_run_once_in_a_child_and_fold_constants(tmp_path, small_converted):
    """onnx2tf is run with --not_use_onnxsim after our three passes in one child process: they must simplify
    (a constant Mul folds into the Add's operand) and leave a line in the conversion's log."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from mobiledepth.conversion.onnx_simplify import simplify_in_place

    c1 = numpy_helper.from_array(np.full((1, 3), 2.0, np.float32), "c1")
    c2 = numpy_helper.from_array(np.full((1, 3), 3.0, np.float32), "c2")
    graph = helper.make_graph(
        [helper.make_node("Mul", ["c1", "c2"], ["k"]), helper.make_node("Add", ["x", "k"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], [c1, c2],
    )  # fmt: skip
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    assert simplify_in_place(path) == "onnxsim: 3 passes"
    folded = onnx.load(str(path)).graph
    assert [n.op_type for n in folded.node] == ["Add"]
    assert np.array_equal(numpy_helper.to_array(folded.initializer[0]), np.full((1, 3), 6.0, np.float32))
    assert not list(tmp_path.glob("*.simplified"))
    out, _ = small_converted
    assert "onnxsim: 3 passes" in (out / "onnx2tf.log").read_text()


def test_tools_fork_from_one_zygote_replaced_when_killed_and_ended_on_timeout(small_converted, tmp_path, monkeypatch):
    """The conversions of one process share one zygote (onnx2tf imported once) and write the same bytes; a
    zygote killed between conversions is replaced; a conversion past its deadline ends its child and the
    zygote, says so in one line, and leaves no scratch folder."""
    import os
    import shutil
    import signal
    import tempfile

    import onnx

    from mobiledepth.conversion import onnx2tf_process
    from mobiledepth.conversion.onnx2tf_runner import run_onnx2tf

    out, _ = small_converted
    path = out / "small_64x96.onnx"
    name = onnx.load(str(path)).graph.input[0].name
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def fp32_bytes() -> bytes:
        result = run_onnx2tf(path, None, name)
        data = result.files["fp32"].read_bytes()
        shutil.rmtree(result.workdir)
        return data

    first = fp32_bytes()
    zygote = onnx2tf_process._zygote.pid
    assert fp32_bytes() == first and onnx2tf_process._zygote.pid == zygote
    os.kill(zygote, signal.SIGKILL)
    onnx2tf_process._zygote.wait()
    assert fp32_bytes() == first and onnx2tf_process._zygote.pid != zygote
    replaced = onnx2tf_process._zygote.pid
    with pytest.raises(MobileDepthError, match=rf"^{re.escape(str(path))}: onnx2tf did not finish within 1 s$"):
        run_onnx2tf(path, None, name, timeout=1)
    assert onnx2tf_process._zygote is None and not Path(f"/proc/{replaced}").exists()
    assert not list(tmp_path.glob("mobiledepth-onnx2tf-*"))


def test_corrupt_tflite_and_wrong_shapes(small_converted, tmp_path):
    out, _ = small_converted
    bad = tmp_path / "corrupt.tflite"
    bad.write_bytes((out / "small_64x96_fp32.tflite").read_bytes()[:1000])
    with pytest.raises(MobileDepthError, match=r"corrupt\.tflite: not a valid TFLite model"):
        load_predictor(bad)
    from mobiledepth.modelinfo import describe_model

    with pytest.raises(MobileDepthError, match=r"corrupt\.tflite: not a valid TFLite model"):
        describe_model(bad)
    predictor = load_predictor(out / "small_64x96_fp32.tflite")
    with pytest.raises(
        MobileDepthError, match=r"small_64x96_fp32\.tflite: input has shape \(96, 64, 3\), expected 64x96x3"
    ):
        predictor.predict(np.zeros((96, 64, 3), np.float32))
    with pytest.raises(MobileDepthError, match=r"fixed input of 64x96, not 128x128"):
        load_predictor(out / "small_64x96_fp32.tflite", (128, 128))


def test_non_image_model_is_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 10])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "vector.onnx")
    with pytest.raises(MobileDepthError, match=r"vector\.onnx: input shape \[1, 10\] is not one RGB image"):
        load_predictor(tmp_path / "vector.onnx")


def test_parse_precisions():
    assert parse_precisions("fp32, INT8") == ("fp32", "int8")
    assert parse_precisions("int8-dynamic,fp32,fp32") == ("int8-dynamic", "fp32")
    with pytest.raises(MobileDepthError, match="unknown bf16"):
        parse_precisions("fp32,bf16")
