"""Read and write a TFLite file as LiteRT's flatbuffer object tree, for the passes that edit written files.

Why one place: every pass over a written ``.tflite`` (``tflite_rewrites.py``, ``tflite_float_resize.py``)
needs the same schema, the same op-code lookup and the same refusal of files whose buffers live outside
the flatbuffer (over 2 GB; such files are returned unchanged).
"""

from __future__ import annotations


def schema():
    """LiteRT's generated schema module (imported late: it pulls in flatbuffers)."""
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


def builtin_code(code) -> int:
    """An OperatorCode's builtin operator (old files keep it in the deprecated int8 field)."""
    return max(code.builtinCode, code.deprecatedBuiltinCode)


def single_quant(tensor) -> tuple[float, int] | None:
    """(scale, zero point) of a per-tensor quantised tensor; None for float or per-channel tensors."""
    q = tensor.quantization
    if q is None or q.scale is None or len(q.scale) != 1 or q.zeroPoint is None or len(q.zeroPoint) != 1:
        return None
    return float(q.scale[0]), int(q.zeroPoint[0])


def read_model(data: bytes):
    """The file as a mutable ``ModelT``; None when its buffers are stored outside the flatbuffer."""
    s = schema()
    model = s.ModelT.InitFromObj(s.Model.GetRootAs(data, 0))
    if any(getattr(b, "offset", 0) for b in model.buffers or []):
        return None
    return model


def write_model(model, size_hint: int) -> bytes:
    """Serialise a ``ModelT`` with TFLite's file identifier."""
    import flatbuffers

    builder = flatbuffers.Builder(size_hint + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
