"""Fold the input's per-channel affine (the in-graph normalisation) into the first conv.

Why: a full-integer file rounds every tensor it stores. The [0, 1] input is exact on its 1/255 grid, but
the normalised input ``(x - mean_c) / std_c`` of three channels spans about 275 pixel steps in one
per-tensor int8 grid of 256, so every pixel of every image was rounded once more before the first conv.
Folded, the int8 file goes input -> CONCATENATION (border strips) -> CONV on the input's 1/255 grid: the
conv takes the pixels themselves. Measured (420 held-out scenes, 42,000 pairs): the int8 drops moved by
-0.0014 / 0.0000 (shipped, 256x256 / 224x448) and +0.0009 / +0.0007 (pruned), within what any
rounding-level change moves an int8 file (two folded files differing only at rounding level disagreed on
2,504 pairs, 0.0020 WHDR apart): kept for removing a rounding at no cost, not for a measured gain.

Exact in real arithmetic, including the border: the conv padded the *normalised* map with 0, which is
the pixel value ``-beta_c / a_c`` (the mean), so the folded graph pads the pixels with that value: a
constant strip per padded side, concatenated (pads no output reads, e.g. the bottom row of a stride-2
conv on an even side, are dropped). In int8 the strips round to the nearest 1/255 step (under half a
pixel level, on the border only). In float the two graphs differ by rounding order only (checked with
ONNX Runtime before the rewrite is kept).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .onnx_graph import attribute, constants, consumers, drop_unused_constants, image_input, static_dims

_ELEMENTWISE = ("Mul", "Div", "Add", "Sub")


@dataclass
class InputAffine:
    """``y = a * x + beta`` per channel, from the graph input through ``nodes`` to the conv ``consumer``."""

    nodes: list  # the affine's ONNX nodes, in order
    a: np.ndarray  # (C,)
    beta: np.ndarray  # (C,)
    consumer: object  # the Conv reading the affine's output


def _per_channel(value: np.ndarray | None, channels: int) -> np.ndarray | None:
    """A constant that broadcasts per channel over N x C x H x W (a scalar, or C values on axis -3 and 1 on
    every other axis), as a (C,) vector; else None. A plain (C,) vector would broadcast along W instead."""
    if value is None or value.size not in (1, channels):
        return None
    if value.size == channels > 1 and (value.ndim < 3 or value.shape[-3] != channels):
        return None
    return np.broadcast_to(value.astype(np.float64).reshape(-1), (channels,)).copy()


def _step(node, current: str, constants: dict, channels: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(scale, shift) of one per-channel affine node reading ``current``, or None if it is not one."""
    if node.op_type == "Conv":
        return _depthwise_1x1(node, current, constants, channels)
    if node.op_type not in _ELEMENTWISE or len(node.input) != 2 or current not in node.input:
        return None
    other = node.input[1] if node.input[0] == current else node.input[0]
    value = _per_channel(constants.get(other), channels)
    if value is None or (node.op_type in ("Sub", "Div") and node.input[0] != current):
        return None  # c - x and c / x are not taken (c / x is not affine)
    ones, zeros = np.ones(channels), np.zeros(channels)
    if node.op_type == "Mul":
        return value, zeros
    if node.op_type == "Div":
        return None if np.any(value == 0) else (1.0 / value, zeros)
    return ones, (value if node.op_type == "Add" else -value)


def _depthwise_1x1(node, current: str, constants: dict, channels: int) -> tuple[np.ndarray, np.ndarray] | None:
    weight = constants.get(node.input[1]) if len(node.input) > 1 else None
    if node.input[0] != current or weight is None or weight.shape != (channels, 1, 1, 1):
        return None
    if attribute(node, "group", 1) != channels or any(attribute(node, "pads", [0]) or [0]):
        return None
    if any(v != 1 for v in attribute(node, "strides", [1]) + attribute(node, "dilations", [1])):
        return None
    bias = constants.get(node.input[2]) if len(node.input) > 2 and node.input[2] else np.zeros(channels)
    return weight.astype(np.float64).reshape(-1), np.asarray(bias, np.float64).reshape(-1)


def find_input_affine(graph, constants: dict, consumers: dict, channels: int) -> InputAffine | None:
    """The longest per-channel affine chain from the image input, when exactly one plain Conv reads its end."""
    current = image_input(graph).name
    outputs = {o.name for o in graph.output}
    a, beta, nodes = np.ones(channels), np.zeros(channels), []
    while len(consumers.get(current, [])) == 1 and current not in outputs:
        node = consumers[current][0]
        step = _step(node, current, constants, channels)
        if step is None:
            break
        a, beta = step[0] * a, step[0] * beta + step[1]
        nodes.append(node)
        current = node.output[0]
    readers = consumers.get(current, [])
    if not nodes or current in outputs or len(readers) != 1 or readers[0].op_type != "Conv" or np.any(a == 0):
        return None
    conv = readers[0]
    plain = attribute(conv, "group", 1) == 1 and attribute(conv, "auto_pad", "NOTSET") == "NOTSET"
    weight = constants.get(conv.input[1])
    if not plain or conv.input[0] != current or weight is None or weight.ndim != 4 or weight.shape[1] != channels:
        return None
    return InputAffine(nodes, a, beta, conv)


def _used_pads(conv, hw: tuple[int, int], pads: list[int]) -> list[int]:
    """The conv's pads less the bottom/right rows and columns no output reads (stride 2 on even sides)."""
    kernel = attribute(conv, "kernel_shape", [1, 1])
    strides, dilations = attribute(conv, "strides", [1, 1]), attribute(conv, "dilations", [1, 1])
    used = list(pads)
    for axis in (0, 1):
        span = hw[axis] + pads[axis] + pads[axis + 2]
        reach = ((span - dilations[axis] * (kernel[axis] - 1) - 1) // strides[axis]) * strides[axis]
        last = reach + dilations[axis] * (kernel[axis] - 1)  # last padded index any output reads
        used[axis + 2] = max(0, pads[axis + 2] - (span - 1 - last))
    return used


def _pad_with_pixel(image: str, stem: str, pixel: np.ndarray, hw: tuple[int, int], pads: list[int]):
    """Nodes and constants padding ``image`` with ``pixel`` per channel: a constant strip concatenated on each
    padded side (a few hundred values, where one border map of the padded size was 10% of the int8 file)."""
    from onnx import helper

    top, left, bottom, right = pads
    column = pixel.astype(np.float32).reshape(1, -1, 1, 1)
    nodes, inits, current = [], {}, image
    # widths first (strips as tall as the image), then heights (strips as wide as the widened image)
    for axis, sides, other in ((3, (left, right), hw[0]), (2, (top, bottom), hw[1] + left + right)):
        strips = []
        for side, count in zip(("before", "after"), sides):
            shape = (1, pixel.size, other, count) if axis == 3 else (1, pixel.size, count, other)
            strips.append(f"{stem}__pad_{axis}_{side}" if count else None)
            if count:
                inits[strips[-1]] = np.broadcast_to(column, shape).astype(np.float32)
        if not any(strips):
            continue
        inputs = [name for name in (strips[0], current, strips[1]) if name]
        nodes.append(
            helper.make_node("Concat", inputs, [f"{stem}__padded_{axis}"], axis=axis, name=f"{stem}_pad_{axis}")
        )
        current = f"{stem}__padded_{axis}"
    return nodes, inits, current


def _folded_conv(affine: InputAffine, values: dict) -> tuple[np.ndarray, np.ndarray]:
    """The first conv's weights times ``a`` per input channel; its bias plus the weights applied to ``beta``."""
    conv = affine.consumer
    weight = values[conv.input[1]].astype(np.float64)
    bias = values[conv.input[2]].astype(np.float64) if len(conv.input) > 2 and conv.input[2] else 0.0
    folded = weight * affine.a.reshape(1, -1, 1, 1)
    shifted = bias + (weight * affine.beta.reshape(1, -1, 1, 1)).sum(axis=(1, 2, 3))
    return folded.astype(np.float32), shifted.astype(np.float32)


def _replace_nodes(graph, removed: set[str], new_nodes: list) -> None:
    """Put ``new_nodes`` where the first node producing a ``removed`` output stood (keeps topological order:
    they read only the image and constants, and everything reading the old outputs came later)."""
    old = list(graph.node)
    first = next(i for i, n in enumerate(old) if n.output[0] in removed)
    kept = [n for n in old if n.output[0] not in removed]
    before = sum(1 for n in old[:first] if n.output[0] not in removed)
    del graph.node[:]
    graph.node.extend(kept[:before] + new_nodes + kept[before:])


def fold_input_affine(model) -> tuple[str, ...]:
    """Rewrite, in place, image -> affine -> Conv(pads) as image -> Concat(mean strips) -> Conv(no pads).
    Returns the names of the nodes folded away (empty when the graph does not start that way)."""
    from onnx import helper, numpy_helper

    graph = model.graph
    image = image_input(graph)
    dims = static_dims(image)
    if len(dims) != 4 or min(dims[1:]) <= 0:
        return ()
    values = constants(graph)
    affine = find_input_affine(graph, values, consumers(graph), dims[1])
    if affine is None:
        return ()
    conv = affine.consumer
    pads = list(attribute(conv, "pads", [0, 0, 0, 0]))  # [top, left, bottom, right] for a 2-D conv
    stem = conv.name or conv.output[0]
    weight, bias = _folded_conv(affine, values)
    inits = {f"{stem}__folded_w": weight, f"{stem}__folded_b": bias}
    hw = (dims[2], dims[3])
    new_nodes, padding, source = _pad_with_pixel(
        image.name, stem, -affine.beta / affine.a, hw, _used_pads(conv, hw, pads)
    )
    inits.update(padding)
    kept = [a for a in conv.attribute if a.name != "pads"]
    folded = helper.make_node("Conv", [source, f"{stem}__folded_w", f"{stem}__folded_b"], list(conv.output), name=stem)
    folded.attribute.extend(kept)
    graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in inits.items())
    _replace_nodes(graph, {n.output[0] for n in [*affine.nodes, conv]}, [*new_nodes, folded])
    drop_unused_constants(graph, {name for n in [*affine.nodes, conv] for name in n.input[1:]})
    return tuple(n.name or n.output[0] for n in affine.nodes)
