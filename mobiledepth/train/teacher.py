"""Distillation teachers (paper Eq. 5): anything that maps an image batch to (depth map, feature map).

- a mobiledepth checkpoint (e.g. the wider ``mobiledepth-wide`` variant), features = its penultimate
  decoder map;
- a TorchScript file whose forward returns ``(depth, features)``;
- an ONNX file with two outputs ``depth`` and ``features`` (ONNX Runtime).

Outputs are brought to the student's convention: a disparity-like teacher is negated (so larger =
farther); optionally each map is standardised (zero median, unit mean absolute deviation), because a
relative-depth teacher's scale is arbitrary. The teacher runs without gradients, in eval mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import MobileDepthError


def standardise(z: torch.Tensor) -> torch.Tensor:
    flat = z.flatten(1)
    med = flat.median(dim=1, keepdim=True).values
    mad = (flat - med).abs().mean(dim=1, keepdim=True).clamp_min(1e-6)
    return ((flat - med) / mad).view_as(z)


@dataclass
class TeacherOutput:
    depth: torch.Tensor
    features: torch.Tensor


class Teacher:
    def __init__(self, path: str | Path, disparity: bool = False, normalise: bool = False) -> None:
        self.path = Path(path)
        self.disparity, self.normalise = disparity, normalise
        if not self.path.is_file():
            raise MobileDepthError(f"{self.path}: no such teacher file")
        suffix = self.path.suffix.lower()
        self._onnx = None
        self._module = None
        if suffix == ".onnx":
            import onnxruntime as ort

            self._onnx = ort.InferenceSession(str(self.path), providers=["CPUExecutionProvider"])
            names = [o.name for o in self._onnx.get_outputs()]
            if len(names) < 2:
                raise MobileDepthError(
                    f"{self.path}: an ONNX teacher needs two outputs (depth, features), found {names}"
                )
        elif suffix in (".ts", ".torchscript", ".jit"):
            self._module = torch.jit.load(str(self.path), map_location="cpu").eval()
        else:
            from ..model.checkpoint import load_checkpoint

            model = load_checkpoint(self.path).build(with_heads=False).eval()
            self._module = _CheckpointTeacher(model)
        if self._module is not None:
            for p in self._module.parameters():
                p.requires_grad_(False)

    def to(self, device: torch.device) -> "Teacher":
        if self._module is not None:
            self._module.to(device)
        return self

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, feature_size: tuple[int, int]) -> TeacherOutput:
        if self._onnx is not None:
            depth, feats = self._onnx.run(
                None, {self._onnx.get_inputs()[0].name: images.cpu().numpy().astype(np.float32)}
            )[:2]
            depth, feats = torch.from_numpy(depth).to(images.device), torch.from_numpy(feats).to(images.device)
        else:
            depth, feats = self._module(images)
        if depth.dim() == 3:
            depth = depth[:, None]
        if depth.shape[-2:] != images.shape[-2:]:
            depth = F.interpolate(depth, size=images.shape[-2:], mode="bilinear", align_corners=False)
        if self.disparity:
            depth = -depth
        if self.normalise:
            depth = standardise(depth)
        if feats.shape[-2:] != tuple(feature_size):
            feats = F.interpolate(feats, size=feature_size, mode="bilinear", align_corners=False)
        return TeacherOutput(depth.float(), feats.float())


class _CheckpointTeacher(torch.nn.Module):
    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor):
        out = self.model.forward_all(x)
        return out.depth, out.features
