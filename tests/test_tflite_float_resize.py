"""The int8 file's output resize runs in float: exactly a bilinear x2 of the dequantised int8 map."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from mobiledepth.api import convert
from mobiledepth.cli import app
from mobiledepth.conversion.options import ConvertOptions
from mobiledepth.conversion.tflite_float_resize import float_output_resize
from mobiledepth.errors import MobileDepthError


class Resized(torch.nn.Module):
    """Two convs to one channel at half the input size, then a bilinear x2 (half-pixel), as the network ends."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.a = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.b = torch.nn.Conv2d(8, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.b(torch.relu(self.a(x)))
        return torch.nn.functional.interpolate(y, scale_factor=2.0, mode="bilinear", align_corners=False)


def _interpreter(data: bytes):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    builtin = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES  # every op listed and every tensor readable
    interp = Interpreter(model_content=data, experimental_op_resolver_type=builtin,
                         experimental_preserve_all_tensors=True)  # fmt: skip
    interp.allocate_tensors()
    return interp


def _bilinear_x2(x: np.ndarray) -> np.ndarray:
    """Half-pixel bilinear x2 of an HxW map by hand: output o reads input (o + 0.5) / 2 - 0.5, edges clamped."""

    def weights(n: int) -> np.ndarray:
        src = np.clip((np.arange(2 * n) + 0.5) / 2 - 0.5, 0, n - 1)
        low = np.floor(src).astype(int)
        high, frac = np.minimum(low + 1, n - 1), src - low
        m = np.zeros((2 * n, n))
        np.add.at(m, (np.arange(2 * n), low), 1 - frac)
        np.add.at(m, (np.arange(2 * n), high), frac)
        return m

    return weights(x.shape[0]) @ x @ weights(x.shape[1]).T


@pytest.fixture(scope="module")
def all_integer(tmp_path_factory, synth_dir):
    options = ConvertOptions(precisions=("fp32", "int8"), size=(32, 32), calib=synth_dir, n_calib=8,
                             int8_output="int8", speed=False)  # fmt: skip
    report = convert(Resized(), tmp_path_factory.mktemp("resized"), options)
    return report, {f.precision: Path(f.path) for f in report.files if f.format == "tflite"}


def test_the_output_resize_moves_to_float_and_computes_the_same_map(all_integer):
    report, files = all_integer
    assert report.rewrites.float_resize == {}  # --int8-output int8: the file stays all-integer
    data = files["int8"].read_bytes()
    result = float_output_resize(data)
    assert len(result.moved) == 1
    before, after = _interpreter(data), _interpreter(result.data)
    ops = [op["op_name"] for op in after._get_ops_details()]
    assert ops[-2:] == ["DEQUANTIZE", "RESIZE_BILINEAR"] and Counter(ops) - Counter(
        op["op_name"] for op in before._get_ops_details()) == Counter({"DEQUANTIZE": 1})  # fmt: skip
    assert after.get_input_details()[0]["dtype"] == np.int8 and after.get_output_details()[0]["dtype"] == np.float32
    image = np.random.default_rng(0).random((1, 32, 32, 3))
    scale, zero = after.get_input_details()[0]["quantization"]
    for interp in (before, after):
        interp.set_tensor(interp.get_input_details()[0]["index"], np.round(image / scale + zero).astype(np.int8))
        interp.invoke()
    resize = after._get_ops_details()[-1]
    small = after.get_tensor(resize["inputs"][0])[0, :, :, 0]  # the dequantised int8 map the resize reads
    out = after.get_tensor(after.get_output_details()[0]["index"])[0, :, :, 0]
    np.testing.assert_allclose(out, _bilinear_x2(small), atol=1e-5)
    out_scale, out_zero = before.get_output_details()[0]["quantization"]
    rounded = before.get_tensor(before.get_output_details()[0]["index"])[0, :, :, 0].astype(np.float32) - out_zero
    assert np.abs(out - rounded * out_scale).max() <= 0.5 * out_scale + 1e-6  # the int8 resize only rounded it
    assert len(np.unique(out)) > len(np.unique(rounded))


def test_the_moved_file_stays_one_xnnpack_partition(all_integer):
    from ai_edge_litert.interpreter import Interpreter

    _, files = all_integer
    interp = Interpreter(model_content=float_output_resize(files["int8"].read_bytes()).data)  # XNNPACK by default
    interp.allocate_tensors()
    nodes = interp._interpreter
    delegates = [i for i in range(nodes.NumNodes()) if nodes.NodeName(i) == "DELEGATE"]
    assert len(delegates) == 1  # DEQUANTIZE and the float resize run inside it: it reads the input, writes the output
    assert list(nodes.NodeOutputs(delegates[0])) == list(nodes.OutputIndices())
    assert list(nodes.InputIndices())[0] in list(nodes.NodeInputs(delegates[0]))


def test_files_without_an_int8_output_resize_are_returned_unchanged(all_integer):
    _, files = all_integer
    data = files["fp32"].read_bytes()
    result = float_output_resize(data)  # a float resize: nothing to move
    assert result.moved == () and result.data is data


def test_an_unknown_int8_output_is_one_line(small_ckpt, tmp_path):
    line = "--int8-output: unknown int16; choose from float, int8"
    with pytest.raises(MobileDepthError) as err:
        ConvertOptions(int8_output="int16")
    assert str(err.value) == line
    result = CliRunner().invoke(app, ["convert", str(small_ckpt), "-o", str(tmp_path / "o"), "--int8-output", "int16"])
    assert result.exit_code == 1 and result.output.strip() == f"error: {line}"
    assert not (tmp_path / "o").exists()
