"""The conversion's third stage: onnx2tf's files copied out, each through its precision's passes, atomically.

Which passes a file gets is the precision table's row (:data:`~.precisions.PRECISIONS`); what each pass
edited is recorded per precision in the report's rewrites.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import MobileDepthError
from ..fileio import atomic_path
from ..records.conversion import GraphRewrites
from .onnx2tf_runner import Onnx2TfResult
from .precisions import PRECISIONS


@dataclass(frozen=True)
class Written:
    path: Path
    format: str  # onnx | tflite
    precision: str


def tflite_name(stem: str, precision: str) -> str:
    return f"{stem}_{precision.replace('-', '_')}.tflite"


def graph_rewrites(result: Onnx2TfResult) -> GraphRewrites:
    """What was rewritten on the ONNX copy onnx2tf converted (before any file pass)."""
    applied = result.rewrites.applied
    return GraphRewrites(
        depth_to_space=tuple(applied.get("depth_to_space", ())),
        input_fold=tuple(applied.get("input_fold", ())),
        note=result.rewrites.note,
    )


def write_tflite_files(
    result: Onnx2TfResult, out_dir: Path, stem: str, precisions: tuple[str, ...], float_output: bool, source: str
) -> tuple[list[Written], GraphRewrites]:
    """Every asked precision's file, through its passes, into ``out_dir``; the rewrites made on the way."""
    rewrites = graph_rewrites(result)
    written = []
    for precision, row in PRECISIONS.items():
        if precision not in precisions:
            continue
        if precision not in result.files:
            raise MobileDepthError(f"{source}: onnx2tf wrote no {precision} file (see {out_dir / 'onnx2tf.log'})")
        data = result.files[precision].read_bytes()
        for key, file_pass in row.passes:
            data, edited = file_pass(data, float_output)
            if edited:
                block = {**getattr(rewrites, key), precision: edited}
                rewrites = replace(rewrites, **{key: block})
        target = out_dir / tflite_name(stem, precision)
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
        written.append(Written(target, "tflite", precision))
    return written, rewrites
