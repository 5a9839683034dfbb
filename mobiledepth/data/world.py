"""Procedural worlds for a depth model that must generalise to real photographs (sim-to-real).

The rooms of :mod:`.synth` teach a network checkerboards and striped spheres; it then reads a real
photograph's texture, not its depth (WHDR 0.497 on Middlebury's Motorcycle, chance). These scenes vary
what real scenes vary, as domain randomisation does: the layout (outdoor ground to a horizon under a
sky, rooms, corridors, a table with objects against a back wall), what stands in it (boxes turned at any
angle, spheres, cylinders, thin poles, people-sized capsules, walls and occluders at every depth), the
materials (procedural noise at several scales, stripes, and scikit-image's brick, grass and gravel
textures, tinted), the light (sun direction, ambient level, cast shadows on the ground, aerial
perspective), the camera (height, pitch, roll, field of view) and the picture itself (blur, sensor
noise, JPEG, colour balance, gamma). Depth is the camera-frame z of the first hit, exact; the sky is
the farthest thing in every picture.

Deterministic per (seed, index), like :mod:`.synth`: the same seed renders the same pixels everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

WORLD_VERSION = 2  # 2: indoor layouts without haze, ceilings rare, shelves along back walls, pitch looks down
SKY_DEPTH = 400.0  # metres: beyond everything a scene places, so the sky is always farthest
TEXTURES = ("brick.png", "grass.png", "gravel.png")  # scikit-image's texture images (not its photographs)


@dataclass
class Rays:
    """One picture being ray-cast: world-frame ray directions (camera z of a hit = t) and the nearest hit."""

    d: np.ndarray  # H x W x 3
    origin: np.ndarray  # 3
    t: np.ndarray  # H x W, inf where nothing was hit
    normal: np.ndarray  # H x W x 3
    albedo: np.ndarray  # H x W x 3

    @classmethod
    def camera(cls, rng: np.random.Generator, h: int, w: int, height: float, pitch: float) -> "Rays":
        """Rays of a camera ``height`` metres up, turned ``pitch`` radians about its x axis (negative looks
        down, as a photographer looks at the ground and at things on a table), with a random roll and field
        of view."""
        f = w * rng.uniform(0.55, 1.3)  # field of view about 42-85 degrees across
        roll = rng.normal(0.0, 0.06)
        v, u = np.mgrid[0:h, 0:w].astype(np.float64)
        d = np.stack([(u + 0.5 - w / 2) / f, -(v + 0.5 - h / 2) / f, np.ones_like(u)], axis=-1)
        c, s = np.cos(roll), np.sin(roll)
        d = d @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]).T
        c, s = np.cos(pitch), np.sin(pitch)
        d = d @ np.array([[1, 0, 0], [0, c, s], [0, -s, c]]).T  # y' = c y + s z: a negative pitch looks down
        shape = (h, w)
        return cls(
            d, np.array([0.0, height, 0.0]), np.full(shape, np.inf), np.zeros((*shape, 3)), np.zeros((*shape, 3))
        )

    def points(self, t: np.ndarray) -> np.ndarray:
        return self.origin + self.d * np.where(np.isfinite(t), t, 0.0)[..., None]

    def keep(self, t: np.ndarray, normal: np.ndarray, albedo: np.ndarray) -> None:
        hit = np.isfinite(t) & (t > 1e-3) & (t < self.t)
        self.t[hit] = t[hit]
        self.normal[hit] = normal[hit] if normal.ndim == 3 else normal
        self.albedo[hit] = albedo[hit] if albedo.ndim == 3 else albedo


# ---- materials -------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _texture(name: str) -> np.ndarray | None:
    """A scikit-image texture as a float map in [0, 1], or None without scikit-image."""
    try:
        from PIL import Image

        from .photos import photo_folder

        with Image.open(photo_folder() / name) as img:
            return np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    except Exception:
        return None


def _noise(rng: np.random.Generator, uv: np.ndarray, octaves: int = 4) -> np.ndarray:
    """Fractal value noise of 2-D coordinates (H x W x 2), about [0, 1]: smooth blobs over fine grain."""
    out = np.zeros(uv.shape[:2])
    amp, total = 1.0, 0.0
    for _ in range(octaves):
        grid = rng.random((17, 17))
        q = np.mod(uv, 16.0)
        i, f = np.floor(q).astype(int), q - np.floor(q)
        f = f * f * (3 - 2 * f)
        a = grid[i[..., 0], i[..., 1]] * (1 - f[..., 0]) + grid[i[..., 0] + 1, i[..., 1]] * f[..., 0]
        b = grid[i[..., 0], i[..., 1] + 1] * (1 - f[..., 0]) + grid[i[..., 0] + 1, i[..., 1] + 1] * f[..., 0]
        out += amp * (a * (1 - f[..., 1]) + b * f[..., 1])
        total += amp
        uv, amp = uv * 2.03, amp * 0.5
    return out / total


def material(rng: np.random.Generator, uv: np.ndarray) -> np.ndarray:
    """An albedo (H x W x 3) for surface coordinates ``uv`` in metres: a random colour modulated by noise,
    stripes, a checker or a tinted scikit-image texture, at a random scale."""
    base = rng.uniform(0.1, 0.9, 3)
    kind = rng.choice(["noise", "texture", "stripes", "checker", "plain"], p=[0.35, 0.3, 0.12, 0.08, 0.15])
    scale = rng.uniform(0.3, 3.0)
    if kind == "texture":
        tex = _texture(str(rng.choice(TEXTURES)))
        if tex is not None:
            px = np.mod((uv / scale * 256).astype(int), tex.shape[0])
            pattern = tex[px[..., 0], px[..., 1]]
            return np.clip(base * (0.4 + 1.2 * pattern[..., None]), 0, 1)
        kind = "noise"
    if kind == "noise":
        pattern = _noise(rng, uv / scale * 4)
    elif kind == "stripes":
        pattern = 0.5 + 0.5 * np.sign(np.sin(uv[..., 0] / scale * 6))
    elif kind == "checker":
        pattern = (np.floor(uv[..., 0] / scale) + np.floor(uv[..., 1] / scale)) % 2
    else:
        pattern = np.zeros(uv.shape[:2])
    strength = rng.uniform(0.1, 0.6)
    second = rng.uniform(0.1, 0.9, 3)
    mix = pattern[..., None] * strength
    return np.clip(base * (1 - mix) + second * mix, 0, 1)


# ---- primitives ------------------------------------------------------------------------------------


def plane(r: Rays, axis: int, offset: float, sign: float, rng: np.random.Generator, uv_axes: tuple[int, int]) -> None:
    """The infinite plane ``x[axis] = offset`` facing ``sign``, textured in its two other axes."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (offset - r.origin[axis]) / r.d[..., axis]
    t = np.where(t > 0, t, np.inf)
    p = r.points(t)
    normal = np.zeros(3)
    normal[axis] = sign
    r.keep(t, normal, material(rng, p[..., list(uv_axes)]))


def box(r: Rays, rng: np.random.Generator, centre: np.ndarray, half: np.ndarray, yaw: float) -> None:
    """A box turned ``yaw`` about the vertical (slab method in the box's frame)."""
    c, s = np.cos(yaw), np.sin(yaw)
    rot = np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]])
    o, d = (r.origin - centre) @ rot.T, r.d @ rot.T
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (-half - o) / d, (half - o) / d
    near, far = np.nanmax(np.minimum(t1, t2), -1), np.nanmin(np.maximum(t1, t2), -1)
    t = np.where((far >= near) & (near > 0), near, np.inf)
    axis = np.argmax(np.minimum(t1, t2), axis=-1)
    local = np.zeros(d.shape)
    np.put_along_axis(local, axis[..., None], -np.sign(np.take_along_axis(d, axis[..., None], -1)), -1)
    hit = o + d * np.where(np.isfinite(t), t, 0)[..., None]
    uv = np.where((axis == 0)[..., None], hit[..., [2, 1]], np.where((axis == 1)[..., None], hit[..., [0, 2]],
                                                                      hit[..., [0, 1]]))  # fmt: skip
    r.keep(t, local @ rot, material(rng, uv))


def sphere(r: Rays, rng: np.random.Generator, centre: np.ndarray, radius: float) -> None:
    oc = r.origin - centre
    b = r.d @ oc
    a = np.einsum("hwk,hwk->hw", r.d, r.d)
    disc = b * b - a * (oc @ oc - radius * radius)
    with np.errstate(invalid="ignore"):
        t = np.where(disc >= 0, (-b - np.sqrt(np.maximum(disc, 0))) / a, np.inf)
    n = (r.points(t) - centre) / radius
    uv = np.stack([np.arctan2(n[..., 0], n[..., 2]) * radius, n[..., 1] * radius], axis=-1)
    r.keep(t, n, material(rng, uv))


def cylinder(r: Rays, rng: np.random.Generator, base: np.ndarray, radius: float, height: float) -> None:
    """A vertical cylinder standing on ``base`` (its side; a thin one is a pole, a post or a trunk)."""
    o, d = r.origin - base, r.d
    a = d[..., 0] ** 2 + d[..., 2] ** 2
    b = o[0] * d[..., 0] + o[2] * d[..., 2]
    c = o[0] ** 2 + o[2] ** 2 - radius * radius
    disc = b * b - a * c
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(disc >= 0, (-b - np.sqrt(np.maximum(disc, 0))) / a, np.inf)
    y = o[1] + d[..., 1] * np.where(np.isfinite(t), t, 0)
    t = np.where((y >= 0) & (y <= height), t, np.inf)
    p = r.points(t) - base
    n = np.stack([p[..., 0], np.zeros_like(y), p[..., 2]], axis=-1) / radius
    uv = np.stack([np.arctan2(p[..., 0], p[..., 2]) * radius, p[..., 1]], axis=-1)
    r.keep(t, n, material(rng, uv))


def person(r: Rays, rng: np.random.Generator, x: float, z: float, ground: float) -> None:
    """A people-sized shape: a body (cylinder) and a head (sphere), about 1.5-1.9 m tall."""
    height = rng.uniform(1.5, 1.9)
    cylinder(r, rng, np.array([x, ground, z]), rng.uniform(0.16, 0.24), height * 0.85)
    sphere(r, rng, np.array([x, ground + height * 0.92, z]), height * 0.075)
