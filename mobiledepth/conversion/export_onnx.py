"""PyTorch -> ONNX with fixed shapes (phones want static shapes; onnx2tf converts them best)."""

from __future__ import annotations

import io
import os
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import torch
from torch import nn

from ..fileio import atomic_path

INPUT_NAME = "image"
OUTPUT_NAME = "depth"
OPSET = 17


def export_onnx(model: nn.Module, path: str | os.PathLike, height: int, width: int,
                output_names: tuple[str, ...] = (OUTPUT_NAME,)) -> Path:  # fmt: skip
    """Export an eval-mode, head-less model taking N=1 RGB [0,1] NCHW images.

    Uses the TorchScript-based exporter (``dynamo=False``): it needs no onnxscript, constant-folds
    BatchNorm into the convolutions and keeps node names stable across runs.
    """
    try:
        model = model.eval()
    except NotImplementedError:  # torch.export's unlifted modules refuse train()/eval(): already inference-only
        pass
    dummy = torch.zeros(1, 3, height, width)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sink = io.StringIO()
        with redirect_stdout(sink), redirect_stderr(sink):
            torch.onnx.export(
                model,
                (dummy,),
                str(tmp),
                input_names=[INPUT_NAME],
                output_names=list(output_names),
                opset_version=OPSET,
                dynamo=False,
                do_constant_folding=True,
            )
    return Path(path)
