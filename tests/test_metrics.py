import numpy as np
import pytest

from android_bench.stats import latency_stats
from mobiledepth.data.diw import PointPair
from mobiledepth.metrics import dense_metrics, ordering_disagreement, pair_errors, whdr_for_image


def P(ya, xa, yb, xb, r):
    return PointPair(ya, xa, yb, xb, r, line=0)


def test_whdr_orderings_ties_and_disparity():
    depth = np.array([[1.0, 2.0], [2.0, 5.0]])
    pairs = [
        P(0, 1, 0, 0, 1),  # A=2 farther than B=1: right
        P(0, 0, 1, 1, -1),  # A=1 closer than B=5: right
        P(0, 0, 1, 1, 1),  # claims A farther: wrong
        P(0, 1, 1, 0, 1),  # tie 2 vs 2: wrong whatever the label
        P(0, 1, 1, 0, -1),  # tie again: wrong
    ]
    c = pair_errors(depth, pairs)
    assert (c.wrong, c.total) == (3, 5) and c.whdr == pytest.approx(0.6)
    # disparity-like output: larger = nearer, so the sign flips; ties stay wrong
    d = pair_errors(depth, pairs, disparity=True)
    assert (d.wrong, d.total) == (4, 5)


def test_whdr_resizes_prediction_back_to_original_size():
    # A 2x2 prediction scored on a 4x4 image. Bilinear, align_corners=False, 2 -> 4 samples the source at
    # -0.25, 0.25, 0.75, 1.25 (clamped to 0, 0.25, 0.75, 1): row 0 of [[0, 4], [8, 12]] becomes 0, 1, 3, 4.
    pred = np.array([[0.0, 4.0], [8.0, 12.0]], np.float32)
    from mobiledepth.data.images import resize_map

    up = resize_map(pred, 4, 4, "bilinear")
    np.testing.assert_allclose(up[0], [0, 1, 3, 4], atol=1e-6)
    np.testing.assert_allclose(up[:, 0], [0, 2, 6, 8], atol=1e-6)
    # pixel (0,1)=1 vs (0,0)=0 : A farther -> right; (3,3)=12 vs (0,3)=4 -> right; (1,1)=3 vs (0,2)=3 tie -> wrong
    c = whdr_for_image(pred, 4, 4, [P(0, 1, 0, 0, 1), P(3, 3, 0, 3, 1), P(1, 1, 0, 2, 1)], resize="bilinear")
    assert (c.wrong, c.total) == (1, 3)
    assert up[1, 1] == pytest.approx(3.0) and up[0, 2] == pytest.approx(3.0)


def test_ordering_disagreement_counts_flips():
    ref = np.arange(16, dtype=np.float32).reshape(4, 4)
    assert ordering_disagreement(ref, ref * 3 + 1).wrong_rate == 0.0
    flipped = ordering_disagreement(ref, -ref, n_pairs=500)
    assert flipped.wrong == flipped.total > 400  # every visibly different pair flips
    assert flipped.ties == 0


def test_ordering_disagreement_separates_ties_and_ignores_invisible_pairs():
    # Reference 0..99 (5-95 spread 94.05; visible = 5% of it = 4.70). A candidate on a grid of step 10
    # ties pairs inside one step and never reverses an order: ties only, no wrong pairs.
    ref = np.arange(100, dtype=np.float64)
    grid = np.floor(ref / 10) * 10
    c = ordering_disagreement(ref, grid, n_pairs=4000, seed=1)
    rng = np.random.default_rng(1)
    a, b = rng.integers(100, size=4000), rng.integers(100, size=4000)
    visible = np.abs(a - b) >= 0.05 * (np.percentile(ref, 95) - np.percentile(ref, 5))
    assert c.total == int(visible.sum())
    assert c.ties == int(np.sum(visible & (a // 10 == b // 10)))
    assert c.wrong == 0 and 0 < c.tie_rate < 0.2


def test_dense_metrics_alignment_and_values():
    gt = np.array([[1.0, 2.0], [4.0, 8.0]])
    perfect = dense_metrics(0.5 * gt - 3.0, gt)  # any scale and shift is aligned away
    assert (
        perfect.rmse == pytest.approx(0, abs=1e-9)
        and perfect.delta1 == 1.0
        and perfect.si_rmse == pytest.approx(0, abs=1e-9)
    )
    # constant prediction: LS fit gives the mean 3.75 everywhere -> rmse = std(gt)
    flat = dense_metrics(np.ones_like(gt), gt)
    assert flat.rmse == pytest.approx(np.std(gt))
    ratios = np.maximum(3.75 / gt, gt / 3.75)
    assert flat.delta1 == pytest.approx(np.mean(ratios < 1.25))  # only 4 is within 25% of 3.75
    inv = dense_metrics(1.0 / gt, gt, disparity=True)
    assert inv.rmse == pytest.approx(0, abs=1e-9)


def test_latency_stats_hand_computed():
    s = latency_stats([4.0, 1.0, 3.0, 2.0, 10.0])
    assert s.median == 3.0 and s.mean == 4.0 and s.min == 1.0 and s.max == 10.0
    assert s.p90 == pytest.approx(4.0 + 0.6 * (10.0 - 4.0))  # rank 3.6 between 4 and 10
    assert s.std == pytest.approx(np.sqrt(((0 + 9 + 1 + 4 + 36) / 5)))
    assert s.fps == pytest.approx(1000 / 3.0)
    assert s.samples == (4.0, 1.0, 3.0, 2.0, 10.0)
    with pytest.raises(ValueError):
        latency_stats([])
