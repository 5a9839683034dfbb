"""The precisions ``convert`` can write: one table drives option validation, onnx2tf flags, the passes each
file gets before it is written, gating and the int8 diagnosis.

Modelled on ultralytics' ``export_formats()``: adding a precision is one row here. No other module names a
precision to decide what happens to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import MobileDepthError

# A pass over a written file's bytes: (bytes, int8 output wanted as float?) -> (new bytes, tensors it edited).
FilePass = Callable[[bytes, bool], tuple[bytes, tuple[str, ...]]]


def _drop_clamps(data: bytes, float_output: bool) -> tuple[bytes, tuple[str, ...]]:
    from .tflite_rewrites import drop_saturating_clamps

    result = drop_saturating_clamps(data)
    return result.data, result.removed


def _float_resize(data: bytes, float_output: bool) -> tuple[bytes, tuple[str, ...]]:
    if not float_output:
        return data, ()
    from .tflite_float_resize import float_output_resize

    result = float_output_resize(data)
    return result.data, result.moved


# Integer files: MINIMUM/MAXIMUM that only restate their tensor's saturation go (tflite_rewrites.py), and the
# output's final bilinear resize runs in float unless --int8-output int8 (tflite_float_resize.py). Each pass
# checks tensor types itself, so a file with float activations (int8-dynamic) comes back unchanged.
INTEGER_PASSES: tuple[tuple[str, FilePass], ...] = (
    ("saturating_clamps", _drop_clamps),
    ("float_resize", _float_resize),
)


@dataclass(frozen=True)
class Precision:
    name: str
    onnx2tf_suffix: str  # onnx2tf writes model<suffix> in its output folder
    calibrated: bool  # needs calibration images (turns on onnx2tf's integer quantisation)
    gated: bool  # judged by the task metric against the source model (the int8 gate)
    diagnosed: bool  # gets the per-tensor and per-part diagnosis against the fp32 file
    note: str
    passes: tuple[tuple[str, FilePass], ...] = ()  # (record key, pass), in order


PRECISIONS: dict[str, Precision] = {
    p.name: p
    for p in (
        Precision("fp32", "_float32.tflite", False, False, False, "float32 weights and activations"),
        Precision(
            "fp16",
            "_float16.tflite",
            False,
            False,
            False,
            "float16 weights, float32 activations (GPU delegates run fp16)",
        ),
        Precision(
            "int8",
            "_full_integer_quant.tflite",
            True,
            True,
            True,
            "full integer: int8 weights, activations and input; a final resize runs in float unless "
            "--int8-output int8 (CPU/XNNPACK, NNAPI DSP/NPU)",
            INTEGER_PASSES,
        ),
        Precision(
            "int8-dynamic",
            "_dynamic_range_quant.tflite",
            True,
            False,
            False,
            "int8 weights, float activations: SLOW on XNNPACK (2-3x fp32 measured on the host); written only "
            "when asked",
            INTEGER_PASSES,
        ),
    )
}
DEFAULT_PRECISIONS = ("fp32", "fp16", "int8")
REFERENCE_PRECISION = "fp32"  # the file every other file's speed and int8 diagnosis is measured against


def parse_precisions(text: str) -> tuple[str, ...]:
    """``"fp32,int8"`` -> ("fp32", "int8"); unknown names are one error line listing the choices."""
    wanted = tuple(dict.fromkeys(p.strip().lower() for p in text.split(",") if p.strip()))
    bad = [p for p in wanted if p not in PRECISIONS]
    if bad or not wanted:
        raise MobileDepthError(
            f"--precision: unknown {', '.join(bad) or 'empty list'}; choose from {', '.join(PRECISIONS)}"
        )
    return wanted
