"""Image I/O and resizing with one convention everywhere: float32 RGB in [0, 1], H x W x 3."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import MobileDepthError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".thumb", ".webp")
MAX_PIXELS = 64_000_000  # a decompression bomb (a tiny file declaring a huge image) is refused before decoding
_ROTATED = (5, 6, 7, 8)  # EXIF orientations that swap width and height


def _as_rgb(img: Image.Image) -> np.ndarray:
    """Float RGB in [0, 1] whatever the mode: 16- and 32-bit grayscale scaled by their own range (PIL's
    ``convert("RGB")`` clips them, so a 16-bit PNG read all white), palettes and alpha through RGBA."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        gray = np.asarray(img, dtype=np.float32) / 65535.0
    elif img.mode == "I":  # 32-bit integer: PNG 16-bit grayscale often arrives so
        gray = np.asarray(img, dtype=np.float32) / (65535.0 if np.asarray(img).max() <= 65535 else 2.0**31 - 1)
    elif img.mode == "F":
        gray = np.clip(np.nan_to_num(np.asarray(img, dtype=np.float32)), 0.0, 1.0)
    else:
        if img.mode in ("P", "PA", "LA", "La"):
            img = img.convert("RGBA")
        return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    return np.repeat(np.clip(gray, 0.0, 1.0)[..., None], 3, axis=2)


def _open(path: str | os.PathLike) -> Image.Image:
    img = Image.open(path)
    if img.width * img.height > MAX_PIXELS:
        img.close()
        raise MobileDepthError(f"{path}: image of {img.width}x{img.height} pixels exceeds {MAX_PIXELS:,} (refused "
                               "before decoding: a decompression bomb, or far larger than any input)")  # fmt: skip
    return img


def load_rgb(path: str | os.PathLike) -> np.ndarray:
    """The image as the camera saw it: EXIF orientation applied (a phone's JPEG is stored sideways)."""
    try:
        with _open(path) as img:
            return _as_rgb(ImageOps.exif_transpose(img))
    except Image.DecompressionBombError:
        raise MobileDepthError(f"{path}: image refused as a decompression bomb (over {MAX_PIXELS:,} pixels)") from None
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise MobileDepthError(f"{path}: cannot read image ({exc.__class__.__name__})") from None


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) as :func:`load_rgb` returns the image (EXIF rotation applied), from the header only."""
    try:
        with Image.open(path) as img:
            w, h = img.size
            return (h, w) if img.getexif().get(0x0112) in _ROTATED else (w, h)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
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
