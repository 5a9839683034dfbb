"""The conversion's last stage: where the int8 file loses, per tensor and (our network) per part.

Per tensor: onnx2tf's int8 file against its own fp32 file on a few held-out images, before the
saturation-only clamps are removed from the written file (their tensors stay, never computed). Per part
(mobiledepth checkpoints only, the depth task): task WHDR of the PyTorch simulation of the int8 file with
one part at a time kept in float; the rewrites say whether the file folded its input and resizes its
output in float, so the simulation rounds where the file rounds.
"""

from __future__ import annotations

import numpy as np

from ..records.conversion import FloatParts, GraphRewrites, Int8Diagnosis
from .data import ConvertData
from .onnx2tf_runner import Onnx2TfResult
from .precisions import PRECISIONS, REFERENCE_PRECISION

DIAGNOSIS_IMAGES = 4


def diagnosed_precision(precisions: tuple[str, ...]) -> str | None:
    """The first asked precision the table marks for diagnosis (int8), or None."""
    return next((p for p in precisions if PRECISIONS[p].diagnosed), None)


def tensor_diagnosis(result: Onnx2TfResult, precision: str, images: list[np.ndarray]) -> Int8Diagnosis | None:
    from ..quant.tensor_errors import tensor_errors

    if precision not in result.files or REFERENCE_PRECISION not in result.files:
        return None
    rows = tensor_errors(result.files[REFERENCE_PRECISION], result.files[precision], images[:DIAGNOSIS_IMAGES])
    return Int8Diagnosis(
        images=min(len(images), DIAGNOSIS_IMAGES),
        method="accumulated error per activation tensor, int8 vs float file",
        tensors=tuple(rows),
    )


def float_parts(
    model, calibration: np.ndarray, data: ConvertData, size: tuple[int, int], precision: str, rewrites: GraphRewrites
) -> FloatParts:
    """Task WHDR of the simulated int8 model with each part of the network kept in float."""
    from ..quant.float_groups import float_group_effects, whdr_scorer

    input_folded, round_output = bool(rewrites.input_fold), precision not in rewrites.float_resize
    score = whdr_scorer(list(data.task_entries), *size)
    float_whdr, int8_whdr, effects = float_group_effects(model, calibration, score, input_folded, round_output)
    return FloatParts(
        method="PyTorch simulation of the int8 file (quant/qat.py), one part at a time in float",
        input_folded=input_folded,
        output_rounded=round_output,
        float_whdr=float_whdr,
        simulated_int8_whdr=int8_whdr,
        parts=tuple(effects),
    )
