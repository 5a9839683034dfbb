"""Point labels that never overlap: each label tries positions around its point, nearest first, and
takes the first whose box on the rendered canvas overlaps no earlier label, no marker and stays in
the axes. Deterministic (no force simulation), so a test can assert the boxes are disjoint."""

from __future__ import annotations

from dataclasses import dataclass

RADII = (5, 12, 22, 34, 48, 64, 82, 104, 130)
DIRECTIONS = (
    (1, 1),
    (1, -1),
    (-1, 1),
    (-1, -1),
    (1, 0),
    (-1, 0),
    (0, 1),
    (0, -1),
    (2, 1),
    (2, -1),
    (-2, 1),
    (-2, -1),
    (1, 2),
    (1, -2),
    (-1, 2),
    (-1, -2),
)
MARKER_PX = 5.0
GAP_PX = 3.0  # labels keep this far apart, so two never read as one


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: "Box") -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1

    def inside(self, other: "Box") -> bool:
        return self.x0 >= other.x0 and self.x1 <= other.x1 and self.y0 >= other.y0 and self.y1 <= other.y1


def box_of(artist, renderer, margin: float = 0.0) -> Box:
    """The artist's box in pixels; for an annotation, its text only (not the leader line)."""
    from matplotlib.text import Annotation, Text

    if isinstance(artist, Annotation):
        artist.update_positions(renderer)
        e = Text.get_window_extent(artist, renderer)
    else:
        e = artist.get_window_extent(renderer)
    return Box(e.x0 - margin, e.y0 - margin, e.x1 + margin, e.y1 + margin)


def _candidate(ax, text: str, xy: tuple[float, float], dx: int, dy: int, fontsize: float, color: str):
    ha = "left" if dx > 0 else ("right" if dx < 0 else "center")
    va = "bottom" if dy > 0 else ("top" if dy < 0 else "center")
    arrow = {"arrowstyle": "-", "color": "0.6", "lw": 0.6} if max(abs(dx), abs(dy)) > RADII[0] else None
    artist = ax.annotate(
        text,
        xy,
        xytext=(dx, dy),
        textcoords="offset points",
        ha=ha,
        va=va,
        fontsize=fontsize,
        color=color,
        arrowprops=arrow,
        zorder=6,
    )
    artist.set_in_layout(False)  # placed after the layout is fixed; must not move the axes again
    return artist


def freeze_layout(fig) -> None:
    """Run the figure's layout once and keep it: labels are placed in pixels of THIS layout."""
    fig.canvas.draw()
    fig.set_layout_engine("none")


def place_labels(
    ax,
    points: list[tuple[float, float]],
    texts: list[str],
    fontsize: float = 7,
    colors: list[str] | None = None,
    avoid: list | None = None,
) -> list:
    """Annotate every point with its text at a free spot; return the annotation artists.

    Call :func:`freeze_layout` first. ``avoid``: other artists (legends, text boxes) to keep clear of.
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    frame = box_of(ax, renderer)
    taken = [box_of(a, renderer, GAP_PX) for a in (avoid or [])]
    for x, y in points:
        px, py = ax.transData.transform((x, y))
        taken.append(Box(px - MARKER_PX, py - MARKER_PX, px + MARKER_PX, py + MARKER_PX))
    canvas = box_of(fig, renderer)
    artists = []
    for i, (xy, text) in enumerate(zip(points, texts)):
        color = colors[i] if colors else "0.1"
        # Inside the axes if possible, else anywhere on the figure; never over another label.
        chosen = _first_free(ax, text, xy, fontsize, color, renderer, taken, frame) or _first_free(
            ax, text, xy, fontsize, color, renderer, taken, canvas
        )
        if chosen is None:
            artist = _candidate(ax, text, xy, 0, -RADII[-1], fontsize, color)
            chosen = (artist, box_of(artist, renderer, GAP_PX))
        taken.append(chosen[1])
        artists.append(chosen[0])
    return artists


def _first_free(ax, text, xy, fontsize, color, renderer, taken: list[Box], within: Box):
    for radius in RADII:
        for ux, uy in DIRECTIONS:
            artist = _candidate(ax, text, xy, ux * radius, uy * radius, fontsize, color)
            box = box_of(artist, renderer, GAP_PX)
            if box.inside(within) and not any(box.overlaps(t) for t in taken):
                return artist, box
            artist.remove()
    return None
