"""The real-photo check: a real photograph with real depth (Middlebury 2014 Motorcycle, from scikit-image's
wheel: a local file, never a download), its pairs drawn exactly, the prior beside the model, and the shipped
model pinned well below chance (a retrain that loses what it sees in photographs fails here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mobiledepth.cli import app
from mobiledepth.data.real import MIN_RATIO, PAIRS, _disparity, motorcycle_pairs, prior_map
from mobiledepth.evaluation import EvalOptions, evaluate_real

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "mobiledepth-base.pt"
# Chance is 0.5 (one binomial SD over 600 pairs: 0.02); the shipped model scores 0.258 at 256x256, its
# predecessors 0.405 (the first worlds, ranking loss only) and 0.497 (rooms only). The bound is issue 34's: a
# retrain that loses what the dense term and the worlds taught it fails here.
REAL_LIMIT = 0.30


def test_pairs_are_ordered_by_the_ground_truth_disparity():
    from mobiledepth.data.photos import photo_folder

    real = motorcycle_pairs()
    disp = _disparity(photo_folder() / "motorcycle_disp.npz")
    assert len(real.entry.pairs) == PAIRS and (real.entry.width, real.entry.height) == disp.shape[::-1]
    for p in real.entry.pairs[:100]:
        da, db = disp[p.ya, p.xa], disp[p.yb, p.xb]
        assert max(da, db) / min(da, db) >= MIN_RATIO
        assert p.relation == (1 if da < db else -1)  # '>' = A farther = smaller disparity
    assert motorcycle_pairs().entry.pairs == real.entry.pairs  # a fixed seed: the same pairs every time
    assert np.all(np.diff(prior_map(4, 3)[:, 0]) < 0)  # higher rows are farther


def test_shipped_model_sees_depth_in_a_real_photograph():
    record = evaluate_real(SHIPPED, EvalOptions(size=(256, 256)))
    assert record.dataset.real and record.dataset.pairs == PAIRS
    assert record.prior is not None and record.prior.whdr == pytest.approx(0.195, abs=0.001)
    assert record.whdr <= REAL_LIMIT, f"the shipped model scores {record.whdr:.4f} on the real photograph"


def test_eval_real_from_the_command_line(tmp_path):
    result = CliRunner().invoke(app, ["eval", str(SHIPPED), "--real", "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    assert "Motorcycle" in result.output and "higher in the image is farther" in result.output
    both = CliRunner().invoke(app, ["eval", str(SHIPPED), "--real", "--data", str(tmp_path)])
    assert both.exit_code == 1 and "give --data or --real, not both" in both.output


def test_real_check_picture_shows_the_photograph_truth_prior_and_model(tmp_path):
    """Opened and looked into: the motorcycle's red tank in the photograph panel, and four depth panels in the
    magma colours (ground truth, prior, model) filling a large share of the picture."""
    from matplotlib import colormaps
    from PIL import Image

    from mobiledepth.visual.real_check import draw_real_check

    record = evaluate_real(SHIPPED, EvalOptions(size=(128, 128)))
    path = draw_real_check([SHIPPED], [record], tmp_path / "real.png")
    picture = np.asarray(Image.open(path).convert("RGB")).astype(int)
    h, w, _ = picture.shape
    assert w > 3.5 * h  # one row: photograph, truth, prior, model
    red = (picture[..., 0] > 150) & (picture[..., 1] < 60) & (picture[..., 2] < 60)
    assert red[:, : w // 4].sum() > 500 and red[:, w // 4 :].sum() < 50  # the red tank, in the first panel only
    magma = (colormaps["magma"](np.linspace(0, 1, 256))[:, :3] * 255).astype(int)
    sample = picture[::4, ::4].reshape(-1, 3)
    nearest = np.min(((sample[:, None, :] - magma[None]) ** 2).sum(-1), axis=1)
    assert (nearest < 30).mean() > 0.4  # the depth panels
    with pytest.raises(ValueError, match="one real-photo record"):
        draw_real_check([SHIPPED, SHIPPED], [record], tmp_path / "bad.png")
