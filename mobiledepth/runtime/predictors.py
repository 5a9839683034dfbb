"""One interface over the three model formats, so eval, parity and bench treat them alike.

A predictor takes float32 RGB images in [0, 1] (H x W x 3 at its input size) and returns one H' x W'
float32 map. It hides layout (NCHW vs NHWC), quantised int8/uint8 I/O, and optional mean/std
preprocessing for third-party models that expect normalised input.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from ..errors import MobileDepthError


@dataclass(frozen=True)
class Preprocess:
    """For foreign models: ``(x * pixel_scale - mean) / std`` on [0, 1] RGB. Ours need none (identity)."""

    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    pixel_scale: float = 1.0

    def apply(self, batch: np.ndarray) -> np.ndarray:
        if self.pixel_scale == 1.0 and self.mean == (0.0, 0.0, 0.0) and self.std == (1.0, 1.0, 1.0):
            return batch
        return (
            (batch * self.pixel_scale - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        ).astype(np.float32)


class Predictor(Protocol):
    path: Path
    format: str
    input_hw: tuple[int, int]

    def predict(self, image: np.ndarray) -> np.ndarray: ...

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
    """A dynamic ONNX input (``[1, 3, 'H', 'W']``, how most exported depth models ship) made concrete:
    batch 1, and height and width from ``hw`` (``--size``); fixed dimensions are kept."""
    dims = list(shape)
    if all(isinstance(d, int) for d in dims):
        return dims
    if len(dims) != 4:
        raise MobileDepthError(
            f"{path}: input shape {dims} is not one RGB image (expected N x 3 x H x W or N x H x W x 3)"
        )
    nchw = dims[1] == 3 or (not isinstance(dims[1], int) and dims[3] != 3)
    spatial = (2, 3) if nchw else (1, 2)
    free = [i for i in spatial if not isinstance(dims[i], int)]
    if free and hw is None:
        raise MobileDepthError(f"{path}: input shape {dims} is dynamic; give its size with --size HEIGHTxWIDTH")
    for i, side in zip(spatial, hw or (0, 0)):
        if not isinstance(dims[i], int):
            dims[i] = side
    dims[0] = 1 if not isinstance(dims[0], int) else dims[0]
    channel = 1 if nchw else 3
    dims[channel] = 3 if not isinstance(dims[channel], int) else dims[channel]
    return dims


def _squeeze_map(path: Path, y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    dims = [d for d in y.shape if d != 1]
    if len(dims) != 2:
        raise MobileDepthError(
            f"{path}: output shape {list(y.shape)} is not one depth map (expected 1 x 1 x H x W, 1 x H x W x 1 or 1 x "
            "H x W)"
        )
    return y.reshape(dims).astype(np.float32)


class TorchPredictor:
    """A mobiledepth checkpoint, or a foreign TorchScript / torch.export file (preprocessing declared, the
    first output taken as the depth map)."""

    format = "pytorch"

    def __init__(self, path: Path, input_hw: tuple[int, int], threads: int | None = None,
                 preprocess: Preprocess = Preprocess()) -> None:  # fmt: skip
        import torch

        from .torch_files import first_output, load_foreign_module, torch_file_kind

        if threads:
            torch.set_num_threads(threads)
        self.path, self.input_hw, self.preprocess, self._torch = path, input_hw, preprocess, torch
        kind = torch_file_kind(path)
        if kind == "checkpoint":
            from ..model.checkpoint import load_model

            self.model = load_model(path)
            stride = self.model.config.output_stride
            if input_hw[0] % stride or input_hw[1] % stride:
                raise MobileDepthError(
                    f"{path}: input size {input_hw[0]}x{input_hw[1]} must be a multiple of {stride} on both sides"
                )
            self._forward = self.model
        else:
            module = load_foreign_module(path, kind)
            self._forward = lambda x: first_output(module(x))

    def _tensor(self, batch: np.ndarray):
        x = self.preprocess.apply(batch).transpose(0, 3, 1, 2)
        return self._torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))

    def predict(self, image: np.ndarray) -> np.ndarray:
        _check_image(self.path, image, self.input_hw)
        with self._torch.inference_mode():
            return _squeeze_map(self.path, self._forward(self._tensor(image[None])).float().numpy())

    def feed(self):
        return self._tensor(np.random.rand(1, *self.input_hw, 3).astype(np.float32))

    def run(self, feed) -> None:
        with self._torch.inference_mode():
            self._forward(feed)


class OnnxPredictor:
    format = "onnx"

    def __init__(
        self,
        path: Path,
        preprocess: Preprocess = Preprocess(),
        threads: int | None = None,
        dynamic_hw: tuple[int, int] | None = None,
        spinning: bool = True,
    ) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if not spinning:  # sessions timed in turn: idle threads of one must not spin on the cores the other runs on
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise MobileDepthError(f"{path}: not a valid ONNX model ({str(exc).splitlines()[0][:160]})") from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or len(self.session.get_outputs()) < 1:
            raise MobileDepthError(f"{path}: expected exactly one image input, found {len(inputs)}")
        shape = fixed_shape(path, inputs[0].shape, dynamic_hw)
        self.layout = _image_layout(path, shape)
        self.input_hw = (shape[2], shape[3]) if self.layout == "NCHW" else (shape[1], shape[2])
        self.input_name = inputs[0].name
        self.path = path
        self.preprocess = preprocess

    def _to_input(self, batch: np.ndarray) -> np.ndarray:
        batch = self.preprocess.apply(batch)
        return np.ascontiguousarray(batch.transpose(0, 3, 1, 2) if self.layout == "NCHW" else batch, dtype=np.float32)

    def predict(self, image: np.ndarray) -> np.ndarray:
        _check_image(self.path, image, self.input_hw)
        return _squeeze_map(self.path, self.session.run(None, {self.input_name: self._to_input(image[None])})[0])

    def feed(self):
        return {self.input_name: self._to_input(np.random.rand(1, *self.input_hw, 3).astype(np.float32))}

    def run(self, feed) -> None:
        self.session.run(None, feed)


class TFLitePredictor:
    format = "tflite"

    def __init__(self, path: Path, preprocess: Preprocess = Preprocess(), threads: int | None = None,
                 dynamic_hw: tuple[int, int] | None = None) -> None:  # fmt: skip
        from .tflite_interpreter import interpreter_class

        Interpreter, self.runtime = interpreter_class()
        try:
            self.interpreter = Interpreter(model_path=str(path), num_threads=threads or None)
            inputs = self.interpreter.get_input_details()
            if len(inputs) != 1:
                raise MobileDepthError(f"{path}: expected exactly one image input, found {len(inputs)}")
            signature = [int(d) for d in inputs[0].get("shape_signature", inputs[0]["shape"])]
            if any(d < 0 for d in signature):  # dynamic dims (-1): sized like a dynamic ONNX input
                fixed = fixed_shape(path, [d if d >= 0 else "?" for d in signature], dynamic_hw)
                self.interpreter.resize_tensor_input(inputs[0]["index"], fixed)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise MobileDepthError(f"{path}: not a valid TFLite model ({str(exc).splitlines()[0][:160]})") from None
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        shape = list(self.input["shape"])
        self.layout = _image_layout(path, shape)
        self.input_hw = (shape[2], shape[3]) if self.layout == "NCHW" else (shape[1], shape[2])
        self.path = path
        self.preprocess = preprocess

    def _quantize(self, batch: np.ndarray) -> np.ndarray:
        dtype = self.input["dtype"]
        batch = batch.transpose(0, 3, 1, 2) if self.layout == "NCHW" else batch
        if dtype in (np.int8, np.uint8):
            scale, zero = self.input["quantization"]
            info = np.iinfo(dtype)
            return np.clip(np.round(batch / scale + zero), info.min, info.max).astype(dtype)
        return np.ascontiguousarray(batch, dtype=dtype)

    def _dequantize(self, y: np.ndarray) -> np.ndarray:
        if self.output["dtype"] in (np.int8, np.uint8, np.int16):
            scale, zero = self.output["quantization"]
            return (y.astype(np.float32) - zero) * scale
        return y.astype(np.float32)

    def predict(self, image: np.ndarray) -> np.ndarray:
        _check_image(self.path, image, self.input_hw)
        self.run(self._quantize(self.preprocess.apply(image[None])))
        return _squeeze_map(self.path, self._dequantize(self.interpreter.get_tensor(self.output["index"])))

    def feed(self):
        return self._quantize(self.preprocess.apply(np.random.rand(1, *self.input_hw, 3).astype(np.float32)))

    def run(self, feed) -> None:
        self.interpreter.set_tensor(self.input["index"], feed)
        self.interpreter.invoke()


def model_format(path: str | os.PathLike) -> str:
    suffix = Path(path).suffix.lower()
    formats = {".tflite": "tflite", ".onnx": "onnx", ".pt": "pytorch", ".pth": "pytorch", ".ckpt": "pytorch",
               ".pt2": "pytorch"}  # fmt: skip
    if suffix not in formats:
        raise MobileDepthError(f"{path}: unknown model type {suffix!r} (expected .tflite, .onnx, or a .pt checkpoint)")
    return formats[suffix]


def load_predictor(
    path: str | os.PathLike,
    input_hw: tuple[int, int] | None = None,
    preprocess: Preprocess = Preprocess(),
    threads: int | None = None,
    dynamic_hw: tuple[int, int] | None = None,
    spinning: bool = True,
) -> Predictor:
    """Open any supported model file. ``input_hw`` is required for checkpoints (their size is free) and
    checked against fixed-size files; ``dynamic_hw`` sizes only files whose input size is left free."""
    path = Path(path)
    if not path.is_file():
        raise MobileDepthError(f"{path}: no such model file")
    fmt = model_format(path)
    if fmt == "pytorch":
        return TorchPredictor(path, input_hw or (256, 256), threads, preprocess)
    if fmt == "onnx":
        predictor: Predictor = OnnxPredictor(path, preprocess, threads, dynamic_hw or input_hw, spinning)
    else:
        predictor = TFLitePredictor(path, preprocess, threads, dynamic_hw or input_hw)
    if input_hw is not None and tuple(input_hw) != tuple(predictor.input_hw):
        raise MobileDepthError(
            f"{path}: file has a fixed input of {predictor.input_hw[0]}x{predictor.input_hw[1]}, not "
            f"{input_hw[0]}x{input_hw[1]}"
        )
    return predictor
