"""Losses and rebalancing against hand-computed values, including the '>' = A farther convention."""

import math

import pytest
import torch

from mobiledepth.train.losses import (
    edge_aware_smoothness,
    improved_ranking_loss,
    multiscale_gradient_loss,
    pair_losses,
    pairwise_feature_loss,
    pixelwise_rmse,
    ranking_loss,
    sample_relative_pairs,
    scale_invariant_mse,
    ssi_loss,
    with_intermediate,
)
from mobiledepth.train.rebalance import LossRebalancer, RebalanceConfig

Z = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])  # z(0,0)=0, z(0,1)=1, z(1,0)=2, z(1,1)=3


def sp(x):
    return math.log1p(math.exp(x))


def test_ranking_loss_hand_values_and_sign_convention():
    pairs = torch.tensor(
        [
            [
                [0, 1, 0, 0, 1.0],  # A=1 farther than B=0 (right): softplus(-1)
                [1, 1, 0, 0, -1.0],  # says A=3 closer than B=0 (wrong): softplus(3)
                [1, 0, 0, 1, 0.0],  # equal: (2 - 1)^2
                [0, 0, 0, 0, 1.0],
            ]
        ]
    )  # padding
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    expected = (sp(-1) + sp(3) + 1.0) / 3
    assert ranking_loss(Z, pairs, mask).item() == pytest.approx(expected, rel=1e-6)
    right = ranking_loss(Z, torch.tensor([[[1, 1, 0, 0, 1.0]]]), torch.ones(1, 1))
    wrong = ranking_loss(Z, torch.tensor([[[1, 1, 0, 0, -1.0]]]), torch.ones(1, 1))
    assert right.item() == pytest.approx(sp(-3)) and wrong.item() == pytest.approx(sp(3)) and right < wrong


def test_improved_ranking_drops_easiest_quarter_per_image():
    pairs = torch.tensor([[[0, 1, 0, 0, 1.0], [1, 1, 0, 0, 1.0], [0, 0, 1, 1, 1.0], [1, 0, 0, 1, -1.0]]])
    per = pair_losses(Z, pairs)[0].tolist()
    assert per == pytest.approx([sp(-1), sp(-3), sp(3), sp(1)])
    kept = sorted(per, reverse=True)[:3]  # easiest (sp(-3)) dropped
    assert improved_ranking_loss(Z, pairs, torch.ones(1, 4)).item() == pytest.approx(sum(kept) / 3, rel=1e-6)


def test_sample_relative_pairs_labels_follow_the_map():
    depth = torch.tensor([[1.0, 2.0], [1.01, 4.0]])
    pairs = sample_relative_pairs(depth, 200, sigma=0.02, generator=torch.Generator().manual_seed(0))
    for ya, xa, yb, xb, r in pairs.tolist():
        ga, gb = depth[int(ya), int(xa)].item(), depth[int(yb), int(xb)].item()
        assert r == (1.0 if ga >= gb * 1.02 else -1.0 if gb >= ga * 1.02 else 0.0)
    flipped = sample_relative_pairs(depth, 200, sigma=0.02, generator=torch.Generator().manual_seed(0), disparity=True)
    assert torch.equal(flipped[:, 4], -pairs[:, 4]) and set(pairs[:, 4].tolist()) == {-1.0, 0.0, 1.0}


def test_mc_terms_hand_values():
    gt = torch.zeros(1, 1, 1, 2)
    mask = torch.ones(1, 1, 1, 2)
    assert scale_invariant_mse(torch.tensor([[[[1.0, 3.0]]]]), gt, mask).item() == pytest.approx(
        5 - 4
    )  # mean d^2 - (mean d)^2
    assert scale_invariant_mse(torch.full((1, 1, 1, 2), 7.0), gt, mask).item() == pytest.approx(
        0
    )  # a global scale is free
    ramp = torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]])
    zero = torch.zeros_like(ramp)
    assert multiscale_gradient_loss(ramp, zero, torch.ones_like(ramp), scales=1).item() == pytest.approx(2 / 4)
    img = torch.zeros(1, 3, 2, 2)
    assert edge_aware_smoothness(torch.ones(1, 1, 2, 2), img, scales=1).item() == 0
    # z mean-normalised: [[0,1],[0,1]] / 0.5 -> mean |dz/dx| = 2, mean |dz/dy| = 0 -> 2 + 0
    assert edge_aware_smoothness(ramp, img, scales=1).item() == pytest.approx(2.0)
    edge = torch.zeros(1, 3, 2, 2)
    edge[..., 1] = 10.0  # a strong image edge exactly where depth jumps: smoothness is barely charged
    assert edge_aware_smoothness(ramp, edge, scales=1).item() < 1e-3


def test_ssi_loss_hand_values_keeps_the_sign():
    depth = torch.tensor([[[[1.0, 2.0, 4.0]]]])  # disparity 1, 0.5, 0.25: median 0.5, mean |dev| 0.25 -> 2, 0, -1
    mask = torch.ones_like(depth)
    z = torch.tensor([[[[0.0, 1.0, 2.0]]]])  # nearness -z: median -1, mean |dev| 2/3 -> 1.5, 0, -1.5
    # data: mean |(-0.5, 0, -0.5)| = 1/3; gradients at full scale: (0.5 + 0.5) / 2, coarser scales flat
    assert ssi_loss(z, depth, mask).item() == pytest.approx(1 / 3 + 0.5 * 0.5, rel=1e-6)
    assert ssi_loss(3 * z + 7, depth, mask).item() == pytest.approx(ssi_loss(z, depth, mask).item(), rel=1e-6)
    assert ssi_loss(-5 / depth + 1, depth, mask).item() == pytest.approx(0, abs=1e-6)  # exact up to scale, shift
    assert ssi_loss(5 / depth, depth, mask).item() > 1  # the inverted map (near read as far) is charged


def test_distillation_terms():
    assert pixelwise_rmse(torch.zeros(2), torch.tensor([3.0, 4.0])).item() == pytest.approx(math.sqrt(12.5))
    s = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]]]])  # 1 x 2ch x 1 x 2: two orthogonal vectors
    t = torch.tensor([[[[1.0, 1.0]], [[0.0, 0.0]], [[0.0, 0.0]]]])  # 3 channels, identical vectors
    assert pairwise_feature_loss(s, t).item() == pytest.approx(2 / 4)  # off-diagonals 0 vs 1: (1 + 1) / N^2
    assert pairwise_feature_loss(s, torch.cat([s, 2 * s], 1)).item() == pytest.approx(
        0, abs=1e-7
    )  # same geometry, other width
    with pytest.raises(ValueError, match="equal spatial sizes"):
        pairwise_feature_loss(s, torch.zeros(1, 2, 2, 2))


def test_intermediate_weights():
    preds = [torch.tensor(2.0), torch.tensor(4.0), torch.tensor(8.0)]
    assert with_intermediate(lambda p: p, preds).item() == pytest.approx(0.5 * 2 + 0.25 * 4 + 0.25 * 8)
    assert with_intermediate(lambda p: p, preds[:1]).item() == 2.0


def test_rebalancer_one_update_by_hand():
    for order, expected in (("hard-first", {"a": 0.25, "b": 1.0}), ("easy-first", {"a": 1.0, "b": 0.25})):
        r = LossRebalancer(["a", "b"], RebalanceConfig.preset(order))
        assert r.weights == {"a": 0.5, "b": 0.5}  # no initialisation: equal weights
        r.observe({"a": 4.0, "b": 2.0})
        assert r.event(epoch=0) == {"a": 0.5, "b": 0.5}  # first event only records; P = 3
        r.observe({"a": 2.0, "b": 2.0})  # a halved, b flat; T = 2
        # a: ratio (2/3)(4/2) = 4/3 -> 1 -/+ 3 * 1/3 -> clipped 0.5 / 2.0; b: ratio 2/3 -> 2.0 / 0.5
        assert r.event(epoch=0) == pytest.approx(expected)
    assert LossRebalancer(["a"], RebalanceConfig.preset("hard-first")).lam(0) == -3.0
    assert [LossRebalancer(["a"]).lam(e) for e in range(6)] == [-3.0, -1.5, 0.0, 1.5, 3.0, 3.0]


def test_rebalancer_weight_paths_hard_first():
    """Synthetic trajectory like the paper's: pair-wise KD falls fast early, pixel-wise slowly, ranking
    slowly early and fast late. Hard first: the fast-falling pair-wise term loses weight early, and the
    ranking term gains weight in the late epochs."""
    r = LossRebalancer(["pair", "pixel", "rank"])
    steps, events = 100, 5
    for epoch in range(5):
        for i in range(steps):
            t = epoch + i / steps
            r.observe(
                {
                    "pair": 1.0 * math.exp(-2.0 * t),
                    "pixel": 1.0 * math.exp(-0.1 * t),
                    "rank": 1.0 * math.exp(-0.05 * t - 0.4 * max(0.0, t - 2.5) ** 2),
                }
            )
            if (i + 1) % (steps // events) == 0:
                r.event(epoch, i)
    path = {n: [h["weights"][n] for h in r.history] for n in ("pair", "pixel", "rank")}
    first_epoch = [h for h in r.history if h["epoch"] == 0][-1]["weights"]
    assert first_epoch["pair"] < 1 / 3 and first_epoch["pair"] < first_epoch["pixel"]
    assert path["pair"][-1] < 1 / 3 and path["rank"][-1] > path["rank"][10] and path["rank"][-1] > 1 / 3
    assert len(r.history) == 25 and all("lambda" in h for h in r.history)
