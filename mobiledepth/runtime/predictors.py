"""One interface over the three model formats, so eval, parity and bench treat them alike.

A predictor takes float32 RGB images in [0, 1] (H x W x 3 at its input size) and returns the model's
outputs. It hides layout (NCHW vs NHWC), quantised int8/uint8 I/O, and the model's preprocessing: what
the model declares (:func:`~mobiledepth.modelinfo.declared_input`), or what the caller gives.

Outputs come back canonical: batch dimension dropped, image-like outputs as C x H x W whatever the
file's layout (TFLite's 4-D outputs are NHWC). :meth:`Predictor.predict` returns the selected output
(``output``, default the first) as one H x W map, however small (a stride-4 map stays a stride-4 map:
callers resize it to what they compare it with).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from ..errors import MobileDepthError
from ..inputs import DEFAULT_INPUT, MAX_INPUT_SIDE, Preprocess
from .formats import model_format

__all__ = ["Predictor", "Preprocess", "load_predictor", "model_format", "fixed_shape", "as_map"]


class Predictor(Protocol):
    path: Path
    format: str
    input_hw: tuple[int, int]
    output_names: tuple[str, ...]

    def predict(self, image: np.ndarray) -> np.ndarray: ...  # the selected output as one H' x W' map

    def predict_all(self, image: np.ndarray) -> list[np.ndarray]: ...  # every output, canonical (C x H x W)

    def feed(self) -> Any: ...  # a ready input for repeated timing

    def run(self, feed: Any) -> None: ...


def _check_image(path: Path, image: np.ndarray, hw: tuple[int, int]) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or tuple(image.shape[:2]) != tuple(hw):
        raise MobileDepthError(
            f"{path}: input has shape {tuple(image.shape)}, expected {hw[0]}x{hw[1]}x3 (H x W x RGB)"
        )


def _image_layout(path: Path, shape: Sequence[int]) -> str:
    shape = list(shape)
    if len(shape) == 4 and shape[1] == 3 and shape[3] != 3:
        return "NCHW"
    if len(shape) == 4 and shape[3] == 3:
        return "NHWC"
    raise MobileDepthError(
        f"{path}: input shape {shape} is not one RGB image (expected N x 3 x H x W or N x H x W x 3)"
    )


def fixed_shape(path: Path, shape: Sequence[int | str | None], hw: tuple[int, int] | None) -> list[int]:
    """A dynamic input (``[1, 3, 'H', 'W']``, how most exported networks ship) made concrete: batch 1, and
    height and width from ``hw`` (the user's ``--size``, else the house default); fixed sides are kept. Every
    side is bounded before anything is allocated."""
    dims = list(shape)
    if len(dims) != 4:
        raise MobileDepthError(
            f"{path}: input shape {dims} is not one RGB image (expected N x 3 x H x W or N x H x W x 3)"
        )
    nchw = dims[1] == 3 or (not isinstance(dims[1], int) and dims[3] != 3)
    spatial = (2, 3) if nchw else (1, 2)
    for i, side in zip(spatial, hw or DEFAULT_INPUT.size):
        if not isinstance(dims[i], int) or dims[i] <= 0:
            dims[i] = side
    dims[0] = 1 if not isinstance(dims[0], int) or dims[0] <= 0 else dims[0]
    channel = 1 if nchw else 3
    dims[channel] = 3 if not isinstance(dims[channel], int) or dims[channel] <= 0 else dims[channel]
    if dims[0] != 1 or dims[channel] != 3 or any(not 0 < dims[i] <= MAX_INPUT_SIDE for i in spatial):
        raise MobileDepthError(
            f"{path}: input shape {list(shape)} is not one RGB image of at most "
            f"{MAX_INPUT_SIDE}x{MAX_INPUT_SIDE} pixels (batch 1, 3 channels)"
        )
    return dims


def canonical(y: np.ndarray, channels_last: bool) -> np.ndarray:
    """An output without its batch dimension, image-like ones as C x H x W."""
    y = np.asarray(y)
    if y.ndim >= 1 and y.shape[0] == 1:
        y = y[0]
    if y.ndim == 3 and channels_last:
        y = np.transpose(y, (2, 0, 1))
    return y.astype(np.float32, copy=False)


def as_map(path: Path, y: np.ndarray, name: str = "output") -> np.ndarray:
    """A canonical output as one H x W map, or one line saying why it is not one."""
    dims = [d for d in y.shape if d != 1]
    if len(dims) == 2 and y.ndim >= 2:
        return y.reshape(y.shape[-2:] if y.shape[-2:] == tuple(dims) else dims).astype(np.float32)
    if len(dims) == 1 and y.ndim == 2:  # a 1-pixel-wide map: keep its 2-D shape
        return y.astype(np.float32)
    raise MobileDepthError(
        f"{path}: output {name} has shape {list(y.shape)}, not one map (expected 1 x H x W or "
        "H x W; pick a single-channel output with --output)"
    )


def _pick_output(path: Path, names: Sequence[str], output: str | int | None) -> int:
    if output is None:
        return 0
    if isinstance(output, int) or str(output).isdigit():
        index = int(output)
        if not 0 <= index < len(names):
            raise MobileDepthError(
                f"{path}: --output {output}: the model has {len(names)} output(s) (0..{len(names) - 1})"
            )
        return index
    if output not in names:
        raise MobileDepthError(f"{path}: --output {output!r}: no such output; outputs are {', '.join(names)}")
    return list(names).index(output)


class _Base:
    """What every predictor shares: the selected output as a map, and preprocessed random feeds."""

    path: Path
    input_hw: tuple[int, int]
    preprocess: Preprocess
    output_names: tuple[str, ...]
    selected: int = 0

    def predict_all(self, image: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError

    def predict(self, image: np.ndarray) -> np.ndarray:
        outputs = self.predict_all(image)
        return as_map(self.path, outputs[self.selected], self.output_names[self.selected])

    def _random(self) -> np.ndarray:
        return self.preprocess.apply(np.random.rand(1, *self.input_hw, 3).astype(np.float32))


class TorchPredictor(_Base):
    """A mobiledepth checkpoint, or a foreign TorchScript / torch.export file."""

    format = "pytorch"

    def __init__(
        self,
        path: Path,
        size: tuple[int, int] | None,
        preprocess: Preprocess | None,
        threads: int | None = None,
        output: str | int | None = None,
    ) -> None:
        import torch

        from .torch_files import load_foreign_module, output_list, torch_file_kind

        if threads:
            torch.set_num_threads(threads)
        self.path, self._torch = path, torch
        if torch_file_kind(path) == "checkpoint":
            from ..model.checkpoint import load_model

            model = load_model(path)
            spec = model.config.input.with_overrides(size, preprocess)
            stride = model.config.output_stride
            if spec.height % stride or spec.width % stride:
                raise MobileDepthError(
                    f"{path}: input size {spec.height}x{spec.width} must be a multiple of {stride} on both sides"
                )
            self._forward = lambda x: [model(x)]
        else:
            module = load_foreign_module(path, torch_file_kind(path))
            spec = DEFAULT_INPUT.with_overrides(size, preprocess or Preprocess())
            self._forward = lambda x: output_list(module(x))
        self.input_hw, self.preprocess = spec.size, spec.preprocess
        with torch.inference_mode():
            count = len(self._forward(self.feed()))
        self.output_names = tuple(f"output_{i}" for i in range(count))
        self.selected = _pick_output(path, self.output_names, output)

    def _tensor(self, batch: np.ndarray):
        x = self.preprocess.apply(batch).transpose(0, 3, 1, 2)
        return self._torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))

    def predict_all(self, image: np.ndarray) -> list[np.ndarray]:
        _check_image(self.path, image, self.input_hw)
        with self._torch.inference_mode():
            return [canonical(y.float().numpy(), False) for y in self._forward(self._tensor(image[None]))]

    def feed(self):
        return self._torch.from_numpy(np.ascontiguousarray(self._random().transpose(0, 3, 1, 2), dtype=np.float32))

    def run(self, feed) -> None:
        with self._torch.inference_mode():
            self._forward(feed)


class OnnxPredictor(_Base):
    format = "onnx"

    def __init__(
        self,
        path: Path,
        size: tuple[int, int] | None,
        preprocess: Preprocess | None,
        threads: int | None = None,
        spinning: bool = True,
        output: str | int | None = None,
    ) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if not spinning:  # sessions timed in turn: idle threads of one must not spin on the cores the other runs on
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        options.log_severity_level = 3
        inputs, outputs = _onnx_io(path)
        if len(inputs) != 1:
            raise MobileDepthError(f"{path}: expected exactly one image input, found {len(inputs)}")
        if not outputs:
            raise MobileDepthError(f"{path}: the model has no outputs")
        shape = fixed_shape(path, inputs[0][1], size)
        self.layout = _image_layout(path, shape)
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise MobileDepthError(f"{path}: not a valid ONNX model ({str(exc).splitlines()[0][:160]})") from None
        self.input_hw = (shape[2], shape[3]) if self.layout == "NCHW" else (shape[1], shape[2])
        self.input_name, self._shape = inputs[0][0], shape
        self.path, self.preprocess = path, preprocess or _declared_preprocess(path)
        self.output_names = tuple(outputs)
        self.selected = _pick_output(path, self.output_names, output)

    def _to_input(self, batch: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(batch.transpose(0, 3, 1, 2) if self.layout == "NCHW" else batch, dtype=np.float32)

    def predict_all(self, image: np.ndarray) -> list[np.ndarray]:
        _check_image(self.path, image, self.input_hw)
        outs = self.session.run(None, {self.input_name: self._to_input(self.preprocess.apply(image[None]))})
        return [canonical(y, self.layout == "NHWC") for y in outs]

    def feed(self):
        return {self.input_name: self._to_input(self._random())}

    def run(self, feed) -> None:
        self.session.run(None, feed)


def _onnx_io(path: Path) -> tuple[list[tuple[str, list]], list[str]]:
    """The graph's inputs (name, shape; initializers excluded) and output names, read without ONNX Runtime:
    a declared shape is bounded before a session allocates anything for it."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise MobileDepthError(f"{path}: not a valid ONNX model ({str(exc).splitlines()[0][:160]})") from None
    constants = {init.name for init in model.graph.initializer}
    inputs = []
    for value in model.graph.input:
        if value.name in constants:
            continue
        dims = value.type.tensor_type.shape.dim
        inputs.append((value.name, [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in dims]))
    return inputs, [o.name for o in model.graph.output]


class TFLitePredictor(_Base):
    format = "tflite"

    def __init__(
        self,
        path: Path,
        size: tuple[int, int] | None,
        preprocess: Preprocess | None,
        threads: int | None = None,
        output: str | int | None = None,
    ) -> None:
        from .tflite_interpreter import interpreter_class, model_source

        Interpreter, self.runtime = interpreter_class()
        try:
            self.interpreter = Interpreter(**model_source(path), num_threads=threads or None)
            inputs = self.interpreter.get_input_details()
            if len(inputs) != 1:
                raise MobileDepthError(f"{path}: expected exactly one image input, found {len(inputs)}")
            signature = [int(d) for d in inputs[0].get("shape_signature", inputs[0]["shape"])]
            fixed = fixed_shape(path, [d if d >= 0 else "?" for d in signature], size)
            if fixed != [int(d) for d in inputs[0]["shape"]]:
                self.interpreter.resize_tensor_input(inputs[0]["index"], fixed)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise MobileDepthError(f"{path}: not a valid TFLite model ({str(exc).splitlines()[0][:160]})") from None
        self.input = self.interpreter.get_input_details()[0]
        self.outputs = self.interpreter.get_output_details()
        if not self.outputs:
            raise MobileDepthError(f"{path}: the model has no outputs")
        shape = list(self.input["shape"])
        self.layout = _image_layout(path, shape)
        self.input_hw = (shape[2], shape[3]) if self.layout == "NCHW" else (shape[1], shape[2])
        self.path, self.preprocess = path, preprocess or _declared_preprocess(path)
        self.output_names = tuple(o["name"] for o in self.outputs)
        self.selected = _pick_output(path, self.output_names, output)

    def _quantize(self, batch: np.ndarray) -> np.ndarray:
        dtype = self.input["dtype"]
        batch = batch.transpose(0, 3, 1, 2) if self.layout == "NCHW" else batch
        if dtype in (np.int8, np.uint8):
            scale, zero = self.input["quantization"]
            info = np.iinfo(dtype)
            return np.clip(np.round(batch / scale + zero), info.min, info.max).astype(dtype)
        return np.ascontiguousarray(batch, dtype=dtype)

    def _dequantize(self, detail: dict, y: np.ndarray) -> np.ndarray:
        if detail["dtype"] in (np.int8, np.uint8, np.int16):
            scale, zero = detail["quantization"]
            return (y.astype(np.float32) - zero) * scale
        return y.astype(np.float32)

    def predict_all(self, image: np.ndarray) -> list[np.ndarray]:
        _check_image(self.path, image, self.input_hw)
        self.run(self._quantize(self.preprocess.apply(image[None])))
        get = self.interpreter.get_tensor
        return [canonical(self._dequantize(o, get(o["index"])), self.layout == "NHWC") for o in self.outputs]

    def feed(self):
        return self._quantize(self._random())

    def run(self, feed) -> None:
        self.interpreter.set_tensor(self.input["index"], feed)
        self.interpreter.invoke()


def _declared_preprocess(path: Path) -> Preprocess:
    """The preprocessing a converted file declares (its convert report, or our ONNX metadata), else none."""
    from ..modelinfo import declared_input

    spec = declared_input(path)
    return spec.preprocess if spec is not None else Preprocess()


def load_predictor(
    path: str | os.PathLike,
    size: tuple[int, int] | None = None,
    preprocess: Preprocess | None = None,
    threads: int | None = None,
    spinning: bool = True,
    output: str | int | None = None,
) -> Predictor:
    """Open any supported model file. ``size`` sizes models whose input size is free (checkpoints, dynamic
    files; ``None``: the model's declared size, else the house default); fixed-size files keep theirs.
    ``preprocess`` ``None``: what the model declares. ``output``: which output :meth:`predict` returns."""
    path = Path(path)
    if not path.is_file():
        raise MobileDepthError(f"{path}: no such model file")
    fmt = model_format(path)
    if fmt == "pytorch":
        return TorchPredictor(path, size, preprocess, threads, output)
    if fmt == "onnx":
        predictor: Predictor = OnnxPredictor(path, size, preprocess, threads, spinning, output)
    else:
        predictor = TFLitePredictor(path, size, preprocess, threads, output)
    if size is not None and tuple(size) != tuple(predictor.input_hw):
        raise MobileDepthError(f"{path}: file has a fixed input of {predictor.input_hw[0]}x{predictor.input_hw[1]}, "
                               f"not {size[0]}x{size[1]}")  # fmt: skip
    return predictor
