import pytest
import torch
from typer.testing import CliRunner

from mobiledepth.cli import app
from mobiledepth.errors import MobileDepthError
from mobiledepth.model import MobileDepth, get_config, init_checkpoint, load_checkpoint, load_model
from mobiledepth.model.encoder_weights import load_encoder_weights


def test_roundtrip_same_outputs(tmp_path):
    path = init_checkpoint("mobiledepth-small", tmp_path / "a.pt", seed=5)
    ckpt = load_checkpoint(path)
    assert ckpt.metadata["seed"] == 5 and ckpt.metadata["trained"] is False
    x = torch.rand(1, 3, 64, 64)
    torch.manual_seed(5)
    fresh = MobileDepth(get_config("mobiledepth-small")).eval()
    assert torch.equal(load_model(path)(x), fresh(x))  # seeded init is reproducible
    again = init_checkpoint("mobiledepth-small", tmp_path / "b.pt", seed=6)
    assert not torch.equal(load_model(again)(x), fresh(x))


def test_garbage_truncated_and_foreign_files(tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a checkpoint")
    with pytest.raises(MobileDepthError, match=r"garbage\.pt: not a readable mobiledepth checkpoint"):
        load_checkpoint(garbage)
    good = init_checkpoint("mobiledepth-small", tmp_path / "good.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(
        MobileDepthError, match=r"truncated\.pt: not a readable mobiledepth checkpoint \(corrupt or truncated"
    ):
        load_checkpoint(truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(MobileDepthError, match=r"foreign\.pt: not a mobiledepth checkpoint"):
        load_checkpoint(foreign)
    with pytest.raises(MobileDepthError, match=r"missing\.pt: no such checkpoint file"):
        load_checkpoint(tmp_path / "missing.pt")


def test_weights_that_do_not_match_config(tmp_path):
    path = init_checkpoint("mobiledepth-small", tmp_path / "a.pt")
    payload = torch.load(path, weights_only=True)
    payload["config"]["decoder"]["stages"][0]["out"] = 72  # config now says 72 channels, weights have 64
    torch.save(payload, tmp_path / "mismatch.pt")
    with pytest.raises(
        MobileDepthError, match=r"mismatch\.pt: weights do not match the architecture in its config: .*wrong shape"
    ):
        load_checkpoint(tmp_path / "mismatch.pt")


def test_encoder_weights_from_torchvision_style_state_dict(tmp_path):
    torch.manual_seed(0)
    donor = MobileDepth(get_config("mobiledepth-base"))
    state = {k: v.clone() for k, v in donor.encoder.state_dict().items()}
    state["features.18.0.weight"] = torch.zeros(1280, 320, 1, 1)  # torchvision's head: ignored
    state["classifier.1.weight"] = torch.zeros(1000, 1280)
    torch.save(state, tmp_path / "mobilenet_v2.pth")
    torch.manual_seed(1)
    target = MobileDepth(get_config("mobiledepth-base"))
    assert load_encoder_weights(target, tmp_path / "mobilenet_v2.pth") == len(donor.encoder.state_dict())
    assert torch.equal(target.encoder.features[5].conv[1][0].weight, donor.encoder.features[5].conv[1][0].weight)
    small = MobileDepth(get_config("mobiledepth-small"))
    with pytest.raises(
        MobileDepthError,
        match=r"mobilenet_v2\.pth: features\.0\.0\.weight has shape \(32, 3, 3, 3\), encoder expects \(16, 3, 3, 3\)",
    ):
        load_encoder_weights(small, tmp_path / "mobilenet_v2.pth")


def test_cli_init_info_and_error_exit(tmp_path):
    runner = CliRunner()
    out = tmp_path / "base.pt"
    result = runner.invoke(app, ["init", "mobiledepth-base", "-o", str(out), "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "2,604,681 parameters" in result.output
    result = runner.invoke(app, ["info", str(out), "--size", "224x448", "--json"])
    assert result.exit_code == 0, result.output
    import json

    info = json.loads(result.output)
    assert info["params"] == 2_604_681 and info["size"] == [224, 448]
    assert info["flops"] == 2 * info["macs"] and 0.5e9 < info["macs"] < 2e9
    result = runner.invoke(app, ["init", "mobiledepth-huge", "-o", str(tmp_path / "x.pt")])
    assert result.exit_code == 1
    assert "unknown variant 'mobiledepth-huge'" in result.output
    assert not (tmp_path / "x.pt").exists()


def test_cli_info_names_fused_blocks_and_late_upsampling(tmp_path):
    runner = CliRunner()
    out = tmp_path / "fused.pt"
    assert runner.invoke(app, ["init", "mobiledepth-fused", "-o", str(out)]).exit_code == 0
    result = runner.invoke(app, ["info", str(out)])
    assert result.exit_code == 0, result.output
    assert "│ fused blocks " in result.output
    assert "features.[2, 3, 4, 5, 6] (full 3x3 conv in place of expand + depthwise)" in result.output
    assert "hidden 64, out 32, k3, x2 up after project" in result.output
    assert "hidden 48, out 24, k3 " in result.output  # stage 5 does not upsample
