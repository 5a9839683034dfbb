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


def test_fused_block_layout_roundtrip_and_validation():
    """A fused block is (full 3x3 conv cin -> hidden, strided; 1x1 project; BN): no depthwise, no expansion."""
    config = get_config("mobiledepth-small")
    blocks = list(config.encoder.blocks)
    blocks[1] = dataclasses.replace(blocks[1], fused=True)  # features.2: 8 -> 16 channels, stride 2, hidden 48
    fused = dataclasses.replace(config, encoder=dataclasses.replace(config.encoder, blocks=tuple(blocks)))
    model = MobileDepth(fused).eval()
    conv = model.encoder.features[2].conv
    assert [type(m).__name__ for m in conv] == ["ConvBNAct", "Conv2d", "BatchNorm2d"]
    spatial = conv[0][0]
    assert (spatial.in_channels, spatial.out_channels, spatial.kernel_size, spatial.stride, spatial.groups) == (
        8, 48, (3, 3), (2, 2), 1
    )  # fmt: skip
    assert conv[1].in_channels == 48 and conv[1].out_channels == blocks[1].out
    assert model(torch.rand(1, 3, 64, 64)).shape == (1, 1, 64, 64)
    assert ModelConfig.from_dict(json.loads(fused.to_json())) == fused
    # a 64x64 input reaches features.2 at 32x32: the full 3x3 conv's 16x16x48 outputs take 8*9 MACs each, in
    # place of the 1x1 expansion at 32x32 (1024 * 48 outputs, 8 MACs each) and the depthwise (256 * 48, 9 each)
    plain = count_macs(MobileDepth(config), 64, 64)
    assert count_macs(model, 64, 64) - plain == 256 * 48 * 72 - (1024 * 48 * 8 + 256 * 48 * 9)
    blocks[1] = dataclasses.replace(blocks[1], expand=False)
    with pytest.raises(ValueError, match=r"^encoder block 2: a fused block has its own width \(expand must be true\)$"):
        dataclasses.replace(fused, encoder=dataclasses.replace(fused.encoder, blocks=tuple(blocks))).validate()


def test_decoder_upsampling_after_the_project_conv():
    """upsample_at="output": the stage computes at its input's resolution and copies each pixel 2x2 at the end,
    so it equals the same stage without upsampling, nearest-upsampled; "depthwise" (the paper's) does not."""
    from mobiledepth.model.blocks import FBNetBlock

    torch.manual_seed(0)
    late = FBNetBlock(12, 24, 8, kernel=3, upsample=True, upsample_at="output").eval()
    flat = FBNetBlock(12, 24, 8, kernel=3, upsample=False).eval()
    flat.load_state_dict(late.state_dict())
    early = FBNetBlock(12, 24, 8, kernel=3, upsample=True).eval()
    early.load_state_dict(late.state_dict())
    x = torch.rand(1, 12, 6, 10)
    with torch.no_grad():
        expected = flat(x).repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
        assert torch.equal(late(x), expected)
        assert early(x).shape == expected.shape and not torch.allclose(early(x), expected)
    config = get_config("mobiledepth-small")
    stages = tuple(dataclasses.replace(s, upsample_at="output") for s in config.decoder.stages)
    config = dataclasses.replace(config, decoder=dataclasses.replace(config.decoder, stages=stages))
    assert ModelConfig.from_dict(json.loads(config.to_json())) == config
    assert MobileDepth(config).eval()(torch.rand(1, 3, 64, 96)).shape == (1, 1, 64, 96)
    bad = (dataclasses.replace(stages[0], upsample_at="input"), *stages[1:])
    with pytest.raises(
        ValueError, match=r"^decoder upsample_at must be one of \('depthwise', 'output'\), got 'input'$"
    ):
        dataclasses.replace(config, decoder=dataclasses.replace(config.decoder, stages=bad)).validate()


def test_fused_variant_layout():
    """mobiledepth-fused: features.2-6 fused, every decoder stage upsampling last, the base's widths."""
    base, fused = get_config("mobiledepth-base"), get_config("mobiledepth-fused")
    assert [b.fused for b in fused.encoder.blocks] == [i in range(1, 6) for i in range(len(base.encoder.blocks))]
    assert {s.upsample_at for s in fused.decoder.stages} == {"output"}
    assert [(b.hidden, b.out) for b in fused.encoder.blocks] == [(b.hidden, b.out) for b in base.encoder.blocks]
    # per fused block, a 3x3 conv (9*cin*hidden) replaces the 1x1 expansion (cin*hidden) and the depthwise
    # (9*hidden) with one BN less (2*hidden): hidden*(8*cin - 11) more; features.2-6 (cin, hidden): (16, 96),
    # (24, 144) x2, (32, 192) x2 -> 11,232 + 2*26,064 + 2*47,040 = 157,440 over the base's 2,604,681
    assert count_parameters(MobileDepth(fused)) == 2_604_681 + 157_440
