"""The precisions ``convert`` can write: one table drives option validation, onnx2tf flags and gating.

Modelled on ultralytics' ``export_formats()``: adding a precision is one row here.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import MobileDepthError


@dataclass(frozen=True)
class Precision:
    name: str
    onnx2tf_suffix: str  # onnx2tf writes model<suffix> in its output folder
    calibrated: bool  # needs calibration images (turns on onnx2tf's integer quantisation)
    gated: bool  # its task-WHDR drop against the source model is gated (--max-int8-whdr-drop)
    note: str


PRECISIONS: dict[str, Precision] = {
    p.name: p
    for p in (
        Precision("fp32", "_float32.tflite", False, False, "float32 weights and activations"),
        Precision(
            "fp16", "_float16.tflite", False, False, "float16 weights, float32 activations (GPU delegates run fp16)"
        ),
        Precision(
            "int8",
            "_full_integer_quant.tflite",
            True,
            True,
            "full integer: int8 weights, activations and input; a final resize runs in float unless --int8-output int8 "
            "(CPU/XNNPACK, NNAPI DSP/NPU)",
        ),
        Precision(
            "int8-dynamic",
            "_dynamic_range_quant.tflite",
            True,
            False,
            "int8 weights, float activations: SLOW on XNNPACK (2-3x fp32 measured on the host); written only when "
            "asked",
        ),
    )
}
DEFAULT_PRECISIONS = ("fp32", "fp16", "int8")


def parse_precisions(text: str) -> tuple[str, ...]:
    """``"fp32,int8"`` -> ("fp32", "int8"); unknown names are one error line listing the choices."""
    wanted = tuple(dict.fromkeys(p.strip().lower() for p in text.split(",") if p.strip()))
    bad = [p for p in wanted if p not in PRECISIONS]
    if bad or not wanted:
        raise MobileDepthError(
            f"--precision: unknown {', '.join(bad) or 'empty list'}; choose from {', '.join(PRECISIONS)}"
        )
    return wanted
