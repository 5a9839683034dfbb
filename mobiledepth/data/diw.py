"""DIW (Depth in the Wild) point-pair annotations: the real CSV format.

Two lines per record: an image path, then ``y_A,x_A,y_B,x_B,ordinal,image_width,image_height``.
Coordinates are 1-based; ``>`` means A is FARTHER than B, ``<`` closer, ``=`` equal (never in DIW
itself, accepted for other data). A path may repeat to give one image several pairs. Paths are
resolved against ``image_root`` (default: the CSV's folder).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import MobileDepthError

ORDINALS = {">": 1, "<": -1, "=": 0}


@dataclass(frozen=True)
class PointPair:
    """One annotated pair, coordinates 0-based and already clipped to the image."""

    ya: int
    xa: int
    yb: int
    xb: int
    relation: int  # +1: A farther, -1: A closer, 0: equal
    line: int  # 1-based line of the pair in the CSV, for error messages


@dataclass(frozen=True)
class DIWImage:
    path: Path
    width: int
    height: int
    pairs: tuple[PointPair, ...]


def _fail(csv_path: Path, line: int, message: str) -> MobileDepthError:
    return MobileDepthError(f"{csv_path}:{line}: {message}")


MAX_SIDE = 16384  # largest declared image side: the prediction is resized to it, so it bounds memory


def read_diw_csv(
    csv_path: str | os.PathLike, image_root: str | os.PathLike | None = None, check_images: bool = True
) -> list[DIWImage]:
    """Parse a DIW CSV. Malformed lines, missing images and out-of-range points raise with the line number."""
    csv_path = Path(csv_path)
    try:
        raw = csv_path.read_text(encoding="utf-8-sig").splitlines()  # a BOM is not part of the first image path
    except (OSError, UnicodeDecodeError) as exc:
        raise MobileDepthError(f"{csv_path}: cannot read DIW CSV ({exc.__class__.__name__})") from None
    root = Path(image_root) if image_root is not None else csv_path.parent
    lines = [(i + 1, text.strip()) for i, text in enumerate(raw) if text.strip()]
    if not lines:
        raise MobileDepthError(f"{csv_path}: empty DIW CSV")
    if len(lines) % 2:
        raise _fail(csv_path, lines[-1][0], "image path without an annotation line after it")
    grouped: dict[Path, tuple[int, int, list[PointPair]]] = {}
    for (path_line, path_text), (ann_line, ann_text) in zip(lines[0::2], lines[1::2]):
        fields = [f.strip() for f in ann_text.split(",")]
        if len(fields) != 7:
            raise _fail(
                csv_path,
                ann_line,
                f"expected 7 comma-separated fields 'y_A,x_A,y_B,x_B,ordinal,width,height', got {len(fields)}",
            )
        try:
            ya, xa, yb, xb = (int(float(v)) for v in fields[:4])
            width, height = int(float(fields[5])), int(float(fields[6]))
        except (ValueError, OverflowError):  # OverflowError: 'inf'; ValueError: 'nan' or text
            raise _fail(csv_path, ann_line, f"non-numeric or non-finite coordinate or size in {ann_text!r}") from None
        if fields[4] not in ORDINALS:
            raise _fail(csv_path, ann_line, f"ordinal must be one of > < =, got {fields[4]!r}")
        if width <= 0 or height <= 0:
            raise _fail(csv_path, ann_line, f"image size must be positive, got width={width} height={height}")
        if width > MAX_SIDE or height > MAX_SIDE:  # the map is resized to this size: refuse before allocating it
            raise _fail(csv_path, ann_line, f"image size {width}x{height} exceeds {MAX_SIDE} pixels per side")
        for name, value, limit in (("y_A", ya, height), ("x_A", xa, width), ("y_B", yb, height), ("x_B", xb, width)):
            if not 1 <= value <= limit:
                raise _fail(csv_path, ann_line, f"{name}={value} is outside 1..{limit} (coordinates are 1-based)")
        image_path = (root / path_text).resolve() if not os.path.isabs(path_text) else Path(path_text)
        if check_images and image_path not in grouped and not image_path.is_file():
            raise _fail(csv_path, path_line, f"image not found: {image_path}")
        pair = PointPair(ya - 1, xa - 1, yb - 1, xb - 1, ORDINALS[fields[4]], ann_line)
        if image_path in grouped:
            w0, h0, pairs = grouped[image_path]
            if (w0, h0) != (width, height):
                raise _fail(
                    csv_path,
                    ann_line,
                    f"size {width}x{height} disagrees with earlier lines for {image_path.name} ({w0}x{h0})",
                )
            pairs.append(pair)
        else:
            if check_images:
                _check_size(csv_path, ann_line, image_path, width, height)
            grouped[image_path] = (width, height, [pair])
    return [DIWImage(path, w, h, tuple(pairs)) for path, (w, h, pairs) in grouped.items()]


def _check_size(csv_path: Path, line: int, image: Path, width: int, height: int) -> None:
    """The CSV's coordinates are in the image's pixels: a file of another size would be scored on pairs that
    point elsewhere (a resized or rotated copy), silently."""
    from .images import image_size

    actual = image_size(image)
    if actual != (width, height):
        raise _fail(csv_path, line, f"declares {width}x{height} for {image.name}, but the image is "
                                    f"{actual[0]}x{actual[1]} (EXIF rotation applied)")  # fmt: skip


def format_pair_line(ya: int, xa: int, yb: int, xb: int, relation: int, width: int, height: int) -> str:
    """One DIW annotation line from 0-based coordinates."""
    symbol = {1: ">", -1: "<", 0: "="}[relation]
    return f"{ya + 1},{xa + 1},{yb + 1},{xb + 1},{symbol},{width},{height}"


def find_csv(data: str | os.PathLike, split: str = "test") -> Path:
    """``data`` may be a CSV, or a folder holding ``DIW_<split>.csv`` (or exactly one CSV)."""
    data = Path(data)
    if data.is_file():
        return data
    if not data.is_dir():
        raise MobileDepthError(f"{data}: no such data file or folder")
    preferred = data / f"DIW_{split}.csv"
    if preferred.is_file():
        return preferred
    csvs = sorted(data.glob("*.csv"))
    if len(csvs) == 1:
        return csvs[0]
    if not csvs:
        raise MobileDepthError(f"{data}: no DIW CSV found (expected DIW_{split}.csv)")
    raise MobileDepthError(f"{data}: several CSVs and no DIW_{split}.csv: {', '.join(c.name for c in csvs)}")
