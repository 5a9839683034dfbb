"""Numbers a user can act on for THEIR model: networks built here that are nothing like ours, converted by the
real pipeline (ONNX -> onnx2tf -> LiteRT), judged by the metric that fits their output.

- a probability-map head (sigmoid) whose map is ~0 on scenes without its object: the exact fp32 file passes
  whatever the output's scale; an int8 file degraded on purpose (an activation outlier that per-tensor int8
  cannot hold beside the signal) fails the mask gate on the user's own images;
- two outputs: one chosen by index, and a wrong choice refused before anything is written;
- a stride-4 output: parity, eval and predict resize it;
- a network whose int8 file is slower than its fp32 file on any host (an op XNNPACK does not take): said.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from typer.testing import CliRunner

import mobiledepth as md
from mobiledepth.cli import app
from mobiledepth.conversion.options import ConvertOptions
from mobiledepth.errors import MobileDepthError

pytestmark = pytest.mark.slow
runner = CliRunner()


class ProbMap(nn.Module):
    """Local brightness above 0.95 -> probability ~1 (white text blocks); ~0 on mid-tone scenes. ``outlier``
    adds a channel held at that value, ignored by the head: int8's one scale per tensor then cannot resolve
    the signal beside it (a real failure mode: an activation outlier)."""

    def __init__(self, outlier: float = 0.0) -> None:
        super().__init__()
        self.local, self.head = nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 1, 1)
        with torch.no_grad():
            self.local.weight.fill_(1 / 27)
            self.local.bias.zero_()
            self.head.weight.fill_(100.0)  # 300 x brightness - 285: the map flips at 0.95
            self.head.bias.fill_(-285.0)
            if outlier:
                self.local.weight[3].zero_()
                self.local.bias[3] = outlier
                self.head.weight[0, 3] = 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.head(torch.relu(self.local(x))))


def text_images(folder: Path, n: int = 12) -> Path:
    """The user's own pictures: white blocks ("text lines") on dark, noisy backgrounds; a plain image folder."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        image = rng.uniform(0.05, 0.3, (64, 96, 3))
        for _ in range(3):
            y, x, h, w = rng.integers(0, 48), rng.integers(0, 60), rng.integers(6, 14), rng.integers(20, 36)
            image[y : y + h, x : x + w] = rng.uniform(0.98, 1.0)
        Image.fromarray((image * 255).astype(np.uint8)).save(folder / f"page_{i:02d}.png")
    return folder


def _file(report, precision: str):
    return next(f for f in report.files if f.precision == precision)


def test_exact_fp32_probability_map_passes_on_scenes_without_its_object(tmp_path):
    """The default data are our synthetic rooms, where this map is ~0 everywhere: relative L2 exploded there
    (1.5e-01 against a reference of norm ~1e-6); parity is now measured on the output's own scale."""
    report = md.convert(ProbMap(), tmp_path / "out", ConvertOptions(size=(64, 96), precisions=("fp32",),
                                                                    task="mask", n_parity=4))  # fmt: skip
    fp32 = _file(report, "fp32")
    assert fp32.status == "ok"
    (output,) = fp32.parity.outputs
    assert output.max_abs < 1e-4 and output.range < 0.05  # ~0 everywhere, and still passed


def test_int8_degraded_on_purpose_fails_the_mask_gate_on_the_users_images(tmp_path):
    images = text_images(tmp_path / "pages", n=16)
    options = ConvertOptions(size=(64, 96), precisions=("fp32", "int8"), task="mask", calib=images, n_calib=8,
                             n_parity=8)  # fmt: skip
    report = md.convert(ProbMap(outlier=2000.0), tmp_path / "out", options)
    assert report.task.data == f"your images: {images}"  # the user's pictures, never our rooms
    fp32, int8 = _file(report, "fp32"), _file(report, "int8")
    assert fp32.status == "ok" and fp32.task.value == 1.0  # the exact file's masks are the source's
    assert int8.task.metric == "mask_iou" and int8.task.value < 0.9 and int8.status == "failed"
    assert int8.gate.verdict == "failed" and int8.gate.metric == "mask_iou"
    result = runner.invoke(app, ["report", str(tmp_path / "out" / "convert_report.json")])
    assert result.exit_code == 0 and "mask_iou" in result.output, result.output


class TwoMaps(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Conv2d(3, 8, 3, padding=1)
        self.depth, self.edges = nn.Conv2d(8, 1, 1), nn.Conv2d(8, 1, 1)

    def forward(self, x: torch.Tensor):
        y = torch.relu(self.body(x))
        return self.depth(y), torch.sigmoid(self.edges(y))


def test_two_outputs_one_chosen_and_a_wrong_choice_leaves_nothing(tmp_path):
    with pytest.raises(MobileDepthError) as err:
        md.convert(TwoMaps(), tmp_path / "bad", ConvertOptions(size=(64, 96), precisions=("fp32",), outputs=("2",)))
    assert "\n" not in str(err.value) and "2" in str(err.value)
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").iterdir())
    report = md.convert(TwoMaps(), tmp_path / "out", ConvertOptions(size=(64, 96), precisions=("fp32",),
                                                                    outputs=("1",), task="mask"))  # fmt: skip
    fp32 = _file(report, "fp32")
    assert fp32.status == "ok" and len(fp32.parity.outputs) == 1


class Stride4(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.Conv2d(8, 1, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(torch.relu(self.a(x)))


def test_stride_4_output_converts_evaluates_and_predicts(tmp_path, synth_dir):
    report = md.convert(Stride4(), tmp_path / "out", ConvertOptions(size=(64, 96), precisions=("fp32",), task="depth",
                                                                    calib=synth_dir, n_parity=3))  # fmt: skip
    fp32 = _file(report, "fp32")
    assert fp32.status in ("ok", "unverified") and fp32.parity.outputs[0].max_abs < 1e-4
    ev = runner.invoke(app, ["eval", fp32.path, "--data", str(synth_dir)])
    assert ev.exit_code == 0, ev.output
    image = next((synth_dir / "images").iterdir())
    pred = runner.invoke(app, ["predict", fp32.path, "-i", str(image), "-o", str(tmp_path / "maps")])
    assert pred.exit_code == 0, pred.output
    with Image.open(next((tmp_path / "maps").glob("*.png"))) as grid:
        assert grid.width >= 96  # the 16 x 24 map was resized to the picture


class Int8Slower(nn.Module):
    """Square roots between convolutions: XNNPACK runs fp32 SQRT but not int8 SQRT (LiteRT's reference kernel
    does), so the int8 file is slower on every host."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.c = nn.Conv2d(3, 32, 3, stride=4, padding=1), nn.Conv2d(32, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.interpolate(self.a(x), scale_factor=4.0, mode="bilinear", align_corners=False)
        for _ in range(3):
            y = torch.sqrt(y * y + 1.0)
        return self.c(y)


def test_int8_slower_than_fp32_is_said_with_the_op_xnnpack_did_not_take(tmp_path):
    options = ConvertOptions(size=(128, 128), precisions=("fp32", "int8"), task="generic", n_calib=8, n_parity=2)
    report = md.convert(Int8Slower(), tmp_path / "out", options)
    int8 = _file(report, "int8")
    assert int8.speed.ratio.low > 1.0 and "SQRT" in int8.speed.undelegated_ops
    assert int8.speed.verdict("int8").startswith("int8 runs ") and "SLOWER than fp32 on this host" in (
        int8.speed.verdict("int8")
    )
    shown = runner.invoke(app, ["report", str(tmp_path / "out" / "convert_report.json")])
    assert shown.exit_code == 0 and "SLOWER" in shown.output, shown.output
