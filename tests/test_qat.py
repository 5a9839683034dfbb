"""Quantisation-aware training: BN folding is exact, the simulation rounds on TFLite's grids and leaves
the state dict alone, and a QAT stage trains and writes an ordinary checkpoint."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import torch

from mobiledepth.model import load_checkpoint
from mobiledepth.model.config import get_config
from mobiledepth.model.network import MobileDepth
from mobiledepth.quant.fake_quant import activation_qparams, fake_quantize_weight
from mobiledepth.quant.qat import QuantSimulation, fold_batchnorm
from mobiledepth.train.config import load_config
from mobiledepth.train.trainer import Trainer


def _bounded_small() -> MobileDepth:
    torch.manual_seed(0)
    config = get_config("mobiledepth-small")
    model = MobileDepth(replace(config, decoder=replace(config.decoder, act_limit=8.0)))
    for m in model.modules():  # non-trivial BN statistics, so folding has something to fold
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def test_activation_qparams_match_tflite():
    # [0, 1] -> scale 1/255, zero point -128; [-8, 8] -> scale 16/255, zero point round(-128 + 127.5) = 0 (banker's: -0)
    assert activation_qparams(0.0, 1.0) == (pytest.approx(1 / 255), -128)
    scale, zero = activation_qparams(-8.0, 8.0)
    assert scale == pytest.approx(16 / 255) and zero == 0
    assert activation_qparams(0.5, 2.0)[1] == -128  # the range is widened to contain 0


def test_weight_fake_quant_is_per_channel_symmetric():
    w = torch.tensor([[1.0, -0.5, 0.25], [0.01, 0.02, -0.03]]).view(2, 3, 1, 1)
    q = fake_quantize_weight(w)
    assert torch.allclose(q[0].flatten(), torch.round(w[0].flatten() * 127) / 127)
    assert torch.allclose(q[1].flatten(), torch.round(w[1].flatten() / (0.03 / 127)) * (0.03 / 127))


def test_folding_is_exact_and_idempotent():
    model = _bounded_small()
    x = torch.rand(2, 3, 64, 96)
    with torch.no_grad():
        before = model(x)
        assert fold_batchnorm(model) > 30
        after = model(x)
    assert torch.allclose(before, after, atol=1e-4 * before.abs().max())
    assert fold_batchnorm(model) == 0  # already folded: nothing left


def test_simulation_rounds_where_the_file_does_with_and_without_the_input_fold_and_output_resize():
    """Folded (what the converter writes): the stem's weights are rounded as W / std and no normalised tensor is
    rounded; not folded (the fold's check rejected it): the normalised tensor gets a quantiser over its range."""
    model = _bounded_small()
    folded = QuantSimulation(copy.deepcopy(model))
    assert "normalised" not in folded.ranges()
    # the converter's default int8 file resizes its output in float: that file's final map is not rounded
    unrounded = QuantSimulation(copy.deepcopy(model), round_output=False)
    assert "output" in folded.ranges() and "output" not in unrounded.ranges()
    unfolded_model = copy.deepcopy(model)
    unfolded = QuantSimulation(unfolded_model, input_folded=False)
    assert "input_scale" not in unfolded_model.encoder.features[0][0].__dict__
    unfolded.calibrate([torch.cat([torch.zeros(1, 3, 64, 96), torch.ones(1, 3, 64, 96)])])
    lo, hi = unfolded.ranges()["normalised"]
    low_end, high_end = model.norm_bias, model.norm_weight.flatten() + model.norm_bias  # pixels 0 and 1
    assert lo == pytest.approx(float(low_end.min()), abs=1e-5) and hi == pytest.approx(float(high_end.max()), abs=1e-5)


def test_simulation_rounds_keeps_keys_and_removes_cleanly():
    model = _bounded_small()
    keys = set(model.state_dict())
    sim = QuantSimulation(model)
    assert set(model.state_dict()) == keys
    assert sim.ranges()["input"] == (0.0, 1.0)
    assert sim.ranges()["decoder.stages.0.expand"] == (0.0, 6.0)  # ReLU6 in a bounded decoder
    sim.calibrate([torch.rand(2, 3, 64, 96) for _ in range(2)])
    lo, hi = sim.ranges()["decoder.joins.0"]
    assert -8.0 <= lo < 0 < hi <= 8.0  # clamped concat inputs
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        simulated = model(x)
        with sim.float_mode():
            plain = model(x)
    assert not torch.equal(simulated, plain)
    assert (simulated - plain).abs().mean() < 0.2 * plain.abs().mean()
    sim.remove()
    with torch.no_grad():
        assert torch.equal(model(x), plain)


def test_qat_stage_writes_an_ordinary_checkpoint(tmp_path, synth_dir):
    from tests.test_training import _config

    extra = "qat = true\nqat_calibration_batches = 1\nintermediate = false"
    cfg = load_config(_config(tmp_path, synth_dir, epochs=1, extra=extra))
    cfg.model.act_limit = 8.0
    final = Trainer(cfg, quiet=True).run()
    ckpt = load_checkpoint(final)
    assert ckpt.config.decoder.act_limit == 8.0
    model = ckpt.build(with_heads=False).eval()
    # BN was folded before training: every BN is an identity carrying the bias.
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(torch.all(bn.weight == 1) and torch.all(bn.running_mean == 0) for bn in bns)
    assert torch.isfinite(model(torch.rand(1, 3, 64, 96))).all()
    assert copy.deepcopy(model).config == ckpt.config
