"""Torch7's ``image.scale`` (bilinear mode), the resize of the DIW authors' WHDR evaluation.

princeton-vl/relative_depth ``src/experiment/test_model_on_DIW.lua`` resizes the network output back
to the original image size with ``image.scale(output, orig_width, orig_height)``, whose kernel is
``scaleLinear_rowcol`` in torch/image ``generic/image.c`` (the same code lives in pytorch's old
``torch/lib/THIMG/generic/image.c``): rows first, then columns; along each axis

- enlarging: corner-aligned, ``scale = (src - 1) / (dst - 1)`` in float, sample ``si = di * scale``
  truncated, linear weights, and the last output copies the last input;
- shrinking: area average with fractional end weights, ``scale = src / dst``;
- equal length: copy.

This is a straight port of that kernel (float32 arithmetic, as the FloatTensor version), written as
one interpolation matrix per axis. It differs from PyTorch's bilinear (align_corners=False), which
orders about 1.5% of random pixel pairs differently on real-sized images.
"""

from __future__ import annotations

import numpy as np


def _enlarge(src_len: int, dst_len: int) -> np.ndarray:
    m = np.zeros((dst_len, src_len), dtype=np.float32)
    if src_len == 1:
        m[:, 0] = 1.0
        return m
    scale = np.float32(src_len - 1) / np.float32(dst_len - 1)
    for di in range(dst_len - 1):
        si_f = np.float32(di) * scale
        si_i = int(si_f)
        frac = np.float32(si_f - np.float32(si_i))
        m[di, si_i] += np.float32(1.0) - frac
        if frac != 0:
            m[di, si_i + 1] += frac
    m[dst_len - 1, src_len - 1] = 1.0
    return m


def _shrink(src_len: int, dst_len: int) -> np.ndarray:
    m = np.zeros((dst_len, src_len), dtype=np.float32)
    scale = np.float32(src_len) / np.float32(dst_len)
    si0_i, si0_f = 0, np.float32(0.0)
    for di in range(dst_len):
        si1 = np.float32(di + 1) * scale
        si1_i = int(si1)
        si1_f = np.float32(si1 - np.float32(si1_i))
        row = np.zeros(src_len, dtype=np.float32)
        row[si0_i] += np.float32(1.0) - si0_f
        row[si0_i + 1 : si1_i] += 1.0
        if si1_i < src_len:
            row[si1_i] += si1_f
        m[di] = row / row.sum(dtype=np.float32)
        si0_i, si0_f = si1_i, si1_f
    return m


def scale_matrix(src_len: int, dst_len: int) -> np.ndarray:
    """The ``dst_len x src_len`` matrix of ``scaleLinear_rowcol`` along one axis."""
    if dst_len > src_len:
        return _enlarge(src_len, dst_len)
    if dst_len < src_len:
        return _shrink(src_len, dst_len)
    return np.eye(src_len, dtype=np.float32)


def torch7_scale(depth: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a 2-D map to ``height x width`` as Torch7 ``image.scale(depth, width, height)`` does."""
    depth = np.asarray(depth, dtype=np.float32)
    rows = depth @ scale_matrix(depth.shape[1], width).T  # compress/expand rows first (width)
    return (scale_matrix(depth.shape[0], height) @ rows).astype(np.float32)  # then columns (height)


def torch7_scale_reference(depth: np.ndarray, height: int, width: int) -> np.ndarray:
    """The C loops transcribed line by line (slow; for tests against :func:`torch7_scale`)."""

    def rowcol(src: np.ndarray, dst_len: int) -> np.ndarray:
        src_len = len(src)
        dst = np.zeros(dst_len, dtype=np.float32)
        if dst_len > src_len:
            scale = np.float32(src_len - 1) / np.float32(dst_len - 1) if dst_len > 1 else np.float32(0)
            for di in range(dst_len - 1):
                if src_len == 1:
                    dst[di] = src[0]
                    continue
                si_f = np.float32(di) * scale
                si_i = int(si_f)
                si_f = np.float32(si_f - si_i)
                nxt = src[si_i + 1] if si_f != 0 else np.float32(0)
                dst[di] = (np.float32(1) - si_f) * src[si_i] + si_f * nxt
            dst[dst_len - 1] = src[src_len - 1]
        elif dst_len < src_len:
            scale = np.float32(src_len) / np.float32(dst_len)
            si0_i, si0_f = 0, np.float32(0)
            for di in range(dst_len):
                si1_f = np.float32(di + 1) * scale
                si1_i = int(si1_f)
                si1_f = np.float32(si1_f - si1_i)
                acc = (np.float32(1) - si0_f) * src[si0_i]
                n = np.float32(1) - si0_f
                for si in range(si0_i + 1, si1_i):
                    acc += src[si]
                    n += 1
                if si1_i < src_len:
                    acc += si1_f * src[si1_i]
                    n += si1_f
                dst[di] = acc / n
                si0_i, si0_f = si1_i, si1_f
        else:
            dst[:] = src
        return dst

    depth = np.asarray(depth, dtype=np.float32)
    tmp = np.stack([rowcol(r, width) for r in depth])
    return np.stack([rowcol(c, height) for c in tmp.T]).T
