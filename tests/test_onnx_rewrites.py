"""The ONNX rewrites made before onnx2tf: nearest upsampling -> copies + DepthToSpace (bit-exact) and the input
normalisation folded into the first conv (exact up to float rounding order)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper

from mobiledepth.conversion.export_onnx import export_onnx
from mobiledepth.conversion.input_fold import fold_input_affine
from mobiledepth.conversion.onnx_rewrites import (
    _close,
    _outputs,
    _random_feeds,
    nearest_to_depth_to_space,
    write_for_tflite,
)


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
    assert sorted(blocks) == [2, 3] and len(result.applied["depth_to_space"]) == 2 and len(modes) == 4
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
        before = _resize_graph(coord, nearest).SerializeToString()
        forced = _force_rewrite(_resize_graph(coord, nearest)).SerializeToString()
        feeds = _random_feeds(before)  # the check write_for_tflite runs, at its bit-exact tolerance
        same = _close(_outputs(before, feeds), _outputs(forced, feeds), 0.0)
        assert same == ((coord, nearest) in expected), (coord, nearest)


def _force_rewrite(model: onnx.ModelProto) -> onnx.ModelProto:
    """The rewrite applied regardless of mode, to show the table above is the set where it is exact."""
    up = model.graph.node[0]
    copies = helper.make_node("Concat", ["x"] * 4, ["t"], axis=1)
    d2s = helper.make_node("DepthToSpace", ["t"], list(up.output), blocksize=2, mode="DCR")
    del model.graph.node[:]
    model.graph.node.extend([copies, d2s])
    return model


MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class Normalised(torch.nn.Module):
    """(x - mean) / std as Sub and Div, then a padded stride-2 stem; ``reuse`` also reads the normalised
    tensor elsewhere, which must stop the fold (the tensor would still be computed and rounded)."""

    def __init__(self, reuse: bool = False, stride: int = 2) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.stem = torch.nn.Conv2d(3, 8, 3, stride=stride, padding=1)
        self.head = torch.nn.Conv2d(8, 1, 1)
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1))
        self.reuse = reuse

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x - self.mean) / self.std
        y = self.head(torch.relu(self.stem(z)))
        return y + z[:, :1, ::2, ::2] if self.reuse else y


@pytest.mark.parametrize("stride", [2, 1])
def test_input_normalisation_folds_into_the_first_conv(tmp_path, stride):
    source = export_onnx(Normalised(stride=stride), tmp_path / "norm.onnx", 8, 12)
    result = write_for_tflite(source, tmp_path / "folded.onnx")
    folded = onnx.load(str(tmp_path / "folded.onnx"))
    assert len(result.applied["input_fold"]) == 2 and result.note == ""  # the Sub and the Div
    assert [n.op_type for n in folded.graph.node][:3] == ["Concat", "Concat", "Conv"]
    assert not {"Sub", "Div"} & {n.op_type for n in folded.graph.node}
    values = {t.name: onnx.numpy_helper.to_array(t) for t in folded.graph.initializer}
    strips = [values[name] for node in folded.graph.node[:2] for name in node.input if name in values]
    # the pixels pad with the value the normalised 0 stood for (the mean); stride 2 on 8 x 12 never reads the
    # bottom row or right column, so only the left column and the top row are added
    shapes = {(1, 3, 8, 1), (1, 3, 1, 13)} if stride == 2 else {(1, 3, 8, 1), (1, 3, 1, 14)}
    assert {s.shape for s in strips} == shapes and len(strips) == (2 if stride == 2 else 4)
    for strip in strips:
        np.testing.assert_allclose(strip[0, :, 0, 0], MEAN, rtol=1e-6)
        assert np.ptp(strip, axis=(2, 3)).max() == 0
    x = np.random.default_rng(1).random((1, 3, 8, 12), dtype=np.float32)
    np.testing.assert_allclose(_run(source, x), _run(tmp_path / "folded.onnx", x), rtol=0, atol=1e-5)


def test_fold_leaves_a_normalised_tensor_read_twice(tmp_path):
    source = export_onnx(Normalised(reuse=True), tmp_path / "reuse.onnx", 8, 12)
    assert fold_input_affine(onnx.load(str(source))) == ()
    result = write_for_tflite(source, tmp_path / "kept.onnx")
    assert "input_fold" not in result.applied
    assert {"Sub", "Div"} <= {n.op_type for n in onnx.load(str(tmp_path / "kept.onnx")).graph.node}


def test_only_per_channel_constants_count_as_normalisation():
    from mobiledepth.conversion.input_fold import _per_channel

    np.testing.assert_array_equal(_per_channel(np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1), 3), [1, 2, 3])
    np.testing.assert_array_equal(_per_channel(np.array([1.0, 2.0, 3.0]).reshape(3, 1, 1), 3), [1, 2, 3])
    np.testing.assert_array_equal(_per_channel(np.array(2.0), 3), [2, 2, 2])
    assert _per_channel(np.array([1.0, 2.0, 3.0]), 3) is None  # (3,) broadcasts along W, not C
    assert _per_channel(np.ones((3, 1)), 3) is None  # along H
    assert _per_channel(np.ones((1, 4, 1, 1)), 3) is None
