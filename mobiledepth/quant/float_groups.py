"""What each part of the network costs in int8: task WHDR with that part kept in float.

Uses :class:`~mobiledepth.quant.qat.QuantSimulation`, which rounds where the TFLite file rounds
(measured on the shipped model: simulated int8 WHDR within 0.001 of the real file's on 10,500 pairs),
so one re-conversion per part is replaced by one evaluation with that part's quantisers switched off.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from ..data.diw import DIWImage
from ..metrics.protocol import pair_results
from ..model.network import MobileDepth
from ..records.conversion import FloatGroupEffect
from .qat import QuantSimulation

# (label, quantiser-name prefixes). Encoder blocks follow MobileNetV2's resolution stages.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("input", ("input", "normalised")),  # "normalised": only when the converter did not fold it
    ("encoder /2-/4 (features.0-3)", tuple(f"encoder.features.{i}." for i in range(4)) + ("encoder.features.0",)),
    ("encoder /8-/16 (features.4-13)", tuple(f"encoder.features.{i}." for i in range(4, 14))),
    ("encoder /32 (features.14-17)", tuple(f"encoder.features.{i}." for i in range(14, 18))),
    *((f"decoder stage {i + 1}", (f"decoder.stages.{i}.", f"decoder.joins.{i}")) for i in range(5)),
    ("prediction + output", ("pred", "output")),
)


def _matches(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p.rstrip(".") or name.startswith(p) for p in prefixes)


def float_group_effects(
    model: MobileDepth, calibration: np.ndarray, score, input_folded: bool = True, round_output: bool = True
) -> tuple[float, float, list[FloatGroupEffect]]:
    """``score(predict) -> WHDR`` on held-out pairs. Returns (float WHDR, all-int8 WHDR, per-group effects).
    ``input_folded`` / ``round_output``: whether the file being explained has the normalisation folded into
    its first conv / rounds its final map (see :class:`QuantSimulation`)."""
    sim_model = copy.deepcopy(model).eval()
    sim = QuantSimulation(sim_model, input_folded=input_folded, round_output=round_output)
    sim.calibrate(
        [
            torch.from_numpy(np.ascontiguousarray(calibration[i : i + 1].transpose(0, 3, 1, 2)))
            for i in range(len(calibration))
        ]
    )
    sim_model.eval()

    def predict_with(m):
        def predict(image: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return m(torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)[None])))[0, 0].numpy()

        return predict

    float_whdr = score(predict_with(model.eval()))
    all_int8 = score(predict_with(sim_model))
    effects = []
    for label, prefixes in GROUPS:
        chosen = [name for name in (*sim.quantizers, *sim.convs) if _matches(name, prefixes)]
        sim.set_float(chosen)
        whdr = score(predict_with(sim_model))
        sim.set_float(chosen, in_float=False)
        effects.append(FloatGroupEffect(label, len(chosen), whdr, all_int8 - whdr))
    return float_whdr, all_int8, effects


def whdr_scorer(entries: list[DIWImage], height: int, width: int):
    """A ``score(predict)`` over DIW entries with the reference protocol."""

    def score(predict) -> float:
        results = pair_results(predict, entries, height, width)
        return float(1.0 - results.mean())

    return score
