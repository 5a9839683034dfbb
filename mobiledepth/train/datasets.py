"""Training data. Every sample is ``(image 3xHxW in [0,1], target dict)``; augmentation moves the
annotations with the pixels. Randomness comes from a per-sample generator seeded by
(seed, epoch, index), so a resumed run sees exactly the samples an uninterrupted run would have.

Layouts (see README "Training data"):
- ``diw``: a DIW CSV (``DIW_train.csv``), images resolved relative to it.
- ``relative`` (ReDWeb-style): ``imgs/NAME.jpg`` + ``RDs/NAME.png`` (dense relative depth, 8/16-bit PNG
  or .npy), listed in ``<split>.txt`` (one NAME per line) or all of ``imgs/``. ``disparity = true``
  when larger values mean nearer (ReDWeb's maps).
- ``dense`` (Mannequin-Challenge / NYU-style): ``images/NAME.(png|jpg)`` + ``depth/NAME.(npy|png)``
  (PNG in millimetres), 0 = invalid.
- ``synth``: our generator's folder (DIW CSVs + ``depth/*.npy``), used densely: pairs are sampled
  from the exact depth, ReDWeb-style.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..data.diw import read_diw_csv
from ..data.images import IMAGE_SUFFIXES, load_rgb
from ..errors import MobileDepthError
from ..seeds import sample_seed
from .losses import sample_relative_pairs


@dataclass
class AugmentConfig:
    flip: bool = True
    scale: tuple[float, float] = (1.0, 1.25)  # zoom, then crop back to the network size
    rotate_deg: float = 5.0
    jitter: float = 0.2  # brightness / contrast / saturation amplitude


def _generator(seed: int, epoch: int, index: int) -> torch.Generator:
    return torch.Generator().manual_seed(sample_seed(seed, epoch, index))


class Augment:
    """Geometric augmentation as one affine map applied to the image, dense maps and point pairs alike."""

    def __init__(self, config: AugmentConfig | None, height: int, width: int) -> None:
        self.config = config
        self.h, self.w = height, width

    def sample(self, g: torch.Generator) -> dict[str, float]:
        c = self.config
        if c is None:
            return {"flip": 0.0, "scale": 1.0, "angle": 0.0, "tx": 0.0, "ty": 0.0, "b": 1.0, "c": 1.0, "s": 1.0}
        u = torch.rand(8, generator=g).tolist()
        scale = c.scale[0] + (c.scale[1] - c.scale[0]) * u[1]
        slack = 1 - 1 / scale  # how far the crop window may move, in normalised units
        return {
            "flip": float(c.flip and u[0] < 0.5),
            "scale": scale,
            "angle": math.radians(c.rotate_deg * (2 * u[2] - 1)),
            "tx": slack * (2 * u[3] - 1),
            "ty": slack * (2 * u[4] - 1),
            "b": 1 + c.jitter * (2 * u[5] - 1),
            "c": 1 + c.jitter * (2 * u[6] - 1),
            "s": 1 + c.jitter * (2 * u[7] - 1),
        }

    def _theta(self, p: dict[str, float]) -> torch.Tensor:
        """Output normalised coords -> input normalised coords (affine_grid convention, align_corners=False)."""
        cos, sin = math.cos(p["angle"]), math.sin(p["angle"])
        fx = -1.0 if p["flip"] else 1.0
        a = torch.tensor(
            [
                [fx * cos / p["scale"], -sin / p["scale"] * self.h / self.w, p["tx"]],
                [fx * sin / p["scale"] * self.w / self.h, cos / p["scale"], p["ty"]],
            ],
            dtype=torch.float32,
        )
        return a

    def warp(self, tensor: torch.Tensor, p: dict[str, float], mode: str) -> torch.Tensor:
        """(C, H, W) already at network size -> warped (C, H, W)."""
        theta = self._theta(p)
        if torch.equal(theta, torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])):
            return tensor
        grid = F.affine_grid(theta[None], [1, tensor.shape[0], self.h, self.w], align_corners=False)
        return F.grid_sample(
            tensor[None], grid, mode=mode, padding_mode="border" if mode == "bilinear" else "zeros", align_corners=False
        )[0]

    def move_points(
        self, ys: torch.Tensor, xs: torch.Tensor, p: dict[str, float]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Pixel coords in the unwarped image -> pixel coords in the warped one (inverse of the grid map);
        returns (y, x, inside) where inside marks points still in the frame."""
        theta = self._theta(p)
        m = torch.cat([theta, torch.tensor([[0.0, 0.0, 1.0]])])
        inv = torch.linalg.inv(m)
        nx = (xs + 0.5) / self.w * 2 - 1
        ny = (ys + 0.5) / self.h * 2 - 1
        out = inv @ torch.stack([nx, ny, torch.ones_like(nx)])
        x = (out[0] + 1) / 2 * self.w - 0.5
        y = (out[1] + 1) / 2 * self.h - 0.5
        inside = (x >= -0.5) & (x <= self.w - 0.5) & (y >= -0.5) & (y <= self.h - 0.5)
        return y.round().clamp(0, self.h - 1), x.round().clamp(0, self.w - 1), inside

    def colour(self, image: torch.Tensor, p: dict[str, float]) -> torch.Tensor:
        if self.config is None:
            return image
        gray = image.mean(0, keepdim=True)
        image = gray + (image - gray) * p["s"]
        image = image.mean() + (image - image.mean()) * p["c"]
        return (image * p["b"]).clamp(0, 1)


def _to_tensor(image: np.ndarray, h: int, w: int) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
    return F.interpolate(t[None], size=(h, w), mode="bilinear", align_corners=False, antialias=True)[0]


def _load_map(path: Path) -> np.ndarray:
    try:
        if path.suffix == ".npy":
            return np.load(path).astype(np.float32)
        with Image.open(path) as im:
            return np.asarray(im, dtype=np.float32)
    except (OSError, ValueError) as exc:
        raise MobileDepthError(f"{path}: cannot read depth map ({exc.__class__.__name__})") from None


def _resize_map(m: np.ndarray, h: int, w: int) -> torch.Tensor:
    """Nearest resize: depth edges must not blend into values that exist nowhere in the scene."""
    t = torch.from_numpy(np.ascontiguousarray(m, dtype=np.float32))[None, None]
    return F.interpolate(t, size=(h, w), mode="nearest")[0]


class PairDataset(torch.utils.data.Dataset):
    """DIW-format pairs. Points are rescaled to the network size (and moved by augmentation); a pair
    whose points land on one pixel gets A nudged by one pixel, as public DIW loaders do."""

    def __init__(
        self, csv: str | os.PathLike, height: int, width: int, augment: AugmentConfig | None = None, seed: int = 0
    ) -> None:
        self.entries = read_diw_csv(csv)
        self.h, self.w, self.seed, self.epoch = height, width, seed, 0
        self.aug = Augment(augment, height, width)
        self.max_pairs = max(len(e.pairs) for e in self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, Any]]:
        entry = self.entries[index]
        g = _generator(self.seed, self.epoch, index)
        p = self.aug.sample(g)
        image = self.aug.colour(self.aug.warp(_to_tensor(load_rgb(entry.path), self.h, self.w), p, "bilinear"), p)
        raw = torch.tensor([[q.ya, q.xa, q.yb, q.xb, q.relation] for q in entry.pairs], dtype=torch.float32)
        sy, sx = self.h / entry.height, self.w / entry.width
        ya, xa, ina = self.aug.move_points((raw[:, 0] + 0.5) * sy - 0.5, (raw[:, 1] + 0.5) * sx - 0.5, p)
        yb, xb, inb = self.aug.move_points((raw[:, 2] + 0.5) * sy - 0.5, (raw[:, 3] + 0.5) * sx - 0.5, p)
        same = (ya == yb) & (xa == xb)
        xa = torch.where(same, torch.where(xa > 0, xa - 1, xa + 1), xa)
        pairs = torch.stack([ya, xa, yb, xb, raw[:, 4]], 1)
        valid = (ina & inb).float()
        return image, {"pairs": pairs, "pair_mask": valid}


class DenseDataset(torch.utils.data.Dataset):
    """Images with dense depth (or relative depth): ranking pairs are sampled from the map each time,
    and the map itself is returned for the Mannequin-Challenge losses."""

    def __init__(
        self,
        images: list[Path],
        maps: list[Path],
        height: int,
        width: int,
        augment: AugmentConfig | None = None,
        seed: int = 0,
        pairs_per_image: int = 3000,
        sigma: float = 0.02,
        disparity: bool = False,
        depth_scale: float = 1.0,
    ) -> None:
        if not images:
            raise MobileDepthError("dense dataset is empty")
        self.images, self.maps = images, maps
        self.h, self.w, self.seed, self.epoch = height, width, seed, 0
        self.aug = Augment(augment, height, width)
        self.pairs_per_image, self.sigma, self.disparity, self.depth_scale = (
            pairs_per_image,
            sigma,
            disparity,
            depth_scale,
        )
        self.max_pairs = pairs_per_image

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, Any]]:
        g = _generator(self.seed, self.epoch, index)
        p = self.aug.sample(g)
        image = self.aug.colour(
            self.aug.warp(_to_tensor(load_rgb(self.images[index]), self.h, self.w), p, "bilinear"), p
        )
        raw = _load_map(self.maps[index]) * self.depth_scale
        depth = self.aug.warp(_resize_map(raw, self.h, self.w), p, "nearest")
        valid = depth[0] > 0
        pairs = sample_relative_pairs(depth[0], self.pairs_per_image, self.sigma, g, self.disparity, valid)
        mask = torch.ones(pairs.shape[0])
        gt = 1.0 / depth.clamp_min(1e-6) if self.disparity else depth  # MC losses want depth
        return image, {"pairs": pairs, "pair_mask": mask, "depth": gt * valid, "depth_mask": valid[None].float()}


def _match(folder: Path, stem: str, suffixes: tuple[str, ...]) -> Path | None:
    for s in suffixes:
        if (folder / f"{stem}{s}").is_file():
            return folder / f"{stem}{s}"
    return None


def _dense_lists(root: Path, image_dir: str, map_dir: str, split_file: str | None) -> tuple[list[Path], list[Path]]:
    images_root = root / image_dir
    if not images_root.is_dir():
        raise MobileDepthError(f"{root}: expected a '{image_dir}/' folder")
    if split_file and (root / split_file).is_file():
        stems = [s.strip() for s in (root / split_file).read_text().splitlines() if s.strip()]
    else:
        stems = sorted(p.stem for p in images_root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    images, maps = [], []
    for stem in stems:
        img = _match(images_root, stem, (".png", ".jpg", ".jpeg"))
        m = _match(root / map_dir, stem, (".npy", ".png"))
        if img is None or m is None:
            raise MobileDepthError(
                f"{root}: '{stem}' has {'no image' if img is None else 'no depth map in ' + map_dir + '/'}"
            )
        images.append(img)
        maps.append(m)
    return images, maps


def build_dataset(
    kind: str,
    path: str | os.PathLike,
    split: str,
    height: int,
    width: int,
    augment: AugmentConfig | None,
    seed: int,
    pairs_per_image: int = 3000,
    sigma: float = 0.02,
    disparity: bool = False,
) -> torch.utils.data.Dataset:
    root = Path(path)
    if kind == "diw":
        csv = root if root.is_file() else root / f"DIW_{split}.csv"
        if not csv.is_file():
            raise MobileDepthError(f"{csv}: no such DIW CSV")
        return PairDataset(csv, height, width, augment, seed)
    if kind == "synth":
        csv = root / f"DIW_{split}.csv"
        if not csv.is_file():
            raise MobileDepthError(f"{root}: not a synth folder (no DIW_{split}.csv)")
        images = [e.path for e in read_diw_csv(csv)]
        return DenseDataset(
            images,
            [root / "depth" / f"{p.stem}.npy" for p in images],
            height,
            width,
            augment,
            seed,
            pairs_per_image,
            sigma,
        )
    if kind == "relative":
        images, maps = _dense_lists(root, "imgs", "RDs", f"{split}.txt")
        return DenseDataset(images, maps, height, width, augment, seed, pairs_per_image, sigma, disparity)
    if kind == "dense":
        images, maps = _dense_lists(root, "images", "depth", f"{split}.txt")
        scale = 1e-3 if maps and maps[0].suffix == ".png" else 1.0  # 16-bit PNGs hold millimetres
        return DenseDataset(
            images, maps, height, width, augment, seed, pairs_per_image, sigma, disparity, depth_scale=scale
        )
    raise MobileDepthError(f"data kind must be diw, relative, dense or synth, got {kind!r}")


def collate(batch: list[tuple[torch.Tensor, dict[str, Any]]]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Stack images; pad pair lists to the longest (mask marks real pairs)."""
    images = torch.stack([b[0] for b in batch])
    k = max(b[1]["pairs"].shape[0] for b in batch)
    pairs = torch.zeros(len(batch), k, 5)
    mask = torch.zeros(len(batch), k)
    for i, (_, t) in enumerate(batch):
        n = t["pairs"].shape[0]
        pairs[i, :n] = t["pairs"]
        mask[i, :n] = t["pair_mask"]
    out = {"pairs": pairs, "pair_mask": mask}
    if all("depth" in b[1] for b in batch):
        out["depth"] = torch.stack([b[1]["depth"] for b in batch])
        out["depth_mask"] = torch.stack([b[1]["depth_mask"] for b in batch])
    return images, out
