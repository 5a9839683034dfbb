"""What ``convert`` can start from, recognised once and turned into one shape.

A :class:`SourceModel` is the reference every written file is compared with (PyTorch where we have it,
else ONNX Runtime on the given ONNX file), its declared input, its outputs, and a way to write the
fixed-size ONNX file onnx2tf takes. Accepted: a mobiledepth checkpoint, an ONNX file (fixed or dynamic
shape), a TorchScript archive, a ``torch.export`` program (``.pt2``), or (Python API) an ``nn.Module``.
Anything else gets one line that says what the file looked like and what is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..errors import MobileDepthError
from ..fileio import atomic_path, sha256_file
from ..inputs import DEFAULT_INPUT, InputSpec, Preprocess
from ..model.network import count_parameters
from ..records.conversion import SourceInfo
from ..runtime.predictors import canonical, fixed_shape
from ..runtime.torch_files import load_foreign_module, output_list, torch_file_kind
from .export_onnx import export_onnx
from .onnx_graph import image_input

Reference = Callable[[np.ndarray], list[np.ndarray]]  # H x W x 3 in [0, 1] -> every output, canonical


@dataclass(frozen=True)
class SourceModel:
    info: SourceInfo
    spec: InputSpec  # the input the files get: the model's declared one with the user's size / preprocessing
    reference: Reference  # preprocessing applied inside
    output_names: tuple[str, ...]
    write_onnx: Callable[[Path], Path]  # the fixed-size ONNX file of every output (selection is the pipeline's)
    module: nn.Module | None = None  # ours only: enables the per-part int8 simulation
    stride: int = 1  # input sides must divide by this

    @property
    def name(self) -> str:
        return self.info.name


class _Outputs(nn.Module):
    """A foreign network's outputs as a tuple of tensors (tuples, lists and dicts flattened in order), so the
    exporter names each one."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(output_list(self.inner(x)))


def _torch_reference(module: nn.Module, preprocess: Preprocess) -> Reference:
    def predict(image: np.ndarray) -> list[np.ndarray]:
        x = preprocess.apply(image[None]).transpose(0, 3, 1, 2)
        with torch.inference_mode():
            ys = output_list(module(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))))
        return [canonical(y.float().numpy(), False) for y in ys]

    return predict


def from_module(
    module: nn.Module,
    size: tuple[int, int] | None = None,
    preprocess: Preprocess | None = None,
    name: str = "model",
    path: Path | None = None,
    kind: str = "module",
) -> SourceModel:
    """Any ``nn.Module`` taking N x 3 x H x W (after ``preprocess``) and returning tensors."""
    try:
        module.eval()
    except NotImplementedError:  # torch.export's unlifted modules are inference-only already
        pass
    spec = DEFAULT_INPUT.with_overrides(size, preprocess or Preprocess())
    check_finite(path or name, module.state_dict().items())
    params = count_parameters(module, exclude_heads=False)
    info = SourceInfo(
        path=str(path) if path else None,
        name=name,
        kind=kind,
        params=params,
        sha256=sha256_file(path) if path else None,
    )
    reference = _torch_reference(module, spec.preprocess)
    try:
        count = len(reference(np.zeros((*spec.size, 3), np.float32)))
    except MobileDepthError:
        raise
    except Exception as exc:
        raise MobileDepthError(
            f"{path or name}: the model does not run on a 1 x 3 x {spec.height} x {spec.width} "
            f"input ({exc.__class__.__name__}: {str(exc).splitlines()[0][:160]})"
        ) from None
    names = tuple(f"output_{i}" for i in range(count)) if count > 1 else ("output",)
    exported = _Outputs(module) if kind == "module" else module  # TorchScript / exported programs: traced as they are
    write = lambda target: _export_as_is(exported, target, spec.size, names)  # noqa: E731
    return SourceModel(info, spec, reference, names, write)


def _initializer(tensor) -> np.ndarray:
    from onnx import numpy_helper

    return numpy_helper.to_array(tensor)


def check_finite(where: object, tensors) -> None:
    """A model whose weights hold NaN or infinity predicts NaN: say so before converting (it used to fail
    later, blamed on the conversion)."""
    for name, value in tensors:
        array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            bad = int((~np.isfinite(array)).sum())
            raise MobileDepthError(f"{where}: weights not finite: {name} holds {bad} NaN or infinite value(s) of "
                                   f"{array.size}; the model cannot predict (retrain it, or load others)")  # fmt: skip


def _from_checkpoint(path: Path, size: tuple[int, int] | None) -> SourceModel:
    from ..model.checkpoint import load_checkpoint

    try:
        ckpt = load_checkpoint(path)
    except MobileDepthError as exc:
        if "no 'mobiledepth" not in str(exc):
            raise
        raise MobileDepthError(
            f"{path}: a PyTorch file but not a mobiledepth checkpoint (a state dict or pickled module needs its "
            "Python class): load it in Python and call mobiledepth.convert(module, out_dir, "
            "ConvertOptions(size=(H, W))), or save it as TorchScript, torch.export (.pt2) or ONNX"
        ) from None
    model = ckpt.build(with_heads=False).eval()
    check_finite(path, model.state_dict().items())
    spec = ckpt.config.input.with_overrides(size)
    stride = ckpt.config.output_stride
    if spec.height % stride or spec.width % stride:
        raise MobileDepthError(f"--size {spec.height}x{spec.width}: both sides must be multiples of {stride}")
    info = SourceInfo(
        path=str(path),
        name=ckpt.metadata.get("name") or path.stem,
        kind="checkpoint",
        sha256=sha256_file(path),
        params=count_parameters(model),
        variant=ckpt.config.name,
        trained=ckpt.metadata.get("trained"),
    )
    reference = _torch_reference(model, spec.preprocess)
    write = lambda target: export_onnx(model, target, *spec.size)  # noqa: E731
    return SourceModel(info, spec, reference, ("depth",), write, module=model, stride=stride)


def _from_onnx(path: Path, size: tuple[int, int] | None, preprocess: Preprocess | None) -> SourceModel:
    """The reference is ONNX Runtime on the given file; the converted copy has its free sides fixed."""
    import onnx

    from ..modelinfo import onnx_input_spec
    from ..runtime.predictors import OnnxPredictor

    graph = onnx.load(str(path), load_external_data=False)
    declared = onnx_input_spec(graph)
    check_finite(path, ((t.name, _initializer(t)) for t in graph.graph.initializer if not t.external_data))
    predictor = OnnxPredictor(
        path,
        size or (declared.size if declared else None),
        preprocess or (declared.preprocess if declared else Preprocess()),
    )
    if predictor.layout != "NCHW":
        raise MobileDepthError(
            f"{path}: an NHWC ONNX input is not converted (onnx2tf expects NCHW); export with "
            "N x 3 x H x W, or bench/eval this file directly"
        )
    spec = InputSpec(*predictor.input_hw, "NCHW", predictor.preprocess)
    info = SourceInfo(path=str(path), name=path.stem, kind="onnx", sha256=sha256_file(path))
    write = lambda target: fixed_onnx(path, target, predictor.input_hw)  # noqa: E731
    return SourceModel(info, spec, predictor.predict_all, predictor.output_names, write)


def fixed_onnx(
    source: Path, target: Path, hw: tuple[int, int] | None = None, outputs: tuple[str, ...] | None = None
) -> Path:
    """Copy ``source`` for onnx2tf: input batch and free sides fixed (static shapes convert best) and, given
    ``outputs``, only those outputs kept (the nodes only the others use are pruned)."""
    import onnx
    from onnx.utils import Extractor

    model = onnx.load(str(source))
    graph = model.graph
    image = image_input(graph)
    dims = image.type.tensor_type.shape.dim
    shape = [d.dim_value if d.HasField("dim_value") else "?" for d in dims]
    for i, value in enumerate(fixed_shape(source, shape, hw)):
        dims[i].dim_value = value
    if outputs is not None and list(outputs) != [o.name for o in graph.output]:
        model = Extractor(onnx.shape_inference.infer_shapes(model)).extract_model([image.name], list(outputs))
    with atomic_path(target) as tmp:
        onnx.save(model, str(tmp))
    return target


def _export_as_is(module: nn.Module, target: Path, hw: tuple[int, int], names: tuple[str, ...]) -> Path:
    """Export ``module`` as it is (TorchScript and exported programs cannot be wrapped and traced otherwise),
    every output named."""
    export_onnx(module, target, *hw, output_names=names)
    return target


def load_source(path: Path, size: tuple[int, int] | None = None, preprocess: Preprocess | None = None) -> SourceModel:
    if not path.is_file():
        raise MobileDepthError(f"{path}: no such model file")
    if path.suffix.lower() == ".onnx":
        return _from_onnx(path, size, preprocess)
    kind = torch_file_kind(path)
    if kind in ("torchscript", "export"):
        return from_module(load_foreign_module(path, kind), size, preprocess, path.stem, path, kind)
    if preprocess is not None and preprocess != Preprocess():
        raise MobileDepthError(
            f"{path}: a mobiledepth checkpoint declares its own input (no preprocessing); "
            "--mean/--std/--pixel-scale are for foreign models"
        )
    return _from_checkpoint(path, size)
