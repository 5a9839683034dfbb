"""Procedural scenes with exact dense depth: the embedded default data for demo, calibration and tests.

Each scene is ray-cast in numpy: a camera at the origin (slightly pitched) looking down +z at a room
with a textured floor, a back wall, optional side walls and ceiling, and boxes and spheres standing on
the floor. Depth is the camera-frame z of the first hit, exact to float precision. Shading uses a
directional light and distance fog, so the images carry real monocular cues (perspective, occlusion,
texture gradients, atmospheric perspective) that a network can learn.

Output layout (``mobiledepth data synth -o DIR``)::

    DIR/images/scene_00000.png   RGB
    DIR/depth/scene_00000.npy    float32 H x W depth (same units for every scene)
    DIR/DIW_train.csv, DIW_val.csv, DIW_test.csv   DIW-format pairs (several per image)
    DIR/synth.json               generator version, seed and sizes
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import MobileDepthError
from ..fileio import with_filename, write_json
from .diw import format_pair_line
from .images import save_rgb
from .scene import Scene

GENERATOR_VERSION = 1
SCENE_KINDS = ("rooms", "world", "mixed")
WORLD_SHARE = 0.75  # "mixed": this share of the scenes are worlds, the rest rooms
SPLITS = (("train", 0.7), ("val", 0.15), ("test", 0.15))


@dataclass(frozen=True)
class SynthOptions:
    n: int = 64
    height: int = 192
    width: int = 256
    pairs_per_image: int = 20
    seed: int = 0
    min_ratio: float = 1.05  # pairs whose depths differ by less than 5% are not labelled (ambiguous)
    # "rooms": the checkered rooms of this module (the bundled sample set and the tests' data); "world": the
    # randomised worlds of world_scenes.py, so a model learns depth it can find in real photographs; "mixed":
    # both (WORLD_SHARE worlds), which the demo model trains on
    scenes: str = "rooms"

    def __post_init__(self) -> None:
        if self.scenes not in SCENE_KINDS:
            raise MobileDepthError(f"--scenes {self.scenes}: choose from {', '.join(SCENE_KINDS)}")
        if not (1 <= self.n <= 1_000_000 and 16 <= self.height <= 4096 and 16 <= self.width <= 4096):
            raise MobileDepthError(f"synth: n {self.n} (1..1000000) or size {self.height}x{self.width} "
                                   "(16..4096 per side) out of range")  # fmt: skip
        if not 0 <= self.pairs_per_image <= 100_000:
            raise MobileDepthError(f"--pairs-per-image {self.pairs_per_image}: must be 0..100000")


def _rot_x(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], dtype=np.float64)


@dataclass
class _Canvas:
    """One scene being ray-cast: per-pixel world rays and the nearest hit so far (depth, normal, colour).
    Surfaces are added in a fixed order; the RNG draws happen in that order too, so a seed always renders
    the same scene (the shipped data and the tests' hashes depend on it)."""

    d: np.ndarray  # H x W x 3 world-frame ray directions (camera-frame z of the hit point = t)
    t_best: np.ndarray
    normal: np.ndarray
    albedo: np.ndarray

    @classmethod
    def open(cls, rng: np.random.Generator, height: int, width: int) -> tuple["_Canvas", float]:
        f = width * rng.uniform(0.8, 1.2)
        v, u = np.mgrid[0:height, 0:width].astype(np.float64)
        d_cam = np.stack([(u + 0.5 - width / 2) / f, -(v + 0.5 - height / 2) / f, np.ones_like(u)], axis=-1)
        pitch = rng.uniform(-0.25, 0.0)
        shape = (height, width)
        canvas = cls(d_cam @ _rot_x(pitch).T, np.full(shape, np.inf), np.zeros((*shape, 3)), np.zeros((*shape, 3)))
        return canvas, f

    def consider(self, t: np.ndarray, n: np.ndarray, color: np.ndarray) -> None:
        """Keep the surface where it is nearer than anything hit so far."""
        hit = np.isfinite(t) & (t > 1e-3) & (t < self.t_best)
        self.t_best[hit] = t[hit]
        self.normal[hit] = n[hit] if n.ndim == 3 else n
        self.albedo[hit] = color[hit] if color.ndim == 3 else color

    def plane(self, axis: int, offset: float) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            t = offset / self.d[..., axis]
        return np.where(t > 0, t, np.inf)

    def points(self, t: np.ndarray) -> np.ndarray:
        return self.d * np.where(np.isfinite(t), t, 0.0)[..., None]


def _room(rng: np.random.Generator, c: _Canvas, cam_h: float, back: float) -> None:
    """Checkered floor, striped back wall, optional banded side walls and a plain ceiling."""
    t = c.plane(1, -cam_h)
    p = c.points(t)
    size = rng.uniform(0.4, 1.2)
    checker = ((np.floor(p[..., 0] / size) + np.floor(p[..., 2] / size)) % 2)[..., None]
    c1, c2 = rng.uniform(0.2, 0.9, 3), rng.uniform(0.2, 0.9, 3)
    c.consider(t, np.array([0.0, 1.0, 0.0]), c1 * checker + c2 * (1 - checker))

    t = c.plane(2, back)
    p = c.points(t)
    stripes = 0.75 + 0.25 * np.sin(p[..., 0] * rng.uniform(1, 4)) * np.sin(p[..., 1] * rng.uniform(1, 4))
    c.consider(t, np.array([0.0, 0.0, -1.0]), rng.uniform(0.3, 0.9, 3) * stripes[..., None])

    for sign in (-1.0, 1.0):  # side walls
        if rng.random() < 0.6:
            t = c.plane(0, sign * rng.uniform(2.0, 6.0))
            bands = 0.8 + 0.2 * np.sin(c.points(t)[..., 2] * rng.uniform(1, 3))[..., None]
            c.consider(t, np.array([-sign, 0.0, 0.0]), rng.uniform(0.3, 0.9, 3) * bands)
    if rng.random() < 0.3:  # ceiling
        t = c.plane(1, rng.uniform(1.0, 2.5))
        c.consider(t, np.array([0.0, -1.0, 0.0]), rng.uniform(0.5, 0.95, 3))


def _sphere(rng: np.random.Generator, c: _Canvas, x: float, z: float, cam_h: float, color: np.ndarray) -> None:
    """A sphere resting on the floor, with longitudinal stripes."""
    r = rng.uniform(0.3, 1.2)
    centre = np.array([x, -cam_h + r, z])
    b = c.d @ centre
    a = np.einsum("hwk,hwk->hw", c.d, c.d)
    disc = b * b - a * (centre @ centre - r * r)
    with np.errstate(invalid="ignore"):
        t = np.where(disc >= 0, (b - np.sqrt(np.maximum(disc, 0))) / a, np.inf)
    n = (c.points(t) - centre) / r
    pattern = 0.8 + 0.2 * np.sign(np.sin(6 * np.arctan2(n[..., 0], n[..., 2])))[..., None]
    c.consider(t, n, color * pattern)


def _box(rng: np.random.Generator, c: _Canvas, x: float, z: float, cam_h: float, color: np.ndarray) -> None:
    """An axis-aligned box on the floor (slab method), with a fine horizontal grain."""
    half = rng.uniform(0.15, 0.8, 3)
    lo = np.array([x - half[0], -cam_h, z - half[2]])
    hi = np.array([x + half[0], -cam_h + 2 * half[1], z + half[2]])
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = lo / c.d, hi / c.d
    tmin = np.nanmax(np.minimum(t1, t2), axis=-1)
    tmax = np.nanmin(np.maximum(t1, t2), axis=-1)
    t = np.where((tmax >= tmin) & (tmin > 0), tmin, np.inf)
    axis = np.argmax(np.minimum(t1, t2), axis=-1)
    n = np.zeros(c.d.shape)
    np.put_along_axis(n, axis[..., None], -np.sign(np.take_along_axis(c.d, axis[..., None], -1)), -1)
    grain = 0.85 + 0.15 * np.sin(c.points(t)[..., 1] * 20)[..., None]
    c.consider(t, n, color * grain)


def _shade(rng: np.random.Generator, c: _Canvas, back: float) -> Scene:
    """Directional light, distance fog and sensor noise; rays that hit nothing get twice the back distance."""
    t_best = np.where(np.isfinite(c.t_best), c.t_best, 2 * back)
    light = np.array([rng.uniform(-0.6, 0.6), 1.0, rng.uniform(-0.8, 0.2)])
    light /= np.linalg.norm(light)
    shade = 0.35 + 0.65 * np.clip(c.normal @ light, 0.0, 1.0)
    fog = np.exp(-t_best / rng.uniform(15.0, 40.0))[..., None]
    image = c.albedo * shade[..., None] * fog + rng.uniform(0.5, 0.9, 3) * (1 - fog)
    image = image + rng.normal(0, 0.01, image.shape)
    return Scene(np.clip(image, 0, 1).astype(np.float32), t_best.astype(np.float32))


def render_scene(rng: np.random.Generator, height: int, width: int) -> Scene:
    """Ray-cast one random scene: room, then 2-6 spheres and boxes standing on the floor, then shading."""
    canvas, f = _Canvas.open(rng, height, width)
    cam_h = rng.uniform(1.2, 2.0)
    back = rng.uniform(8.0, 20.0)
    _room(rng, canvas, cam_h, back)
    for _ in range(rng.integers(2, 7)):
        z = rng.uniform(2.0, back - 1.0)
        x = rng.uniform(-0.6, 0.6) * z / f * width
        color = rng.uniform(0.1, 1.0, 3)
        (_sphere if rng.random() < 0.5 else _box)(rng, canvas, x, z, cam_h, color)
    return _shade(rng, canvas, back)


def sample_pairs(
    rng: np.random.Generator, depth: np.ndarray, count: int, min_ratio: float
) -> list[tuple[int, int, int, int, int]]:
    """Pairs (ya, xa, yb, xb, relation) with unambiguous order; half of them local (across nearby edges)."""
    h, w = depth.shape
    pairs: list[tuple[int, int, int, int, int]] = []
    for _ in range(count * 50):
        if len(pairs) == count:
            break
        ya, xa = int(rng.integers(h)), int(rng.integers(w))
        if rng.random() < 0.5:
            yb, xb = int(rng.integers(h)), int(rng.integers(w))
        else:
            yb = int(np.clip(ya + rng.integers(-24, 25), 0, h - 1))
            xb = int(np.clip(xa + rng.integers(-24, 25), 0, w - 1))
        da, db = float(depth[ya, xa]), float(depth[yb, xb])
        if max(da, db) / min(da, db) < min_ratio:
            continue
        pairs.append((ya, xa, yb, xb, 1 if da > db else -1))
    return pairs


def _world_version() -> int:
    from .world import WORLD_VERSION

    return WORLD_VERSION


def _world_renderer():
    from .world_scenes import render_world

    return render_world


def write_synth_dataset(out_dir: str | os.PathLike, options: SynthOptions = SynthOptions()) -> Path:
    """Render ``options.n`` scenes into ``out_dir`` (built in a temp folder, then moved into place)."""
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise MobileDepthError(f"{out}: folder exists and is not empty; choose another -o or remove it")
    out.parent.mkdir(parents=True, exist_ok=True)
    # a folder of its own: two renders of one target never share (or delete) each other's scratch
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    (tmp / "images").mkdir()
    (tmp / "depth").mkdir()
    rows: dict[str, list[str]] = {name: [] for name, _ in SPLITS}
    bounds = np.cumsum([frac for _, frac in SPLITS]) * options.n
    try:
        world = _world_renderer() if options.scenes != "rooms" else None
        for i in range(options.n):
            rng = np.random.default_rng([options.seed, i])
            use_world = options.scenes == "world" or (options.scenes == "mixed" and rng.random() < WORLD_SHARE)
            scene = (world if use_world else render_scene)(rng, options.height, options.width)
            stem = f"scene_{i:05d}"
            save_rgb(tmp / "images" / f"{stem}.png", scene.image)
            np.save(tmp / "depth" / f"{stem}.npy", scene.depth)
            split = SPLITS[int(np.searchsorted(bounds, i, side="right"))][0] if options.n >= 3 else "test"
            for ya, xa, yb, xb, rel in sample_pairs(rng, scene.depth, options.pairs_per_image, options.min_ratio):
                rows[split] += [
                    f"./images/{stem}.png",
                    format_pair_line(ya, xa, yb, xb, rel, options.width, options.height),
                ]
        for split, lines in rows.items():
            (tmp / f"DIW_{split}.csv").write_text("\n".join(lines) + ("\n" if lines else ""))
        version = GENERATOR_VERSION if options.scenes == "rooms" else _world_version()
        write_json(tmp / "synth.json", {"generator_version": version, **asdict(options)})
        if out.exists() and not any(out.iterdir()):
            out.rmdir()
        if out.exists():
            raise MobileDepthError(f"{out}: another process wrote this folder while this one rendered it")
        os.replace(tmp, out)
    except OSError as exc:
        raise with_filename(exc, out) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
