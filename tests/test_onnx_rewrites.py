"""The exact ONNX rewrites made before onnx2tf (nearest upsampling -> copies + DepthToSpace)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper

from mobiledepth.convert.export_onnx import export_onnx
from mobiledepth.convert.onnx_rewrites import _same_outputs, nearest_to_depth_to_space, write_for_tflite


class Upsamplers(torch.nn.Module):
    """Three nearest upsamplings the rewrite must take (scale 2, scale 3, given by size) and two it must
    leave (bilinear, and a non-integer 1.5x)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)  # 8 x 12
        a = F.interpolate(y, scale_factor=2, mode="nearest")  # 16 x 24
        b = F.interpolate(y, size=(24, 36), mode="nearest")  # 3x, given by size
        c = F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)
        d = F.interpolate(a, scale_factor=1.5, mode="nearest")  # 24 x 36
        return torch.cat([F.interpolate(a, size=(24, 36), mode="bilinear") + b + d, F.interpolate(c, size=(24, 36))], 1)


def _run(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def test_integer_nearest_upsampling_becomes_depth_to_space(tmp_path):
    source = export_onnx(Upsamplers(), tmp_path / "up.onnx", 8, 12)
    result = write_for_tflite(source, tmp_path / "rewritten.onnx")
    rewritten = onnx.load(str(tmp_path / "rewritten.onnx"))
    blocks = [
        helper.get_attribute_value(a)
        for n in rewritten.graph.node
        if n.op_type == "DepthToSpace"
        for a in n.attribute
        if a.name == "blocksize"
    ]
    modes = [n.attribute for n in rewritten.graph.node if n.op_type == "Resize"]
    # scale 2 and the size-given 3x are rewritten; two bilinear and two 1.5x nearest Resize stay
    assert sorted(blocks) == [2, 3] and len(result.rewritten) == 2 and len(modes) == 4
    x = np.random.default_rng(1).random((1, 3, 8, 12), dtype=np.float32)
    np.testing.assert_array_equal(_run(source, x), _run(tmp_path / "rewritten.onnx", x))


def _resize_graph(coord: str, nearest: str) -> onnx.ModelProto:
    scales = helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, 2, 2])
    node = helper.make_node(
        "Resize",
        ["x", "", "scales"],
        ["y"],
        mode="nearest",
        coordinate_transformation_mode=coord,
        nearest_mode=nearest,
        name="up",
    )
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 6, 10])],
        [scales],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_only_replicating_coordinate_modes_are_rewritten():
    taken = {
        (c, n)
        for c in ("asymmetric", "half_pixel", "pytorch_half_pixel", "align_corners", "tf_half_pixel_for_nn")
        for n in ("floor", "ceil", "round_prefer_floor", "round_prefer_ceil")
        if nearest_to_depth_to_space(_resize_graph(c, n))
    }
    expected = {
        ("asymmetric", "floor"),
        ("asymmetric", "round_prefer_floor"),
        ("half_pixel", "round_prefer_floor"),
        ("half_pixel", "round_prefer_ceil"),
        ("pytorch_half_pixel", "round_prefer_floor"),
        ("pytorch_half_pixel", "round_prefer_ceil"),
    }
    assert taken == expected
    # every mode the table takes is exact in ONNX Runtime; two it leaves are shown not to be
    for coord, nearest in [*expected, ("half_pixel", "floor"), ("asymmetric", "ceil")]:
        forced = _force_rewrite(_resize_graph(coord, nearest))
        same = _same_outputs(_resize_graph(coord, nearest).SerializeToString(), forced.SerializeToString())
        assert same == ((coord, nearest) in expected), (coord, nearest)


def _force_rewrite(model: onnx.ModelProto) -> onnx.ModelProto:
    """The rewrite applied regardless of mode, to show the table above is the set where it is exact."""
    up = model.graph.node[0]
    copies = helper.make_node("Concat", ["x"] * 4, ["t"], axis=1)
    d2s = helper.make_node("DepthToSpace", ["t"], list(up.output), blocksize=2, mode="DCR")
    del model.graph.node[:]
    model.graph.node.extend([copies, d2s])
    return model
