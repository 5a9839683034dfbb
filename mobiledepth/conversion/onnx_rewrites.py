"""Exact graph rewrites applied to the ONNX copy that onnx2tf converts (the written ``.onnx`` is untouched).

Why: TFLite's XNNPACK delegate does not take RESIZE_NEAREST_NEIGHBOR, so every nearest upsampling in a
decoder splits the graph into delegate partitions with a single-threaded builtin kernel in between (the
base model's int8 file ran as 11 partitions). An integer nearest upsampling by ``s`` is pixel
replication, which is exactly ``DepthToSpace(s, DCR)`` of the input concatenated ``s*s`` times along
channels: two ops XNNPACK runs (fp32 and int8, one scale for every concat input), so the file stays
in one delegate partition more. Measured on the base model at 256x256 (paired, 20 rounds): fp32 0.968x
and int8 0.957x the latency of the unrewritten files, outputs bit-identical.

The second rewrite folds the input normalisation into the first conv (``input_fold.py``: the int8 file
then never rounds a normalised tensor).

Each rewrite is checked before it is kept: ONNX Runtime runs the graph before and after it on the same
random input and the outputs must be identical (the fold: equal up to float rounding order), else the
graph before it is converted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .input_fold import fold_input_affine
from .onnx_graph import attribute, constants, data_inputs, drop_unused_constants, static_dims

MAX_REPLICATION = 4  # s*s copies of the tensor are concatenated: beyond 4x4 the copy costs more than it saves
# coordinate_transformation_mode -> nearest_mode values for which output pixel s*k + j reads input pixel k
_REPLICATING = {
    "asymmetric": {"floor", "round_prefer_floor"},
    "half_pixel": {"round_prefer_floor", "round_prefer_ceil"},
    "pytorch_half_pixel": {"round_prefer_floor", "round_prefer_ceil"},
}


@dataclass(frozen=True)
class RewriteResult:
    applied: dict[str, tuple[str, ...]]  # rewrite -> node names replaced, e.g. '/decoder/stages.0/upsample/Resize'
    note: str = ""  # why a rewrite with a candidate was not kept


def _replication_factor(node, values: dict[str, np.ndarray], shapes: dict[str, list[int]]) -> int:
    """``s`` when this Resize is a nearest 2-D upsampling by the integer ``s`` on both axes, else 0."""
    if node.op_type != "Resize" or attribute(node, "mode", "nearest") != "nearest":
        return 0
    coord = attribute(node, "coordinate_transformation_mode", "half_pixel")
    if attribute(node, "nearest_mode", "round_prefer_floor") not in _REPLICATING.get(coord, ()):
        return 0
    scales = values.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if scales is None or scales.size == 0:  # given by 'sizes', often computed from Shape: compare static shapes
        before, after = shapes.get(node.input[0]), shapes.get(node.output[0])
        if not before or not after or len(before) != len(after) or min(before + after) <= 0:
            return 0
        scales = np.asarray(after, np.float64) / np.asarray(before, np.float64)
    if scales is None or scales.shape != (4,) or not np.all(scales[:2] == 1) or scales[2] != scales[3]:
        return 0
    s = float(scales[2])
    return int(s) if s.is_integer() and 2 <= s <= MAX_REPLICATION else 0


def _static_shapes(model) -> dict[str, list[int]]:
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # shapes are only needed for a Resize given by 'sizes'
        return {}
    shapes = {}
    for info in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]:
        shapes[info.name] = static_dims(info)
    return shapes


def nearest_to_depth_to_space(model) -> tuple[str, ...]:
    """Replace, in place, every replicating nearest Resize by Concat(s*s copies) + DepthToSpace(s, DCR)."""
    from onnx import helper

    values, shapes = constants(model.graph), _static_shapes(model)
    nodes, rewritten, released = [], [], set()
    for node in model.graph.node:
        s = _replication_factor(node, values, shapes)
        if not s:
            nodes.append(node)
            continue
        tiled, out, name = f"{node.output[0]}__replicated", node.output[0], node.name or node.output[0]
        nodes.append(helper.make_node("Concat", [node.input[0]] * (s * s), [tiled], axis=1, name=f"{name}_copies"))
        nodes.append(helper.make_node("DepthToSpace", [tiled], [out], blocksize=s, mode="DCR", name=name))
        rewritten.append(name)
        released.update(node.input[1:])
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    drop_unused_constants(model.graph, released)
    return tuple(rewritten)


def _outputs(graph: bytes, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3  # its notes about the now unused scale constants are not the user's concern
    return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"]).run(None, feeds)


def _random_feeds(graph: bytes) -> dict[str, np.ndarray] | None:
    """One fixed-seed random image per input, or None when an input has no fixed float shape to test with."""
    import onnx

    model = onnx.load_from_string(graph)
    rng, feeds = np.random.default_rng(0), {}
    for inp in data_inputs(model.graph):
        dims = static_dims(inp)
        if min(dims, default=0) <= 0 or inp.type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
            return None
        feeds[inp.name] = rng.random(dims, dtype=np.float32)
    return feeds


def _close(expected: list[np.ndarray], actual: list[np.ndarray], tolerance: float) -> bool:
    """Same outputs: bit for bit (``tolerance`` 0), else within ``tolerance`` x max |output|."""
    for x, y in zip(expected, actual):
        if tolerance == 0 and not np.array_equal(x, y):
            return False
        if tolerance and not np.allclose(x, y, rtol=0, atol=tolerance * max(float(np.abs(x).max()), 1e-12)):
            return False
    return True


@dataclass(frozen=True)
class GraphRewrite:
    """One rewrite of the graph onnx2tf converts: ``apply(model)`` edits in place and returns the nodes it
    replaced; kept only when ONNX Runtime's outputs agree within ``tolerance`` (0: bit-identical)."""

    name: str  # key in the convert report's graph_rewrites
    apply: Callable[[Any], tuple[str, ...]]
    tolerance: float
    refused: str  # the note when the check fails


# Applied in this order, each checked against the graph before it.
GRAPH_REWRITES: tuple[GraphRewrite, ...] = (
    GraphRewrite(
        "depth_to_space",
        nearest_to_depth_to_space,
        0.0,
        "nearest upsampling kept as Resize: the rewritten graph's output differed",
    ),
    # Float rounding order changes (weights x a, bias + W.beta): 1e-5 of the output's range is ~100x that.
    GraphRewrite("input_fold", fold_input_affine, 1e-4, "input normalisation kept: the folded graph's output differed"),
)


def write_for_tflite(source: Path, target: Path) -> RewriteResult:
    """Write ``source`` to ``target`` with each rewrite ONNX Runtime confirms (see :data:`GRAPH_REWRITES`)."""
    import onnx

    try:
        current = onnx.load(str(source)).SerializeToString()
    except Exception as exc:  # unreadable or over 2 GB: onnx2tf gets the file as it is and reports on it
        target.write_bytes(source.read_bytes())
        return RewriteResult({}, f"graph not rewritten: {exc.__class__.__name__}")
    applied: dict[str, tuple[str, ...]] = {}
    notes, feeds, reference = [], None, None
    for rewrite in GRAPH_REWRITES:
        model = onnx.load_from_string(current)
        replaced = rewrite.apply(model)
        if not replaced:
            continue
        candidate = model.SerializeToString()
        if feeds is None and (feeds := _random_feeds(current)) is None:
            notes.append(rewrite.refused)  # nothing fixed to test with: keep the graph before it
            continue
        reference = reference or _outputs(current, feeds)  # the accepted graph's outputs, run once
        outputs = _outputs(candidate, feeds)
        if _close(reference, outputs, rewrite.tolerance):
            applied[rewrite.name], current, reference = replaced, candidate, outputs
        else:
            notes.append(rewrite.refused)
    target.write_bytes(current)
    return RewriteResult(applied, "; ".join(notes))
