"""Saturation-only int8 clamps are removed from integer files, and nothing else is."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from mobiledepth.api import convert
from mobiledepth.conversion.options import ConvertOptions
from mobiledepth.conversion.tflite_rewrites import drop_saturating_clamps
from mobiledepth.runtime.predictors import load_predictor


class Clamped(torch.nn.Module):
    """A clamp to [-0.5, 0.5] on a conv output, then an elementwise maximum with a second conv's output.
    The maximum is real work; TFLite gives all three tensors one int8 scale, covering the second conv's
    wider range [-0.5, 1.23], so the clamp's lower bound is the range's own end (saturation only) while its
    upper bound (code 44 of 127) is real work too."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.a = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.b = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.c = torch.nn.Conv2d(8, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c(torch.maximum(torch.clamp(self.a(x), -0.5, 0.5), self.b(x)))


def _ops(path: str) -> Counter:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    builtin = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES  # every op listed, none folded into a delegate
    interp = Interpreter(model_path=path, experimental_op_resolver_type=builtin)
    return Counter(op["op_name"] for op in interp._get_ops_details())


@pytest.fixture(scope="module")
def clamped(tmp_path_factory, synth_dir):
    options = ConvertOptions(precisions=("fp32", "int8"), size=(32, 32), calib=synth_dir, n_calib=8, speed=False)
    return convert(Clamped(), tmp_path_factory.mktemp("clamped"), options)


def test_int8_file_loses_only_the_bound_at_its_range_end(clamped):
    files = {f.precision: f for f in clamped.files if f.format == "tflite"}
    assert clamped.rewrites.saturating_clamps == {"int8": ("model/tf.clip_by_value/clip_by_value",)}
    assert _ops(files["fp32"].path)["MINIMUM"] == 1 and _ops(files["fp32"].path)["MAXIMUM"] == 2
    int8_ops = _ops(files["int8"].path)
    assert int8_ops["MINIMUM"] == 1 and int8_ops["MAXIMUM"] == 1  # the clamp's lower bound is gone
    # the rewritten int8 file still computes the model: its output follows the float file's
    image = np.random.default_rng(0).random((32, 32, 3), dtype=np.float32)
    y8 = load_predictor(Path(files["int8"].path)).predict(image)
    y32 = load_predictor(Path(files["fp32"].path)).predict(image)
    assert np.corrcoef(y8.ravel(), y32.ravel())[0, 1] > 0.98


def test_files_without_saturating_clamps_are_returned_unchanged(clamped):
    fp32 = next(f.path for f in clamped.files if f.precision == "fp32" and f.format == "tflite")
    data = Path(fp32).read_bytes()
    result = drop_saturating_clamps(data)  # float clamps are real work: never removed
    assert result.removed == () and result.data is data
