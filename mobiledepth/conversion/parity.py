"""Parity of a converted file against the source model on held-out images: does it still compute the same map?

Per output, measures that hold for any output, whatever its scale (AI Edge Quantizer's set): the max
absolute error, that error over the reference's dynamic range (p99 - p1), the SNR in dB and the cosine
similarity. The relative L2 error (error norm over reference norm) is kept for reference only: on a
probability map that is ~0 on an image without its object it reads 0.15 for an exact file.

The fp32 gate: a file is the same computation when its max abs error is within 1e-4 of the output's
dynamic range plus 1e-5 (float rounding in a different order stays far below both; an exact file passes
whatever the output's scale).
"""

from __future__ import annotations

import numpy as np

from ..errors import MobileDepthError
from ..metrics.whdr import OrderingCount, ordering_disagreement
from ..records.conversion import Ordering, OutputParity

PAIRS_PER_IMAGE = 2000
FP32_RANGE_TOLERANCE = 1e-4  # of the reference's dynamic range
FP32_MIN_SNR_DB = 80.0  # a map ~0 everywhere (a probability map without its object) has no range to scale by;
# its error is judged against its own power: 80 dB is an error 1e-4 of the signal's RMS
FP32_ABS_TOLERANCE = 1e-5  # float32 rounding of values around 1, for outputs that are nearly constant


def _percentile_range(values: list[np.ndarray]) -> float:
    flat = np.concatenate([v.ravel() for v in values]).astype(np.float64)
    if flat.size > 4_000_000:  # an exact percentile of every pixel of every image is not needed
        flat = flat[:: flat.size // 4_000_000 + 1]
    p1, p99 = np.percentile(flat, [1, 99])
    return float(p99 - p1)


def output_parity(name: str, reference: list[np.ndarray], candidate: list[np.ndarray], where: str) -> OutputParity:
    """One output of a file against the source's, over the images (``reference[i]`` and ``candidate[i]`` are
    that output on image i, canonical layout)."""
    err_sq = ref_sq = cand_sq = dot = 0.0
    max_abs = 0.0
    for ref, out in zip(reference, candidate):
        if ref.shape != out.shape:
            raise MobileDepthError(
                f"{where}: output {name} has shape {list(out.shape)}, the source's "
                f"{list(ref.shape)}: the conversion changed the output"
            )
        r, c = ref.astype(np.float64), out.astype(np.float64)
        diff = c - r
        err_sq += float(np.sum(diff**2))
        ref_sq += float(np.sum(r**2))
        cand_sq += float(np.sum(c**2))
        dot += float(np.sum(r * c))
        max_abs = max(max_abs, float(np.max(np.abs(diff))) if diff.size else 0.0)
    span = _percentile_range(reference)
    return OutputParity(
        output=name,
        max_abs=max_abs,
        range=span,
        max_abs_over_range=max_abs / span if span > 0 else None,
        rel_l2=float(np.sqrt(err_sq / ref_sq)) if ref_sq > 0 else None,
        snr_db=float(10 * np.log10(ref_sq / err_sq)) if err_sq > 0 and ref_sq > 0 else None,
        cosine=float(dot / np.sqrt(ref_sq * cand_sq)) if ref_sq > 0 and cand_sq > 0 else None,
    )


def fp32_problem(p: OutputParity) -> str:
    """Why an fp32 file is not the same computation (its output moved beyond float rounding), or ''."""
    tolerance = FP32_RANGE_TOLERANCE * p.range + FP32_ABS_TOLERANCE
    if p.max_abs <= tolerance or (p.snr_db is not None and p.snr_db >= FP32_MIN_SNR_DB):
        return ""  # within rounding of the output's range, or its error power a 10^-8 share of its own
    return (
        f"fp32 output {p.output}: max abs error {p.max_abs:.2e} exceeds {FP32_RANGE_TOLERANCE:.0e} of the output's "
        f"range ({p.range:.3g}) + {FP32_ABS_TOLERANCE:.0e}, SNR {p.snr_db or 0:.1f} dB under {FP32_MIN_SNR_DB:g}: the "
        "conversion changed the computation"
    )


def ordering(reference: list[np.ndarray], candidate: list[np.ndarray]) -> Ordering:
    """Depth maps: how often the file orders visibly different random pixel pairs the other way."""
    count = OrderingCount()
    for i, (ref, out) in enumerate(zip(reference, candidate)):
        count.add(ordering_disagreement(ref, out, PAIRS_PER_IMAGE, seed=i))
    return Ordering(disagree=count.wrong_rate, ties=count.tie_rate, pairs=count.total)
