"""What ``convert`` can start from, recognised once and turned into one shape.

A :class:`SourceModel` is the reference every written file is compared with (PyTorch where we have
it, else ONNX Runtime on the given ONNX file) plus a way to write the fixed-size ONNX file onnx2tf
takes. Accepted: a mobiledepth checkpoint, an ONNX file (fixed or dynamic shape), a TorchScript
archive, a ``torch.export`` program (``.pt2``), or (Python API) an ``nn.Module``. Anything else gets one
line that says what the file looked like and what is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from ..errors import MobileDepthError
from ..fileio import sha256_file
from ..model.network import count_parameters
from ..runtime.predictors import Preprocess
from ..runtime.torch_files import first_output, load_foreign_module, torch_file_kind
from .export_onnx import export_onnx
from .onnx_graph import image_input


@dataclass
class SourceModel:
    kind: str  # checkpoint | onnx | torchscript | export | module
    name: str
    block: dict[str, Any]  # the report's 'source'
    reference: Callable[[np.ndarray], np.ndarray]  # H x W x 3 in [0, 1] -> H' x W' (preprocessing applied)
    write_onnx: Callable[[Path], Path]  # the fixed-size ONNX file onnx2tf converts
    preprocess: Preprocess = field(default_factory=Preprocess)
    module: nn.Module | None = None  # ours only: enables the per-part int8 simulation
    params: int | None = None


class _FirstOutput(nn.Module):
    """Foreign networks may return tuples or dicts; the depth map is taken to be the first tensor (the
    exported file keeps the same one, see :func:`fixed_onnx`)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return first_output(self.inner(x))


def _torch_reference(module: nn.Module, preprocess: Preprocess) -> Callable[[np.ndarray], np.ndarray]:
    def predict(image: np.ndarray) -> np.ndarray:
        x = preprocess.apply(image[None]).transpose(0, 3, 1, 2)
        with torch.inference_mode():
            y = module(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
        dims = [d for d in y.shape if d != 1]
        return y.reshape(dims).float().numpy()

    return predict


def from_module(
    module: nn.Module,
    hw: tuple[int, int],
    preprocess: Preprocess = Preprocess(),
    name: str = "model",
    path: Path | None = None,
    kind: str = "module",
) -> SourceModel:
    """Any ``nn.Module`` taking N x 3 x H x W (after ``preprocess``) and returning one map."""
    try:
        module.eval()
    except NotImplementedError:  # torch.export's unlifted modules are inference-only already
        pass
    params = count_parameters(module, exclude_heads=False)
    block = {
        "path": str(path) if path else None,
        "name": name,
        "kind": kind,
        "params": params,
        "sha256": sha256_file(path) if path else None,
        "preprocess": preprocess.__dict__,
    }
    return SourceModel(
        kind,
        name,
        block,
        _torch_reference(_FirstOutput(module), preprocess),
        lambda target: _export_first_output(module, target, hw),
        preprocess,
        params=params,
    )


def _from_checkpoint(path: Path, hw: tuple[int, int]) -> SourceModel:
    from ..model.checkpoint import load_checkpoint

    try:
        ckpt = load_checkpoint(path)
    except MobileDepthError as exc:
        if "no 'mobiledepth" not in str(exc):
            raise
        raise MobileDepthError(
            f"{path}: a PyTorch file but not a mobiledepth checkpoint (a state dict or pickled "
            "module needs its Python class): load it in Python and call mobiledepth.convert(module, "
            "out_dir, ConvertOptions(height=H, width=W)), or save it as TorchScript, torch.export (.pt2) "
            "or ONNX"
        ) from None
    model = ckpt.build(with_heads=False).eval()
    stride = ckpt.config.output_stride
    if hw[0] % stride or hw[1] % stride:
        raise MobileDepthError(f"--size {hw[0]}x{hw[1]}: both sides must be multiples of {stride}")
    params = count_parameters(model)
    block = {
        "path": str(path),
        "name": ckpt.metadata.get("name") or path.stem,
        "kind": "checkpoint",
        "variant": ckpt.config.name,
        "sha256": sha256_file(path),
        "params": params,
        "trained": ckpt.metadata.get("trained"),
    }
    return SourceModel(
        "checkpoint",
        block["name"],
        block,
        _torch_reference(model, Preprocess()),
        lambda target: export_onnx(model, target, *hw),
        Preprocess(),
        module=model,
        params=params,
    )


def _from_onnx(path: Path, hw: tuple[int, int], preprocess: Preprocess) -> SourceModel:
    """The reference is ONNX Runtime on the given file; the converted copy has its free sides fixed."""
    from ..runtime.predictors import OnnxPredictor

    predictor = OnnxPredictor(path, preprocess, dynamic_hw=hw)
    if predictor.layout != "NCHW":
        raise MobileDepthError(
            f"{path}: an NHWC ONNX input is not converted (onnx2tf expects NCHW); export with "
            "N x 3 x H x W, or bench/eval this file directly"
        )

    def write(target: Path) -> Path:
        fixed_onnx(path, target, predictor.input_hw)
        return target

    block = {
        "path": str(path),
        "name": path.stem,
        "kind": "onnx",
        "sha256": sha256_file(path),
        "params": None,
        "preprocess": preprocess.__dict__,
    }
    return SourceModel("onnx", path.stem, block, predictor.predict, write, preprocess)


def fixed_onnx(source: Path, target: Path, hw: tuple[int, int] | None = None) -> None:
    """Copy ``source`` for onnx2tf: input batch and free sides fixed (static shapes convert best) and only
    the first output kept (the depth map; other outputs and the nodes only they use are pruned), so the
    TFLite file has one output and nothing to guess about its order."""
    import onnx
    from onnx.utils import Extractor

    from ..fileio import atomic_path

    model = onnx.load(str(source))
    graph = model.graph
    image = image_input(graph)
    dims = image.type.tensor_type.shape.dim
    for i, value in ((0, 1), (2, hw[0] if hw else 0), (3, hw[1] if hw else 0)):
        if not dims[i].HasField("dim_value") and value:
            dims[i].dim_value = value
    if len(graph.output) > 1:
        model = Extractor(onnx.shape_inference.infer_shapes(model)).extract_model([image.name], [graph.output[0].name])
    with atomic_path(target) as tmp:
        onnx.save(model, str(tmp))


def _export_first_output(module: nn.Module, target: Path, hw: tuple[int, int]) -> Path:
    """Export ``module`` as it is (TorchScript and exported programs cannot be wrapped and traced), then keep
    its first output only."""
    export_onnx(module, target, *hw)
    fixed_onnx(target, target)
    return target


def load_source(path: Path, hw: tuple[int, int], preprocess: Preprocess = Preprocess()) -> SourceModel:
    if not path.is_file():
        raise MobileDepthError(f"{path}: no such model file")
    if path.suffix.lower() == ".onnx":
        return _from_onnx(path, hw, preprocess)
    kind = torch_file_kind(path)
    if kind in ("torchscript", "export"):
        return from_module(load_foreign_module(path, kind), hw, preprocess, path.stem, path, kind)
    return _from_checkpoint(path, hw)
