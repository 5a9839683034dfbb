"""TFLite model analysis: op histogram and the ops the GPU delegate cannot run.

Uses TensorFlow's model analyzer in GPU-compatibility mode (``tf.lite.experimental.Analyzer``), the
same check TensorFlow runs before delegating. Its text output is parsed: ``Op#N NAME(...)`` lines give
the op histogram, and a ``GPU COMPATIBILITY WARNING: <reason>`` line after an op marks it.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections import Counter

from ..records.conversion import GpuIncompatibleOp, ModelAnalysis

_OP_LINE = re.compile(r"^\s*Op#(\d+)\s+([A-Z0-9_]+)\(")
_WARNING = "GPU COMPATIBILITY WARNING:"


def parse_analyzer_output(text: str) -> ModelAnalysis:
    """Parse ``Analyzer.analyze(..., gpu_compatibility=True)`` output (first subgraph's ops and all warnings)."""
    ops: Counter[str] = Counter()
    bad: list[GpuIncompatibleOp] = []
    last: tuple[int, str] | None = None
    for line in text.splitlines():
        match = _OP_LINE.match(line)
        if match:
            last = (int(match.group(1)), match.group(2))
            ops[last[1]] += 1
            continue
        stripped = line.strip()
        if stripped.startswith(_WARNING):
            reason = stripped[len(_WARNING) :].strip()
            if reason.startswith("Subgraph#"):
                continue  # the per-subgraph summary repeats the per-op warnings
            if last is not None:
                bad.append(GpuIncompatibleOp(last[0], last[1], reason))
    compatible = None
    if "looks compatible with GPU delegate" in text:
        compatible = True
    if bad or "has GPU delegate compatibility issues" in text:
        compatible = False
    return ModelAnalysis(ops=dict(ops), gpu_compatible=compatible, gpu_incompatible=tuple(bad))


def _import_tensorflow_quietly():
    """TensorFlow's absl logging writes INFO lines to file descriptor 2 before any log level applies
    (TF_CPP_MIN_LOG_LEVEL does not reach them); they would litter every command's output."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tf


def analyze_tflite(path: str | os.PathLike) -> ModelAnalysis:
    """Run the analyzer; without TensorFlow installed, return an empty analysis with a note."""
    try:
        tf = _import_tensorflow_quietly()
    except ImportError:
        return ModelAnalysis(note="TensorFlow not installed: no op analysis")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        tf.lite.experimental.Analyzer.analyze(model_path=str(path), gpu_compatibility=True)
    return parse_analyzer_output(buffer.getvalue())
