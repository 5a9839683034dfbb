"""Remove the int8 MINIMUM/MAXIMUM ops that only restate the saturation of their own int8 tensor.

Why: a clamp to [-a, a] (the bounded decoder's ``Hardtanh``) becomes MINIMUM + MAXIMUM in the TFLite
file, and TFLite's XNNPACK delegate takes neither in int8, so every clamp leaves the delegate: the
base model's int8 file ran as 7 partitions (after onnx_rewrites.py) with 22 such ops between them. In
the int8 file these ops share one scale and zero point with their input and output, and calibration set
that scale from the clamp's own range, so the bound sits at (or one step inside) the end of the int8
range: the tensor already saturates there. At each removed op only the extreme code changes (127 may stay
127 where the op made it 126, one quantisation step); downstream layers carry that change on, so the
file is not bit-identical: on the base model, 10,500 held-out pairs, task WHDR 0.2230 -> 0.2238. The
task-WHDR gate and parity are measured on the file after this pass; the per-tensor diagnosis reads
onnx2tf's int8 file before it (the removed ops' tensors stay in the written file, never computed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tflite_flatbuffer import builtin_code, read_model, schema, single_quant, write_model

SLACK_STEPS = 1  # how far inside the int8 range a bound may sit and still count as the range's own end


@dataclass(frozen=True)
class ClampRemoval:
    data: bytes  # the file's bytes after the pass (the input bytes when nothing was removed)
    removed: tuple[str, ...]  # output tensor names of the ops removed


def _bound_on_grid(model, subgraph, index: int, grid: tuple[float, int]) -> int | None:
    """The constant operand's value as a code on ``grid`` (the clamped tensor's scale and zero point)."""
    tensor = subgraph.tensors[index]
    data = model.buffers[tensor.buffer].data if tensor.buffer < len(model.buffers) else None
    quant = single_quant(tensor)
    if data is None or len(data) != 1 or quant is None:
        return None
    real = (int(np.asarray(data, np.uint8).view(np.int8)[0]) - quant[1]) * quant[0]
    return int(round(real / grid[0])) + grid[1]


def _saturating(model, subgraph, op, kind: int) -> int | None:
    """Index of the clamped input when this MINIMUM/MAXIMUM is the int8 range's own saturation."""
    s = schema()
    if len(op.inputs) != 2 or len(op.outputs) != 1:
        return None
    out = subgraph.tensors[op.outputs[0]]
    grid = single_quant(out)
    if out.type != s.TensorType.INT8 or grid is None:
        return None
    for x, c in ((0, 1), (1, 0)):
        src = subgraph.tensors[op.inputs[x]]
        if src.type != s.TensorType.INT8:
            continue
        if single_quant(src) != grid or list(src.shape) != list(out.shape):
            continue
        bound = _bound_on_grid(model, subgraph, op.inputs[c], grid)
        if bound is None:
            continue
        if (kind == s.BuiltinOperator.MINIMUM and bound >= 127 - SLACK_STEPS) or (
            kind == s.BuiltinOperator.MAXIMUM and bound <= -128 + SLACK_STEPS
        ):
            return x
    return None


def _drop_from_subgraph(model, subgraph) -> list[str]:
    s = schema()
    kinds = (s.BuiltinOperator.MINIMUM, s.BuiltinOperator.MAXIMUM)
    outputs = set(subgraph.outputs)
    replaced: dict[int, int] = {}
    kept, removed = [], []
    for op in subgraph.operators:
        kind = builtin_code(model.operatorCodes[op.opcodeIndex])
        x = _saturating(model, subgraph, op, kind) if kind in kinds and op.outputs[0] not in outputs else None
        if x is None:
            kept.append(op)
            continue
        source = op.inputs[x]
        replaced[op.outputs[0]] = replaced.get(source, source)
        removed.append(subgraph.tensors[op.outputs[0]].name.decode(errors="replace"))
    for op in kept:
        op.inputs = [replaced.get(i, i) if i >= 0 else i for i in op.inputs]
    subgraph.operators = kept
    return removed


def drop_saturating_clamps(data: bytes) -> ClampRemoval:
    """Return the model without its saturation-only int8 MINIMUM/MAXIMUM ops (see the module note)."""
    model = read_model(data)
    if model is None:
        return ClampRemoval(data, ())  # buffers stored outside the flatbuffer: not rewritten here
    removed = [name for subgraph in model.subgraphs for name in _drop_from_subgraph(model, subgraph)]
    if not removed:
        return ClampRemoval(data, ())
    return ClampRemoval(write_model(model, len(data)), tuple(removed))
