"""What a PyTorch file is (our checkpoint, TorchScript, a torch.export program) and how to open the
foreign kinds as an inference-only ``nn.Module``; used by convert, bench, eval and predict alike."""

from __future__ import annotations

import io
import pickle
import types
import warnings
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from unittest.mock import patch

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


def check_pickles(path: Path) -> None:
    """Refuse an archive any of whose pickled members safe loading (``weights_only=True``) rejects.

    Why: ``torch.export.load`` unpickles a program's sample inputs and constants with ``weights_only=True``
    and, when that fails, tries again with ``weights_only=False``, which runs whatever code the pickle
    names. Every member that is a pickle (a ``torch.save`` zip or a bare pickle stream) is tried here with
    safe loading first; one that fails ends the load before torch sees the file."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            with archive.open(info) as member:
                head = member.read(4)
            if not (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"):
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    torch.load(io.BytesIO(archive.read(info)), map_location="cpu", weights_only=True)
            except Exception:
                raise MobileDepthError(
                    f"{path}: {info.filename} holds objects that safe loading refuses (code or arbitrary Python "
                    "objects, not tensors); nothing from the file was run"
                ) from None


@contextmanager
def safe_unpickling() -> Iterator[None]:
    """While a torch.export program loads, no unpickler that can run code exists: ``torch.load`` is safe
    whatever its caller asks (torch.export's loader asks ``weights_only=False`` for pickled weights and
    constants, and falls back to it for sample inputs), and the plain and TorchScript object unpicklers it
    uses for opaque and custom constants refuse. A program that needs them is not one we run."""
    from torch.export.pt2_archive import _package

    real_load = torch.load

    def load(*args: Any, **kwargs: Any) -> Any:
        return real_load(*args, **{**kwargs, "weights_only": True})

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise pickle.UnpicklingError("arbitrary Python objects are not loaded from model files")

    with patch.object(torch, "load", load), patch.object(_package, "pickle", types.SimpleNamespace(loads=refuse)), \
            patch.object(torch._C, "_pickle_load_obj", refuse):  # fmt: skip
        yield


def load_foreign_module(path: Path, kind: str) -> nn.Module:
    """A TorchScript archive or a torch.export program as a module in inference mode, loaded safely:
    TorchScript through its own restricted unpickler, a program only after :func:`check_pickles`."""
    if kind == "export":
        check_pickles(path)
    try:
        if kind == "torchscript":
            return torch.jit.load(str(path), map_location="cpu").eval()
        with safe_unpickling():
            program = torch.export.load(str(path))
        return inference_only(program.module())
    except Exception as exc:
        raise MobileDepthError(f"{path}: not a readable {kind} file ({str(exc).splitlines()[0][:120]})") from None


def output_list(y) -> list[torch.Tensor]:
    """A foreign network's outputs in order: the tensors of a tuple, list or dict, or the one tensor."""
    if isinstance(y, dict):
        y = list(y.values())
    items = list(y) if isinstance(y, (tuple, list)) else [y]
    tensors = [t for t in items if isinstance(t, torch.Tensor)]
    if not tensors:
        raise MobileDepthError(f"the model returned {type(y).__name__}, not tensors")
    return tensors


def first_output(y) -> torch.Tensor:
    """The first tensor of a foreign network's outputs."""
    return output_list(y)[0]
