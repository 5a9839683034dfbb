"""The int8 task-WHDR gate: paired counting and verdicts, against hand-computed values."""

import numpy as np
import pytest

from mobiledepth.conversion.task_gate import gate, task_accuracy


def test_paired_drop_counts_lost_and_gained_pairs():
    source = np.array([True] * 900 + [False] * 100 + [True] * 200)  # 1,200 pairs, source WHDR 100/1200
    file = source.copy()
    file[:10] = False  # 10 pairs lost
    file[900:904] = True  # 4 pairs gained
    acc = task_accuracy(file, source)
    assert (acc.lost, acc.gained, acc.pairs) == (10, 4, 1200)
    assert acc.drop == pytest.approx(6 / 1200)
    assert acc.whdr == pytest.approx(106 / 1200)


def test_gate_verdicts():
    source = np.ones(2000, bool)
    worse = source.copy()
    worse[:11] = False  # drop 0.0055
    assert gate(task_accuracy(worse, source), 0.005).verdict == "failed"
    assert gate(task_accuracy(worse, source), 0.005).problem == (
        "int8 task WHDR 0.0055 is +0.0055 vs the source model on 2000 held-out pairs (limit 0.005)"
    )
    assert gate(task_accuracy(worse, source), 0.006).verdict == "passed"
    assert gate(task_accuracy(worse, source), 0.005, calib_images=32).problem == (
        "int8 task WHDR 0.0055 is +0.0055 vs the source model on 2000 held-out pairs (limit 0.005); it was "
        "calibrated on 32 images: try 128 like the ones it will see (--calib DIR --n-calib 128)"
    )
    assert gate(task_accuracy(worse, source), 0.005, calib_images=128).problem.endswith("(limit 0.005)")
    assert gate(task_accuracy(worse, source), 0.006, calib_images=32).problem == ""
    small = task_accuracy(worse[:500], source[:500])
    assert gate(small, 0.05).verdict == "unverified"
    assert gate(None, 0.005).verdict == "unverified"


def test_drop_interval_resamples_images_not_pairs():
    source = np.ones(20, bool)
    file = source.copy()
    file[:2] = False  # image A (pairs 0-9) loses 2 of 10 pairs, image B (10-19) loses none
    acc = task_accuracy(file, source, [10, 10])
    assert acc.drop == pytest.approx(0.1)
    # Resampling two images gives AA (0.2), AB/BA (0.1) or BB (0.0): the 95% interval spans all three.
    assert acc.drop_ci == pytest.approx((0.0, 0.2))
    # The same two lost pairs spread one per image: every resample drops 0.1, so the interval closes.
    file = source.copy()
    file[[0, 10]] = False
    assert task_accuracy(file, source, [10, 10]).drop_ci == pytest.approx((0.1, 0.1))


def test_drop_interval_needs_matching_image_counts():
    source = np.ones(20, bool)
    assert task_accuracy(source, source, [10, 9]).drop_ci is None
    assert task_accuracy(source, source).drop_ci is None


def test_drop_text():
    from mobiledepth.conversion.view import drop_text

    assert drop_text(0.0027, (-0.0004, 0.0059)) == "+0.0027 (-0.0004 to +0.0059)"
    assert drop_text(-0.001, None) == "-0.0010"
    assert drop_text(None, None) == ""
