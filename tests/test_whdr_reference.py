"""WHDR exactly as the DIW authors' evaluation (princeton-vl/relative_depth, test_model_on_DIW.lua):
Torch7 image.scale back to the original size, hand-computed cases where it and PyTorch's bilinear
order a pair differently, and a straight port of the reference loop."""

import numpy as np
import pytest

from mobiledepth.data.diw import PointPair
from mobiledepth.data.images import resize_map
from mobiledepth.metrics import whdr_for_image
from mobiledepth.metrics.torch7_scale import scale_matrix, torch7_scale, torch7_scale_reference


def P(ya, xa, yb, xb, relation):
    return PointPair(ya, xa, yb, xb, relation, line=0)


def test_enlarging_is_corner_aligned_and_orders_a_pair_bilinear_ties():
    # 2x2 -> 4x4, scale = (2-1)/(4-1) = 1/3 per axis: row 0 of [[0, 4], [8, 12]] becomes 0, 4/3, 8/3, 4
    # (last sample copied); rows first then columns gives up[1, 1] = 4 and up[0, 2] = 8/3.
    pred = np.array([[0.0, 4.0], [8.0, 12.0]], np.float32)
    up = torch7_scale(pred, 4, 4)
    np.testing.assert_allclose(up[0], [0, 4 / 3, 8 / 3, 4], atol=1e-6)
    np.testing.assert_allclose(up[:, 0], [0, 8 / 3, 16 / 3, 8], atol=1e-6)
    assert up[1, 1] == pytest.approx(4.0) and up[0, 2] == pytest.approx(8 / 3)
    pair = [P(1, 1, 0, 2, 1)]  # A=(1,1) farther than B=(0,2)
    assert whdr_for_image(pred, 4, 4, pair).wrong == 0  # torch7: 4 > 8/3, right
    assert whdr_for_image(pred, 4, 4, pair, resize="bilinear").wrong == 1  # bilinear: 3 == 3, a tie is wrong


def test_shrinking_is_an_area_average_and_flips_a_pair_against_bilinear():
    # 1x6 -> 1x4, scale 1.5: torch7 averages [s0 + s1/2, s1/2 + s2, s3 + s4/2, s4/2 + s5] / 1.5;
    # bilinear (align_corners=False) samples at 0.25, 1.75, 3.25, 4.75.
    pred = np.array([[0.0, 5.0, 0.0, 2.0, 0.0, 0.0]], np.float32)
    np.testing.assert_allclose(torch7_scale(pred, 1, 4)[0], [2.5 / 1.5, 2.5 / 1.5, 2 / 1.5, 0], atol=1e-6)
    np.testing.assert_allclose(resize_map(pred, 1, 4, "bilinear")[0], [1.25, 1.25, 1.5, 0], atol=1e-6)
    pair = [P(0, 0, 0, 2, 1)]  # A=(0,0) farther than B=(0,2)
    assert whdr_for_image(pred, 4, 1, pair).wrong == 0  # 1.667 > 1.333
    assert whdr_for_image(pred, 4, 1, pair, resize="bilinear").wrong == 1  # 1.25 < 1.5: order flipped


@pytest.mark.parametrize("src,dst", [(2, 7), (5, 5), (9, 4), (13, 6), (1, 4), (256, 192)])
def test_rows_of_the_scale_matrix_are_convex_weights(src, dst):
    m = scale_matrix(src, dst)
    assert m.shape == (dst, src) and (m >= 0).all()
    np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-6)


def test_vectorised_port_matches_the_c_loops():
    rng = np.random.default_rng(3)
    for h, w, dh, dw in [
        (4, 5, 9, 13),
        (9, 13, 4, 5),
        (7, 7, 7, 3),
        (64, 48, 40, 100),
        (1, 5, 3, 7),
        (128, 128, 192, 256),
    ]:
        x = rng.standard_normal((h, w)).astype(np.float32)
        np.testing.assert_allclose(torch7_scale(x, dh, dw), torch7_scale_reference(x, dh, dw), atol=1e-5)


def _reference_whdr(predictions, records) -> float:
    """The Lua evaluation loop, transcribed: scale each output to the original size with image.scale,
    read the 1-based coordinates, compare with the ordinal; ties are wrong."""
    wrong = 0
    for pred, (y_a, x_a, y_b, x_b, ordinal, width, height) in zip(predictions, records):
        out = torch7_scale_reference(pred, height, width)
        z_a, z_b = out[y_a - 1, x_a - 1], out[y_b - 1, x_b - 1]
        right = (ordinal == ">" and z_a > z_b) or (ordinal == "<" and z_a < z_b)
        wrong += 0 if right else 1
    return wrong / len(records)


def test_whdr_matches_the_reference_loop_on_a_synthetic_set():
    rng = np.random.default_rng(7)
    predictions, records, ours = [], [], []
    for _ in range(60):
        height, width = int(rng.integers(20, 60)), int(rng.integers(20, 60))
        pred = rng.standard_normal((16, 24)).astype(np.float32).cumsum(axis=1)  # smooth-ish, few ties
        y_a, y_b = (int(v) for v in rng.integers(1, height + 1, 2))
        x_a, x_b = (int(v) for v in rng.integers(1, width + 1, 2))
        ordinal = ">" if rng.random() < 0.5 else "<"
        predictions.append(pred)
        records.append((y_a, x_a, y_b, x_b, ordinal, width, height))
        ours.append(
            whdr_for_image(
                pred, width, height, [P(y_a - 1, x_a - 1, y_b - 1, x_b - 1, 1 if ordinal == ">" else -1)]
            ).wrong
        )
    assert sum(ours) / len(ours) == _reference_whdr(predictions, records)
    assert 0 < sum(ours) < len(ours)  # the set exercises both outcomes
