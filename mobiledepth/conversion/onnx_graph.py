"""Small readers over an ONNX graph, shared by the exact rewrites (``onnx_rewrites.py``, ``input_fold.py``)."""

from __future__ import annotations

from typing import Any

import numpy as np


def attribute(node, name: str, default: Any) -> Any:
    """A node attribute's value (strings decoded), or ``default`` when the node does not set it."""
    from onnx import helper

    for attr in node.attribute:
        if attr.name == name:
            value = helper.get_attribute_value(attr)
            return value.decode() if isinstance(value, bytes) else value
    return default


def constants(graph) -> dict[str, np.ndarray]:
    """Every initializer and Constant node output, by tensor name."""
    from onnx import numpy_helper

    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    return values


def consumers(graph) -> dict[str, list]:
    """Tensor name -> the nodes that read it."""
    readers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            if name:
                readers.setdefault(name, []).append(node)
    return readers


def data_inputs(graph) -> list:
    """The graph inputs a caller feeds. Why: older exporters list every initializer among the inputs too."""
    initializers = {t.name for t in graph.initializer}
    return [i for i in graph.input if i.name not in initializers]


def image_input(graph):
    """The graph's first fed input: the image."""
    return data_inputs(graph)[0]


def static_dims(value_info) -> list[int]:
    """A value's dimensions, -1 where not fixed."""
    return [d.dim_value if d.HasField("dim_value") else -1 for d in value_info.type.tensor_type.shape.dim]


def drop_unused_constants(graph, released: set[str]) -> None:
    """Initializers and Constant nodes named in ``released`` (inputs of replaced nodes) that nothing reads now."""
    used = {name for node in graph.node for name in node.input} | {v.name for v in [*graph.output, *graph.input]}
    kept = [t for t in graph.initializer if t.name in used or t.name not in released]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    dead = {name for name in released if name not in used}
    nodes = [n for n in graph.node if not (n.op_type == "Constant" and n.output[0] in dead)]
    del graph.node[:]
    graph.node.extend(nodes)
