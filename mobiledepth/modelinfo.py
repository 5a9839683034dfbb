"""Describe a model file for result records: format, precision, parameters, hash.

Bench, eval and convert records all carry this block; ``sha256`` is the key the report joins on.
Precision and parameter counts come from the ``convert_report.json`` beside the file when there is
one (it knows what the converter was asked for); otherwise they are read off the file itself.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import MobileDepthError
from .fileio import sha256_file
from .runtime.predictors import model_format


@dataclass
class ModelInfo:
    path: str
    name: str
    format: str
    precision: str
    sha256: str
    size_bytes: int
    params: int | None = None
    trained: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _from_convert_report(path: Path, sha: str) -> dict[str, Any] | None:
    report = path.parent / "convert_report.json"
    if not report.is_file():
        return None
    try:
        data = json.loads(report.read_text())
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):  # another tool's file of that name: ignore it
        return None
    for entry in files:
        if isinstance(entry, dict) and entry.get("sha256") == sha and isinstance(data.get("source"), dict):
            return {
                "name": data.get("source", {}).get("name"),
                "precision": entry.get("precision"),
                "params": entry.get("params"),
                "trained": data.get("source", {}).get("trained"),
            }
    return None


def _tflite_precision(path: Path) -> str:
    from .runtime.tflite_interpreter import interpreter_class

    Interpreter, _ = interpreter_class()
    try:
        interp = Interpreter(model_path=str(path))
    except (ValueError, RuntimeError) as exc:
        raise MobileDepthError(f"{path}: not a valid TFLite model ({str(exc).splitlines()[0][:160]})") from None
    tensors = interp.get_tensor_details()
    dtypes = {t["dtype"] for t in tensors}
    if interp.get_input_details()[0]["dtype"] in (np.int8, np.uint8):
        return "int8"
    if np.float16 in dtypes:
        return "fp16"
    if np.int8 in dtypes:
        # Integer activations need a QUANTIZE op after the float input; dynamic range has int8 weights only.
        try:
            op_names = {op["op_name"] for op in interp._get_ops_details()}
        except AttributeError:  # older runtimes without the (private) op listing
            op_names = set()
        return "int8-float-io" if "QUANTIZE" in op_names else "int8-dynamic"
    return "fp32"


def _onnx_params(path: Path) -> int | None:
    try:
        import onnx

        model = onnx.load(str(path), load_external_data=False)
        return int(sum(int(np.prod(init.dims)) for init in model.graph.initializer))
    except Exception:
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
        from .model.checkpoint import load_checkpoint
        from .model.network import count_parameters
        from .runtime.torch_files import load_foreign_module, torch_file_kind

        kind = torch_file_kind(path)
        if kind != "checkpoint":  # TorchScript / torch.export: a user's network, described by its parameters
            info.params = count_parameters(load_foreign_module(path, kind), exclude_heads=False)
            return info
        ckpt = load_checkpoint(path)
        info.name = ckpt.metadata.get("name") or path.stem
        info.params = ckpt.metadata.get("params")
        info.trained = ckpt.metadata.get("trained")
        return info
    known = _from_convert_report(path, sha)
    if known:
        info.name = f"{known['name'] or path.stem}"
        info.precision = known["precision"] or info.precision
        info.params = known["params"]
        info.trained = known["trained"]
        return info
    info.precision = _tflite_precision(path) if fmt == "tflite" else "fp32"
    info.params = _onnx_params(path) if fmt == "onnx" else None
    return info
