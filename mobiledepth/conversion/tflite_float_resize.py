"""Run an int8 file's final bilinear resize in float: DEQUANTIZE moved from after it to before it.

Why: the converted network ends with a x2 bilinear resize of its one-channel depth map. In a full-integer
file that resize runs in int8 at the output resolution, and XNNPACK's int8 resize is slower than its fp32
one on the x86 hosts measured here: on ``mobiledepth-fused`` at 256x256 (paired, 20 rounds) the file ran
0.916x the all-integer file's latency at 1 thread and 0.965x at 2 (the ratio to fp32 went from 2.49x to
2.71x and from 2.52x to 2.64x). The resize also rounded the map back onto the output's 256 levels; in float
it interpolates the same int8 depths without rounding (an fp32 output, at most half an output step from
the all-integer file's). Every op before it is unchanged, so the input stays int8 and what an NPU runs is
one int8 graph and a small float tail; ``ConvertOptions.int8_output = "int8"`` keeps the file all-integer
for accelerators that take nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from .tflite_flatbuffer import builtin_code, read_model, schema, single_quant, write_model

DEQUANTIZE_INT8_VERSION = 2  # DEQUANTIZE version 1 takes uint8 only


@dataclass(frozen=True)
class FloatResize:
    data: bytes  # the file's bytes after the pass (the input bytes when nothing was moved)
    moved: tuple[str, ...]  # output tensors whose resize now runs in float


def _dequantize_opcode(model) -> int:
    """Index of a DEQUANTIZE op code that takes int8, added when the file has none."""
    s = schema()
    for i, code in enumerate(model.operatorCodes):
        if builtin_code(code) == s.BuiltinOperator.DEQUANTIZE and code.version >= DEQUANTIZE_INT8_VERSION:
            return i
    code = s.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.DEQUANTIZE
    code.version = DEQUANTIZE_INT8_VERSION
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1


def _int8_output_resize(model, subgraph, out: int):
    """The op that writes graph output ``out`` when it is an int8 -> int8 bilinear resize read by no op."""
    s = schema()
    if any(out in op.inputs for op in subgraph.operators):
        return None
    op = next((op for op in subgraph.operators if out in op.outputs), None)
    if op is None or builtin_code(model.operatorCodes[op.opcodeIndex]) != s.BuiltinOperator.RESIZE_BILINEAR:
        return None
    src, dst = subgraph.tensors[op.inputs[0]], subgraph.tensors[out]
    int8 = all(t.type == s.TensorType.INT8 and single_quant(t) is not None for t in (src, dst))
    return op if int8 and op.inputs[0] not in subgraph.outputs else None


def _float_input(model, subgraph, source: int) -> int:
    """A new float32 tensor shaped like ``source`` (with its own empty buffer); its index."""
    s = schema()
    src = subgraph.tensors[source]
    tensor = s.TensorT()
    tensor.shape, tensor.shapeSignature = src.shape, src.shapeSignature
    tensor.type = s.TensorType.FLOAT32
    tensor.name = src.name + b"/dequantized"
    model.buffers.append(s.BufferT())
    tensor.buffer = len(model.buffers) - 1
    subgraph.tensors.append(tensor)
    return len(subgraph.tensors) - 1


def float_output_resize(data: bytes) -> FloatResize:
    """Return the file with each int8 output resize dequantised before it instead of after (module note)."""
    s = schema()
    model = read_model(data)
    if model is None or not model.subgraphs:
        return FloatResize(data, ())
    subgraph, moved = model.subgraphs[0], []
    for out in subgraph.outputs:
        op = _int8_output_resize(model, subgraph, out)
        if op is None:
            continue
        dequantize = s.OperatorT()
        dequantize.opcodeIndex = _dequantize_opcode(model)
        dequantize.inputs, dequantize.outputs = [op.inputs[0]], [_float_input(model, subgraph, op.inputs[0])]
        op.inputs = [dequantize.outputs[0], *op.inputs[1:]]
        subgraph.operators.insert(subgraph.operators.index(op), dequantize)
        output = subgraph.tensors[out]
        output.type, output.quantization = s.TensorType.FLOAT32, None
        moved.append(output.name.decode(errors="replace"))
    if not moved:
        return FloatResize(data, ())
    return FloatResize(write_model(model, len(data)), tuple(moved))
