"""Image I/O and resizing with one convention everywhere: float32 RGB in [0, 1], H x W x 3."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import MobileDepthError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".thumb", ".webp")


def load_rgb(path: str | os.PathLike) -> np.ndarray:
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError) as exc:
        raise MobileDepthError(f"{path}: cannot read image ({exc.__class__.__name__})") from None


def save_rgb(path: str | os.PathLike, image: np.ndarray) -> None:
    Image.fromarray(np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)).save(path)


def resize_rgb(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of an RGB image (network input)."""
    if image.shape[:2] == (height, width):
        return image
    pil = Image.fromarray(np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8))
    return np.asarray(pil.resize((width, height), Image.BILINEAR), dtype=np.float32) / 255.0


RESIZE_METHODS = ("torch7", "bilinear")


def resize_map(depth: np.ndarray, height: int, width: int, method: str = "bilinear") -> np.ndarray:
    """Resize a single-channel map. ``bilinear``: PyTorch's ``interpolate`` (align_corners=False);
    ``torch7``: Torch7 ``image.scale``, the DIW reference evaluation's resize (metrics/torch7_scale.py)."""
    if method not in RESIZE_METHODS:
        raise MobileDepthError(f"resize {method!r}: choose from {', '.join(RESIZE_METHODS)}")
    if depth.shape == (height, width):
        return depth.astype(np.float32, copy=False)
    if method == "torch7":
        from ..metrics.torch7_scale import torch7_scale

        return torch7_scale(depth, height, width)
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(depth, dtype=np.float32))[None, None]
    return F.interpolate(t, size=(height, width), mode="bilinear", align_corners=False)[0, 0].numpy()


def list_images(folder: str | os.PathLike) -> list[Path]:
    folder = Path(folder)
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
