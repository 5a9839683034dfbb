"""``predict`` records (``predict.json``): the pictures and videos written, and how far each model's map
strays from the first model's on each image."""

from __future__ import annotations

from dataclasses import dataclass

from .parts import Record


@dataclass(frozen=True)
class MapDifference:
    """How far one model's map strays from the reference's on one image (after alignment)."""

    image: str
    model: str
    reference: str
    mean_abs_percent: float  # mean |aligned - reference| as a percentage of the reference's robust range
    p95_abs_percent: float


@dataclass(frozen=True, kw_only=True)
class PredictRecord(Record):
    record: str = "predict"
    pictures: tuple[str, ...] = ()
    videos: tuple[str, ...] = ()
    differences: tuple[MapDifference, ...] = ()
    summary: str = ""
    note: str = ""  # what the maps are (e.g. a demo model trained on synthetic rooms only)
