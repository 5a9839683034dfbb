"""Where an int8 TFLite file loses accuracy: every activation tensor compared with the float file.

Both files come from one onnx2tf run, so a tensor keeps its op name (the first ';'-separated part of
its TFLite name) in both. Each file runs with every intermediate tensor preserved and without the
XNNPACK delegate (whose fused kernels hide intermediates); the int8 tensor is dequantised and compared
with the float one. Errors are accumulated (each tensor sees the rounding of everything before it),
which is what the final map inherits; ``steps`` (RMSE / scale) shows where a tensor's own grid is
coarse against what arrives, and ``clipped`` where the calibrated range cuts values off.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..records.conversion import TensorError


def _interpreter(path: Path):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from ..runtime.tflite_interpreter import model_source

    interp = Interpreter(
        **model_source(path),
        experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interp.allocate_tensors()
    return interp


def _key(name: str) -> str:
    return name.split(";")[0]


def _activations(interp) -> dict[str, dict]:
    """4-D tensors by op name (weights and shape constants are not 4-D activations here)."""
    out = {}
    for t in interp.get_tensor_details():
        if len(t["shape"]) == 4 and t["shape"][0] == 1:
            out.setdefault(_key(t["name"]), t)
    return out


def _feed(interp, image: np.ndarray) -> None:
    detail = interp.get_input_details()[0]
    x = image[None].astype(np.float32)
    if detail["dtype"] in (np.int8, np.uint8):
        scale, zero = detail["quantization"]
        info = np.iinfo(detail["dtype"])
        x = np.clip(np.round(x / scale + zero), info.min, info.max).astype(detail["dtype"])
    interp.set_tensor(detail["index"], x)
    interp.invoke()


def tensor_errors(float_file: Path, int8_file: Path, images: list[np.ndarray]) -> list[TensorError]:
    """Per-tensor accumulated error of ``int8_file`` against ``float_file`` on NHWC [0, 1] ``images``,
    in graph order of the int8 file's tensors."""
    ref, q = _interpreter(float_file), _interpreter(int8_file)
    ref_t, q_t = _activations(ref), _activations(q)
    names = [n for n, t in q_t.items() if n in ref_t and t["dtype"] == np.int8 and t["quantization"][0] > 0]
    sums = {n: [0.0, 0, 0, np.inf, -np.inf, 0.0] for n in names}  # squared error, count, clipped, min, max, squares
    for image in images:
        _feed(ref, image)
        _feed(q, image)
        for n in names:
            scale, zero = q_t[n]["quantization"]
            a = ref.get_tensor(ref_t[n]["index"]).astype(np.float64)
            b = (q.get_tensor(q_t[n]["index"]).astype(np.float64) - zero) * scale
            if a.shape != b.shape:
                continue
            lo, hi = (-128 - zero) * scale, (127 - zero) * scale
            s = sums[n]
            s[0] += float(np.sum((a - b) ** 2))
            s[1] += a.size
            s[2] += int(np.sum((a < lo - scale / 2) | (a > hi + scale / 2)))
            s[3], s[4] = min(s[3], float(a.min())), max(s[4], float(a.max()))
            s[5] += float(np.sum(a**2))
    rows = []
    for n in names:
        sq, count, clipped, fmin, fmax, squares = sums[n]
        if not count:
            continue
        scale, zero = q_t[n]["quantization"]
        rmse = float(np.sqrt(sq / count))
        rows.append(
            TensorError(
                tensor=n,
                shape=tuple(int(d) for d in q_t[n]["shape"]),
                scale=float(scale),
                zero_point=int(zero),
                quant_min=float((-128 - zero) * scale),
                quant_max=float((127 - zero) * scale),
                float_min=fmin,
                float_max=fmax,
                rmse=rmse,
                rmse_over_range=rmse / (fmax - fmin) if fmax > fmin else 0.0,
                relative=rmse / float(np.sqrt(squares / count)) if squares else 0.0,
                steps=rmse / scale,
                clipped=clipped / count,
            )
        )
    return rows


def worst(rows: list[TensorError], n: int = 8) -> list[TensorError]:
    """The tensors whose signal is most corrupted (RMSE relative to the float tensor's RMS)."""
    return sorted(rows, key=lambda r: r.relative, reverse=True)[:n]
