"""Describe a model file for result records: format, precision, parameters, hash and its input contract.

Bench, eval and convert records all carry this block; ``sha256`` is the key the report joins on.
Precision, parameters and the declared input (mean/std) come from the ``convert_report.json`` beside the
file when it lists this file (it knows what the converter was asked for); otherwise they are read off
the file itself: parameters from an ONNX file's initializers or a TFLite file's constant tensors, the
input's layout, dtype, size and int8 scale from the file's input.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from .codec import RecordError, decode
from .errors import MobileDepthError
from .fileio import sha256_file
from .inputs import InputSpec, Preprocess
from .records import ConvertReport, InputContract, ModelInfo
from .records.parts import QuantParams
from .runtime.formats import model_format

ONNX_INPUT_KEY = "mobiledepth.input"  # ONNX metadata_props key holding the InputSpec the converter wrote


def convert_report_of(path: Path, sha: str) -> ConvertReport | None:
    """The convert report beside ``path`` when it lists this very file (by sha256); anything else, ignored."""
    report = path.parent / "convert_report.json"
    if not report.is_file():
        return None
    from .records.store import migrate

    try:
        data = json.loads(report.read_text())
        typed = decode(ConvertReport, migrate(report, data)) if isinstance(data, dict) else None
    except (OSError, ValueError, RecordError, MobileDepthError, KeyError, TypeError):
        return None  # another tool's file of that name, or a damaged one: the file speaks for itself
    return typed if typed is not None and typed.file_of(sha) is not None else None


def _tflite_facts(path: Path) -> tuple[str, InputContract, int]:
    """(precision, input contract, parameter count) read off a TFLite file."""
    from .runtime.tflite_interpreter import interpreter_class, model_source

    Interpreter, _ = interpreter_class()
    try:
        interp = Interpreter(**model_source(path))
    except (ValueError, RuntimeError) as exc:
        raise MobileDepthError(f"{path}: not a valid TFLite model ({str(exc).splitlines()[0][:160]})") from None
    inp = interp.get_input_details()[0]
    dtypes = {t["dtype"] for t in interp.get_tensor_details()}
    if inp["dtype"] in (np.int8, np.uint8):
        precision = "int8"
    elif np.float16 in dtypes:
        precision = "fp16"
    elif np.int8 in dtypes:  # integer activations need a QUANTIZE after the float input; dynamic range has none
        ops = {op["op_name"] for op in getattr(interp, "_get_ops_details", lambda: [])()}
        precision = "int8-float-io" if "QUANTIZE" in ops else "int8-dynamic"
    else:
        precision = "fp32"
    return (
        precision,
        contract_of(inp["shape"], np.dtype(inp["dtype"]).name, inp.get("quantization")),
        _tflite_params(path),
    )


def contract_of(shape, dtype: str, quant=None, preprocess: Preprocess = Preprocess()) -> InputContract:
    dims = [int(d) for d in shape]
    layout = "NCHW" if len(dims) == 4 and dims[1] == 3 and dims[3] != 3 else "NHWC"
    h, w = (dims[2], dims[3]) if layout == "NCHW" else (dims[1], dims[2]) if len(dims) == 4 else (0, 0)
    q = QuantParams(float(quant[0]), int(quant[1])) if quant and quant[0] else None
    return InputContract(
        layout=layout,
        dtype=dtype,
        height=h,
        width=w,
        pixel_scale=preprocess.pixel_scale,
        mean=preprocess.mean,
        std=preprocess.std,
        quantization=q,
    )


def _tflite_params(path: Path) -> int:
    """Elements of the file's weight tensors (constant tensors of rank 2 or more, and their 1-D biases):
    what 'parameters' means for a converted network, whatever its precision."""
    from .conversion.tflite_flatbuffer import read_model

    model = read_model(path.read_bytes())
    if model is None:
        return 0
    total = 0
    for tensor in model.subgraphs[0].tensors or []:
        buffer = model.buffers[tensor.buffer] if tensor.buffer else None
        shape = list(tensor.shape) if tensor.shape is not None else []
        if (
            buffer is not None
            and buffer.data is not None
            and len(buffer.data)
            and (len(shape) >= 2 or (len(shape) == 1 and shape[0] > 8))
        ):
            total += int(np.prod(shape))
    return total


def _onnx_facts(path: Path) -> tuple[InputContract | None, int | None, InputSpec | None]:
    """(input contract, parameter count, the InputSpec our converter wrote into its metadata) of an ONNX file."""
    try:
        import onnx

        model = onnx.load(str(path), load_external_data=False)
    except Exception:
        return None, None, None
    params = int(sum(int(np.prod(init.dims)) for init in model.graph.initializer))
    spec = onnx_input_spec(model)
    graph_inputs = [i for i in model.graph.input if i.name not in {init.name for init in model.graph.initializer}]
    if not graph_inputs:
        return None, params, spec
    dims = [d.dim_value if d.HasField("dim_value") else 0 for d in graph_inputs[0].type.tensor_type.shape.dim]
    return contract_of(dims, "float32", None, spec.preprocess if spec else Preprocess()), params, spec


def onnx_input_spec(model) -> InputSpec | None:
    """The InputSpec our converter stored in an ONNX model's metadata, or None."""
    from .model.config import input_spec_from_dict

    for prop in model.metadata_props:
        if prop.key == ONNX_INPUT_KEY:
            try:
                return input_spec_from_dict(json.loads(prop.value))
            except (ValueError, TypeError, KeyError):
                return None
    return None


def describe_model(path: str | os.PathLike) -> ModelInfo:
    path = Path(path)
    fmt = model_format(path)
    if not path.is_file():  # checked before hashing: a missing file or a folder named x.tflite is one line
        raise MobileDepthError(f"{path}: {'is a folder, not a model file' if path.is_dir() else 'no such model file'}")
    sha = sha256_file(path)
    info = ModelInfo(
        path=str(path), name=path.stem, format=fmt, precision="fp32", sha256=sha, size_bytes=path.stat().st_size
    )
    if fmt == "pytorch":
        return _describe_torch(path, info)
    report = convert_report_of(path, sha)
    if fmt == "tflite":
        precision, contract, params = _tflite_facts(path)
        info = replace(info, precision=precision, params=params, input=contract)
    else:
        contract, params, _ = _onnx_facts(path)
        info = replace(info, params=params, input=contract)
    if report is not None:
        entry = report.file_of(sha)
        assert entry is not None
        info = replace(
            info,
            name=report.source.name or path.stem,
            precision=entry.precision,
            params=entry.params or info.params,
            trained=report.source.trained,
            input=entry.input,
        )
    return info


def _describe_torch(path: Path, info: ModelInfo) -> ModelInfo:
    from .model.checkpoint import load_checkpoint
    from .model.network import count_parameters
    from .runtime.torch_files import load_foreign_module, torch_file_kind

    kind = torch_file_kind(path)
    if kind != "checkpoint":  # TorchScript / torch.export: a user's network, described by its parameters
        return replace(info, params=count_parameters(load_foreign_module(path, kind), exclude_heads=False))
    ckpt = load_checkpoint(path)
    spec = ckpt.config.input
    contract = InputContract(
        layout=spec.layout,
        dtype="float32",
        height=spec.height,
        width=spec.width,
        pixel_scale=spec.preprocess.pixel_scale,
        mean=spec.preprocess.mean,
        std=spec.preprocess.std,
    )
    return replace(
        info,
        name=ckpt.metadata.get("name") or path.stem,
        params=ckpt.metadata.get("params"),
        trained=ckpt.metadata.get("trained"),
        input=contract,
    )


def declared_input(path: str | os.PathLike) -> InputSpec | None:
    """What a model file says it takes: a checkpoint's config, the convert report beside a converted file, or
    the metadata our converter wrote into an ONNX file. ``None`` for a model that declares nothing."""
    path = Path(path)
    fmt = model_format(path)
    if fmt == "pytorch":
        from .runtime.torch_files import torch_file_kind

        if torch_file_kind(path) != "checkpoint":
            return None
        from .model.checkpoint import load_checkpoint

        return load_checkpoint(path).config.input
    report = convert_report_of(path, sha256_file(path))
    if report is not None:
        return report.input
    return _onnx_facts(path)[2] if fmt == "onnx" else None
