"""The int8 gate for every task: paired WHDR counting, mask IoU, SNR and a user's metric, with their verdicts,
against hand-computed values; and parity measures that hold for outputs near zero."""

import numpy as np
import pytest

from mobiledepth.conversion.parity import fp32_problem, output_parity
from mobiledepth.conversion.task_gate import whdr_score, with_advice
from mobiledepth.conversion.tasks import TASKS, TaskMetric, judge, mask_iou, per_image_score, snr_db, task_metric

WHDR = TASKS["depth"]


def gate(score, limit, min_pairs=1000, calib_images=None):
    return with_advice(judge(score, WHDR.with_limit(limit), min_pairs, 8, "no pairs"), calib_images)


def test_paired_drop_counts_lost_and_gained_pairs():
    source = np.array([True] * 900 + [False] * 100 + [True] * 200)  # 1,200 pairs, source WHDR 100/1200
    file = source.copy()
    file[:10] = False  # 10 pairs lost
    file[900:904] = True  # 4 pairs gained
    acc = whdr_score(file, source)
    assert (acc.lost, acc.gained, acc.units) == (10, 4, 1200)
    assert acc.drop == pytest.approx(6 / 1200)
    assert acc.value == pytest.approx(106 / 1200) and acc.source_value == pytest.approx(100 / 1200)


def test_gate_verdicts():
    source = np.ones(2000, bool)
    worse = source.copy()
    worse[:11] = False  # drop 0.0055
    assert gate(whdr_score(worse, source), 0.005).verdict == "failed"
    assert gate(whdr_score(worse, source), 0.005).problem == (
        "int8 task WHDR 0.0055 is +0.0055 vs the source model on 2000 held-out pairs (limit 0.005)"
    )
    assert gate(whdr_score(worse, source), 0.006).verdict == "passed"
    assert gate(whdr_score(worse, source), 0.005, calib_images=32).problem == (
        "int8 task WHDR 0.0055 is +0.0055 vs the source model on 2000 held-out pairs (limit 0.005); it was "
        "calibrated on 32 images: try 128 like the ones it will see (--calib DIR --n-calib 128)"
    )
    assert gate(whdr_score(worse, source), 0.005, calib_images=128).problem.endswith("(limit 0.005)")
    assert gate(whdr_score(worse, source), 0.006, calib_images=32).problem == ""
    small = whdr_score(worse[:500], source[:500])
    assert gate(small, 0.05).verdict == "unverified"
    assert gate(None, 0.005).verdict == "unverified" and gate(None, 0.005).problem == "no pairs"


def test_drop_interval_resamples_images_not_pairs():
    source = np.ones(20, bool)
    file = source.copy()
    file[:2] = False  # image A (pairs 0-9) loses 2 of 10 pairs, image B (10-19) loses none
    acc = whdr_score(file, source, [10, 10])
    assert acc.drop == pytest.approx(0.1)
    # Resampling two images gives AA (0.2), AB/BA (0.1) or BB (0.0): the 95% interval spans all three.
    assert acc.interval == pytest.approx((0.0, 0.2))
    # The same two lost pairs spread one per image: every resample drops 0.1, so the interval closes.
    file = source.copy()
    file[[0, 10]] = False
    assert whdr_score(file, source, [10, 10]).interval == pytest.approx((0.1, 0.1))


def test_drop_interval_needs_matching_image_counts():
    source = np.ones(20, bool)
    assert whdr_score(source, source, [10, 9]).interval is None
    assert whdr_score(source, source).interval is None


def test_mask_iou_and_snr_by_hand():
    ref = np.zeros((4, 4), np.float32)
    ref[:2, :2] = 0.9  # 4 pixels above 0.5
    cand = np.zeros((4, 4), np.float32)
    cand[:2, 1:3] = 0.8  # 4 pixels, 2 shared: IoU 2 / 6
    assert mask_iou(0.5)(ref, cand) == pytest.approx(2 / 6)
    assert mask_iou(0.5)(np.zeros((3, 3)), np.zeros((3, 3))) == 1.0  # both empty: they agree
    a = np.array([3.0, 4.0])
    assert snr_db(a, a + np.array([0.3, 0.4])) == pytest.approx(20.0)  # signal 25, noise 0.25: 100x = 20 dB
    assert snr_db(a, a) == 200.0  # exact: capped, never infinity in a record


def test_per_image_gate_fails_a_damaged_mask_and_names_its_output():
    metric = task_metric("mask", None, None, 0.5)
    assert metric.limit == 0.9 and metric.higher_is_better
    score = per_image_score("mask", metric, "prob", [0.69, 0.93, 0.8, 0.75, 0.9, 0.85, 0.7, 0.8])
    assert score.value == pytest.approx(0.8025) and score.units == 8 and score.unit == "images"
    low, high = score.interval
    assert 0.69 <= low <= score.value <= high <= 0.93
    verdict = judge(score, metric, 1000, 8, "")
    assert verdict.verdict == "failed" and verdict.problem == (
        f"int8 mask_iou 0.8025 ({low:.4f} to {high:.4f}) against the source on 8 images is below the limit 0.9 "
        "(output prob)"
    )
    assert judge(per_image_score("mask", metric, "prob", [1.0] * 8), metric, 1000, 8, "").verdict == "passed"
    few = judge(per_image_score("mask", metric, "prob", [1.0] * 3), metric, 1000, 8, "")
    assert few.verdict == "unverified" and few.problem.startswith("only 3 held-out images (need 8) to judge mask_iou")


def test_a_users_own_metric_replaces_the_tasks():
    mean_abs = TaskMetric("mean_abs_error", 0.01, False, lambda r, c: float(np.mean(np.abs(r - c))))
    metric = task_metric("depth", mean_abs, None, 0.5)
    assert metric.name == "mean_abs_error" and not metric.needs_pairs
    values = [mean_abs.per_image(np.zeros(4), np.full(4, e)) for e in (0.02, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)]
    assert judge(per_image_score("depth", metric, "y", values), metric, 1000, 8, "").verdict == "passed"
    assert judge(per_image_score("depth", metric.with_limit(0.001), "y", values), metric.with_limit(0.001), 1000, 8,
                 "").verdict == "failed"  # fmt: skip


def test_parity_of_an_exact_file_near_zero_passes_the_fp32_gate():
    """A sigmoid map that is ~1e-6 everywhere (no object in the image): relative L2 reads 0.12 for a file that
    differs by float rounding; error over the output's range plus an absolute floor does not explode."""
    ref = [np.full((1, 8, 8), 1e-6, np.float32) + np.float32(1e-9) * np.arange(64, dtype=np.float32).reshape(1, 8, 8)]
    cand = [ref[0] + np.float32(1.2e-7)]
    p = output_parity("prob", ref, cand, "x.tflite")
    assert p.rel_l2 > 0.1 and p.max_abs == pytest.approx(1.2e-7, rel=1e-3)
    assert fp32_problem(p) == ""
    broken = [ref[0] * 0 + 0.5]
    problem = fp32_problem(output_parity("prob", ref, broken, "x.tflite"))
    assert problem.startswith("fp32 output prob: max abs error 5.00e-01 exceeds 1e-04 of the output's range")
    same = output_parity("prob", ref, ref, "x.tflite")
    assert (same.max_abs, same.snr_db, same.cosine) == (0.0, None, pytest.approx(1.0))


def test_drop_text():
    from mobiledepth.conversion.view import drop_text
    from mobiledepth.records.conversion import TaskScore

    def score(drop, interval):
        return TaskScore("depth", "whdr", 0.2, 1000, "pairs", False, drop=drop, interval=interval)

    assert drop_text(score(0.0027, (-0.0004, 0.0059))) == "+0.0027 (-0.0004 to +0.0059)"
    assert drop_text(score(-0.001, None)) == "-0.0010"
    assert drop_text(None) == ""
