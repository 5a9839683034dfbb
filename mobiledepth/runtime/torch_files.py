"""What a PyTorch file is (our checkpoint, TorchScript, a torch.export program) and how to open the
foreign kinds as an inference-only ``nn.Module``; used by convert, bench, eval and predict alike."""

from __future__ import annotations

import types
import zipfile
from pathlib import Path

import torch
from torch import nn

from ..errors import MobileDepthError

ACCEPTED = ("a mobiledepth checkpoint (.pt)", "an ONNX file (.onnx, fixed or dynamic shape)", "a TorchScript archive",
            "a torch.export program (.pt2)", "an nn.Module (Python API)")  # fmt: skip


def torch_file_kind(path: Path) -> str:
    """checkpoint | torchscript | export, from the archive's contents as much as its name."""
    if not zipfile.is_zipfile(path):
        if path.suffix.lower() in (".pt", ".pth", ".ckpt"):
            return "checkpoint"  # an old-style or damaged checkpoint: load_checkpoint names the problem
        head = path.read_bytes()[:16]
        raise MobileDepthError(
            f"{path}: not a model this tool reads (neither a zip archive nor ONNX; starts {head!r}); "
            f"accepted: {', '.join(ACCEPTED)}"
        )
    names = zipfile.ZipFile(path).namelist()
    if path.suffix.lower() == ".pt2" or any(
        n.endswith("serialized_exported_program.json") or "/models/" in n for n in names
    ):
        return "export"
    if any("/code/" in n for n in names):
        return "torchscript"
    return "checkpoint"


def inference_only(module: nn.Module) -> nn.Module:
    """torch.export's unlifted module raises on train()/eval(), which the ONNX exporter calls; it is
    inference-only already, so both become no-ops on this instance."""
    module.train = types.MethodType(lambda self, mode=True: self, module)
    module.eval = types.MethodType(lambda self: self, module)
    return module


def load_foreign_module(path: Path, kind: str) -> nn.Module:
    """A TorchScript archive or a torch.export program as a module in inference mode."""
    try:
        if kind == "torchscript":
            return torch.jit.load(str(path), map_location="cpu").eval()
        return inference_only(torch.export.load(str(path)).module())
    except Exception as exc:
        raise MobileDepthError(f"{path}: not a readable {kind} file ({str(exc).splitlines()[0][:120]})") from None


def first_output(y) -> torch.Tensor:
    """The depth map of a foreign network's output: the first tensor of a tuple, list or dict."""
    if isinstance(y, dict):
        y = next(iter(y.values()))
    return y[0] if isinstance(y, (tuple, list)) else y
