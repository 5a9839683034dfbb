"""The layouts of :mod:`.world`, their lighting and the camera's picture: one random world per call.

Layouts, drawn with these odds: outdoors (ground to a horizon, sky, buildings, trees, poles, people,
rocks and walls from a metre to a hundred away), a room (floor, walls, furniture, people, shelves of
things along the back wall; a ceiling in 30% of them), a corridor (two long walls vanishing into the
distance), and a table top (objects on a surface in front of a back wall a few metres away: the close-up
of most photographs of things). Haze only outdoors: indoors a far wall keeps its contrast.
"""

from __future__ import annotations

import io

import numpy as np

from .scene import Scene
from .world import SKY_DEPTH, Rays, box, cylinder, material, person, plane, sphere

LAYOUTS = ("outdoor", "room", "corridor", "table")
LAYOUT_ODDS = (0.35, 0.3, 0.1, 0.25)
CEILING_ODDS = 0.3  # a room or corridor with its ceiling in view
# Indoors there is no aerial perspective: a visibility this long leaves a far wall at full contrast, as in a
# real room. (Haze indoors made low contrast mean 'far', so a photograph's busy back wall read as near.)
INDOORS = 1e5


def _ground_things(r: Rays, rng: np.random.Generator, count: int, near: float, far: float, spread: float) -> None:
    """``count`` objects standing on the ground (y = 0) between ``near`` and ``far`` metres ahead."""
    for _ in range(count):
        z = float(np.exp(rng.uniform(np.log(near), np.log(far))))
        x = rng.uniform(-spread, spread) * z
        kind = rng.choice(["box", "sphere", "pole", "person", "tree", "wall"], p=[0.3, 0.15, 0.15, 0.15, 0.1, 0.15])
        if kind == "box":
            half = rng.uniform(0.15, 1.5, 3) * (1 + z / 30)
            box(r, rng, np.array([x, half[1], z]), half, rng.uniform(0, np.pi))
        elif kind == "sphere":
            radius = rng.uniform(0.2, 1.2)
            sphere(r, rng, np.array([x, radius * rng.uniform(0.6, 1.0), z]), radius)
        elif kind == "pole":
            cylinder(r, rng, np.array([x, 0.0, z]), rng.uniform(0.02, 0.12), rng.uniform(1.0, 6.0))
        elif kind == "person":
            person(r, rng, x, z, 0.0)
        elif kind == "tree":
            height = rng.uniform(2.0, 6.0)
            cylinder(r, rng, np.array([x, 0.0, z]), rng.uniform(0.08, 0.3), height)
            sphere(r, rng, np.array([x, height, z]), rng.uniform(0.8, 2.5))
        else:
            box(r, rng, np.array([x, 0.6, z]), np.array([rng.uniform(1, 5), rng.uniform(0.4, 1.5), 0.1]),
                rng.uniform(-0.6, 0.6))  # fmt: skip


def outdoor(r: Rays, rng: np.random.Generator) -> float:
    plane(r, 1, 0.0, 1.0, rng, (0, 2))  # the ground, to the horizon
    for _ in range(rng.integers(0, 5)):  # buildings far off
        z = rng.uniform(25, 120)
        half = np.array([rng.uniform(3, 15), rng.uniform(4, 30), rng.uniform(3, 10)])
        box(r, rng, np.array([rng.uniform(-1.2, 1.2) * z, half[1], z]), half, rng.uniform(-0.5, 0.5))
    _ground_things(r, rng, int(rng.integers(3, 12)), 1.5, 60.0, 0.7)
    return rng.uniform(80, 600)  # visibility: aerial perspective, a landscape's (haze is seen at tens of metres)


def room(r: Rays, rng: np.random.Generator) -> float:
    """Floor, back and side walls, furniture, people and things stacked against the back wall. The ceiling is
    rare (CEILING_ODDS): in photographs it seldom fills the top of the frame, and a near ceiling over every
    room taught the opposite of what most photographs show (the top of the frame nearer than its middle)."""
    width, depth, height = rng.uniform(2.5, 10.0), rng.uniform(3.0, 14.0), rng.uniform(2.3, 5.0)
    x0 = rng.uniform(-0.4, 0.4) * width
    plane(r, 1, 0.0, 1.0, rng, (0, 2))
    _maybe_ceiling(r, rng, height)
    plane(r, 2, depth, -1.0, rng, (0, 1))
    plane(r, 0, x0 - width / 2, 1.0, rng, (2, 1))
    plane(r, 0, x0 + width / 2, -1.0, rng, (2, 1))
    for _ in range(rng.integers(2, 10)):  # furniture and people
        z, x = rng.uniform(1.0, depth - 0.5), x0 + rng.uniform(-0.45, 0.45) * width
        if rng.random() < 0.25:
            person(r, rng, x, z, 0.0)
        else:
            half = np.array([rng.uniform(0.2, 1.0), rng.uniform(0.2, 1.0), rng.uniform(0.2, 0.8)])
            box(r, rng, np.array([x, half[1], z]), half, rng.uniform(0, np.pi))
    _against_wall(r, rng, x0, width, depth)
    return INDOORS


def _maybe_ceiling(r: Rays, rng: np.random.Generator, height: float) -> None:
    """A ceiling ``height`` metres up in CEILING_ODDS of the rooms and corridors."""
    if rng.random() < CEILING_ODDS:
        plane(r, 1, height, -1.0, rng, (0, 2))


def _against_wall(r: Rays, rng: np.random.Generator, x0: float, width: float, depth: float) -> None:
    """Shelves of things along the back wall: clutter at one depth behind whatever stands in the room."""
    for _ in range(rng.integers(0, 14)):
        half = rng.uniform(0.1, 0.5, 3)
        y = half[1] + rng.choice([0.0, rng.uniform(0.3, 2.0)])
        centre = np.array([x0 + rng.uniform(-0.5, 0.5) * width, y, depth - half[2] - rng.uniform(0, 0.3)])
        box(r, rng, centre, half, rng.uniform(-0.3, 0.3))


def corridor(r: Rays, rng: np.random.Generator) -> float:
    width, height, length = rng.uniform(1.5, 4.0), rng.uniform(2.3, 4.0), rng.uniform(15, 80)
    plane(r, 1, 0.0, 1.0, rng, (0, 2))
    _maybe_ceiling(r, rng, height)
    plane(r, 0, -width / 2, 1.0, rng, (2, 1))
    plane(r, 0, width / 2, -1.0, rng, (2, 1))
    plane(r, 2, length, -1.0, rng, (0, 1))
    for _ in range(rng.integers(0, 4)):
        z = rng.uniform(2, length * 0.6)
        (person if rng.random() < 0.5 else _door)(r, rng, rng.uniform(-0.3, 0.3) * width, z, 0.0)
    return INDOORS


def _door(r: Rays, rng: np.random.Generator, x: float, z: float, ground: float) -> None:
    box(r, rng, np.array([x, 1.0, z]), np.array([0.45, 1.0, 0.05]), rng.uniform(-0.3, 0.3))


def table(r: Rays, rng: np.random.Generator) -> float:
    """Objects on a table top in front of a back wall: the close-up (camera about a metre away)."""
    top = -rng.uniform(0.3, 0.9)  # the table's surface, below the camera (at y = 0 in this layout's frame)
    wall = rng.uniform(1.5, 6.0)
    plane(r, 1, top, 1.0, rng, (0, 2))
    plane(r, 2, wall, -1.0, rng, (0, 1))
    if rng.random() < 0.5:
        plane(r, 0, rng.choice([-1, 1]) * rng.uniform(0.8, 3.0), 1.0, rng, (2, 1))
    for _ in range(rng.integers(2, 8)):
        z, x = rng.uniform(0.4, wall - 0.2), rng.uniform(-0.6, 0.6) * rng.uniform(0.4, 2.0)
        size = rng.uniform(0.03, 0.35)
        shape = rng.choice(["box", "sphere", "can"])
        if shape == "box":
            box(r, rng, np.array([x, top + size, z]), np.array([size, size * rng.uniform(0.5, 3), size]),
                rng.uniform(0, np.pi))  # fmt: skip
        elif shape == "sphere":
            sphere(r, rng, np.array([x, top + size, z]), size)
        else:
            cylinder(r, rng, np.array([x, top, z]), size * 0.5, size * rng.uniform(1, 4))
    return INDOORS


def _shade(r: Rays, rng: np.random.Generator, visibility: float, sky: bool) -> tuple[np.ndarray, np.ndarray]:
    """Sun and ambient light, aerial perspective towards a sky colour; rays that hit nothing are sky."""
    sun = np.array([rng.uniform(-1, 1), rng.uniform(0.3, 1.5), rng.uniform(-1, 0.5)])
    sun /= np.linalg.norm(sun)
    ambient = rng.uniform(0.25, 0.6)
    light = ambient + (1 - ambient) * np.clip(r.normal @ sun, 0, 1)
    depth = np.where(np.isfinite(r.t), r.t, SKY_DEPTH)  # camera-frame z: rays are unit-z before the camera turns
    horizon = rng.uniform(0.6, 1.0, 3) * np.array([0.75, 0.85, 1.0])
    sky_colour = horizon + (np.array([0.25, 0.45, 0.85]) - horizon) * np.clip(r.d[..., 1:2] * 2, 0, 1)
    haze = 1 - np.exp(-depth / visibility)[..., None]
    image = r.albedo * light[..., None] * (1 - haze) + horizon * haze
    image = np.where(np.isfinite(r.t)[..., None], image, sky_colour if sky else horizon * 0.6)
    return image, np.minimum(depth, SKY_DEPTH).astype(np.float32)


def _camera_picture(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """What a camera adds: white balance, exposure and gamma, blur, sensor noise, JPEG compression."""
    from PIL import Image, ImageFilter

    image = image * rng.uniform(0.85, 1.15, 3) * rng.uniform(0.6, 1.3)
    image = np.clip(image, 0, 1) ** rng.uniform(0.8, 1.25)
    pil = Image.fromarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8))
    if rng.random() < 0.5:
        pil = pil.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.3)))
    out = np.asarray(pil, dtype=np.float32) / 255.0 + rng.normal(0, rng.uniform(0, 0.03), image.shape)
    if rng.random() < 0.6:
        buffer = io.BytesIO()
        quality = int(rng.integers(30, 95))
        Image.fromarray((np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)).save(buffer, "JPEG", quality=quality)
        out = np.asarray(Image.open(buffer).convert("RGB"), dtype=np.float32) / 255.0
    return np.clip(out, 0, 1).astype(np.float32)


def render_world(rng: np.random.Generator, height: int, width: int) -> Scene:
    """One random world (see the module note), ray-cast, shaded and photographed."""
    layout = str(rng.choice(LAYOUTS, p=LAYOUT_ODDS))
    cam_height = {"outdoor": rng.uniform(1.0, 6.0), "room": rng.uniform(0.8, 2.0), "corridor": rng.uniform(1.0, 2.0),
                  "table": 0.0}[layout]  # fmt: skip
    pitch = rng.uniform(-0.45, 0.1) if layout != "table" else rng.uniform(-0.7, -0.15)
    r = Rays.camera(rng, height, width, cam_height, pitch)
    visibility = {"outdoor": outdoor, "room": room, "corridor": corridor, "table": table}[layout](r, rng)
    image, depth = _shade(r, rng, visibility, layout == "outdoor")
    return Scene(_camera_picture(rng, image), depth)


__all__ = ["LAYOUTS", "render_world", "material"]
