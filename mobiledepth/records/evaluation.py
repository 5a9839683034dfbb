"""``eval`` records: one model file's accuracy on one set of point pairs (and dense metrics where depth exists)."""

from __future__ import annotations

from dataclasses import dataclass

from ..inputs import Preprocess
from .parts import ModelInfo, Record


@dataclass(frozen=True)
class EvalDataset:
    csv: str  # the DIW CSV, or what the pairs were drawn from (a real photograph's ground truth)
    images: int
    pairs: int
    name: str = ""  # e.g. 'Middlebury 2014 Motorcycle (scikit-image)'; '' for a user's DIW folder
    real: bool = False  # real photographs (not our synthetic rooms)


@dataclass(frozen=True)
class DenseScores:
    """Mean over the images that have ground-truth maps, each prediction least-squares aligned first."""

    images: int
    rmse: float
    delta1: float
    si_rmse: float
    alignment: str = "least-squares scale and shift per image"


@dataclass(frozen=True)
class PriorScore:
    """A trivial rule scored on the same pairs, so a model's WHDR reads against something it must beat."""

    name: str  # 'higher in the image is farther'
    whdr: float


@dataclass(frozen=True, kw_only=True)
class EvalRecord(Record):
    record: str = "eval"
    model: ModelInfo
    whdr: float
    dataset: EvalDataset
    wrong_pairs: int
    input_hw: tuple[int, int]
    disparity: bool = False
    resize: str = "torch7"
    preprocess: Preprocess = Preprocess()
    dense: DenseScores | None = None
    prior: PriorScore | None = None

    @property
    def file_name(self) -> str:
        return self.model.file_name
