"""Image lists from a data folder: a DIW-format folder (by split) or a plain folder of images."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import MobileDepthError
from .diw import read_diw_csv
from .images import list_images


def images_for_split(data: str | os.PathLike, split: str) -> list[Path]:
    """Images of ``DIW_<split>.csv`` when the folder has one, else every image under the folder."""
    data = Path(data)
    if data.is_file() and data.suffix.lower() == ".csv":
        return [entry.path for entry in read_diw_csv(data)]
    if not data.is_dir():
        raise MobileDepthError(f"{data}: no such image folder")
    csv = data / f"DIW_{split}.csv"
    images = [entry.path for entry in read_diw_csv(csv)] if csv.is_file() else list_images(data)
    if not images:
        raise MobileDepthError(f"{data}: no images found (expected DIW_{split}.csv or image files)")
    return images
