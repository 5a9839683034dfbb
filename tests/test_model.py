import dataclasses
import json

import pytest
import torch

from mobiledepth.model import MobileDepth, MobileDepthOutput, ModelConfig, count_macs, count_parameters, get_config
from mobiledepth.model.config import DecoderStageSpec


def test_base_variant_has_paper_parameter_count():
    model = MobileDepth(get_config("mobiledepth-base"))
    params = count_parameters(model)
    assert 2.5e6 <= params <= 2.7e6, params  # paper: 2.6M at export
    # MobileNetV2 features.0..17 has exactly torchvision's 1,811,712 parameters (3,504,872 minus head and classifier).
    assert sum(p.numel() for n, p in model.named_parameters() if n.startswith("encoder.")) == 1_811_712
    # heads exist in training and are excluded from the exported count
    assert count_parameters(model, exclude_heads=False) > params


def test_encoder_keys_follow_torchvision_layout():
    keys = set(MobileDepth(get_config("mobiledepth-base")).encoder.state_dict())
    expected = {
        "features.0.0.weight",
        "features.0.1.running_var",  # stem conv + BN
        "features.1.conv.0.0.weight",
        "features.1.conv.1.weight",
        "features.1.conv.2.bias",  # t=1 block
        "features.2.conv.0.0.weight",
        "features.2.conv.1.0.weight",
        "features.2.conv.2.weight",
        "features.2.conv.3.running_mean",
        "features.17.conv.3.weight",
    }
    assert expected <= keys
    assert not any(k.startswith("features.18") for k in keys)


def test_forward_modes_and_shapes():
    torch.manual_seed(0)
    model = MobileDepth(get_config("mobiledepth-small"))
    x = torch.rand(2, 3, 64, 96)
    model.train()
    out = model(x)
    assert isinstance(out, MobileDepthOutput)
    assert out.depth.shape == (2, 1, 64, 96)
    assert [a.shape for a in out.aux] == [(2, 1, 64, 96)] * 2
    # penultimate decoder features sit at half resolution ("x112" for a 224 input)
    assert out.features.shape == (2, get_config("mobiledepth-small").decoder.stages[-1].out, 32, 48)
    model.eval()
    y = model(x)
    assert isinstance(y, torch.Tensor) and y.shape == (2, 1, 64, 96)
    # eval output equals the training path's final map with the same weights (BN in eval on both)
    assert torch.allclose(model.forward_all(x).depth, y)
    model.strip_heads().train()
    assert isinstance(model(x), torch.Tensor)


def test_config_json_roundtrip_and_validation():
    config = get_config("mobiledepth-base")
    again = ModelConfig.from_dict(json.loads(config.to_json()))
    assert again == config
    bad = dataclasses.replace(config, decoder=dataclasses.replace(config.decoder, stages=config.decoder.stages[:4]))
    with pytest.raises(ValueError, match="5 skip taps but 4 decoder stages"):
        bad.validate()
    with pytest.raises(KeyError, match="known: mobiledepth-base"):
        get_config("nope")


def test_custom_widths_rebuild_exactly():
    config = get_config("mobiledepth-small")
    stages = list(config.decoder.stages)
    stages[1] = DecoderStageSpec(hidden=40, out=24, kernel=5, upsample=True)
    custom = dataclasses.replace(config, decoder=dataclasses.replace(config.decoder, stages=tuple(stages)))
    model = MobileDepth(custom).eval()
    assert model.decoder.stages[1].project[0].out_channels == 24
    assert model.decoder.stages[2].expand[0].in_channels == 24 + model.encoder.channels[custom.encoder.skip_taps[2]]
    assert model(torch.rand(1, 3, 64, 64)).shape == (1, 1, 64, 64)


def test_macs_hand_computed():
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=2, padding=1), torch.nn.Conv2d(8, 8, 3, padding=1, groups=8)
    )
    # conv1: out 8x16x16 = 2048 elems * 3*3*3 = 55296; depthwise: 2048 * 1*3*3 = 18432
    assert count_macs(net, 32, 32) == 55296 + 18432


def test_model_zoo_configs_match_registry_and_init_from_file(tmp_path):
    from pathlib import Path

    from mobiledepth.model import VARIANTS, init_checkpoint, load_checkpoint

    zoo = Path(__file__).resolve().parent.parent / "models"
    for name in VARIANTS:
        assert ModelConfig.from_dict(json.loads((zoo / f"{name}.json").read_text())) == get_config(name), name
    path = init_checkpoint(str(zoo / "mobiledepth-small.json"), tmp_path / "s.pt", seed=2)
    assert load_checkpoint(path).config == get_config("mobiledepth-small")
