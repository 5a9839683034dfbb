import json

import numpy as np
import pytest

from mobiledepth.data.diw import read_diw_csv
from mobiledepth.data.images import load_rgb
from mobiledepth.data.synth import SynthOptions, render_scene, write_synth_dataset
from mobiledepth.errors import MobileDepthError


def test_render_is_deterministic_and_depth_is_valid():
    a = render_scene(np.random.default_rng([1, 2]), 48, 64)
    b = render_scene(np.random.default_rng([1, 2]), 48, 64)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.depth, b.depth)
    assert a.image.shape == (48, 64, 3) and a.depth.shape == (48, 64)
    assert np.isfinite(a.depth).all() and (a.depth > 0).all()
    assert 0.0 <= a.image.min() and a.image.max() <= 1.0


def test_dataset_layout_pairs_agree_with_depth(synth_dir):
    meta = json.loads((synth_dir / "synth.json").read_text())
    assert meta["n"] == 20 and meta["height"] == 96
    total = 0
    for split in ("train", "val", "test"):
        for entry in read_diw_csv(synth_dir / f"DIW_{split}.csv"):
            depth = np.load(synth_dir / "depth" / f"{entry.path.stem}.npy")
            assert load_rgb(entry.path).shape == (96, 128, 3) and (entry.height, entry.width) == depth.shape
            for p in entry.pairs:
                da, db = depth[p.ya, p.xa], depth[p.yb, p.xb]
                assert p.relation == (1 if da > db else -1)  # '>' = A farther
                assert max(da, db) / min(da, db) >= 1.05
                total += 1
    assert total == 20 * 15
    with pytest.raises(MobileDepthError, match="not empty"):
        write_synth_dataset(synth_dir, SynthOptions(n=1))
