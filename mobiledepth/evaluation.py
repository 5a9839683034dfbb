"""``mobiledepth eval``: WHDR on DIW-format pairs (and dense metrics when depth maps exist), any format.

Protocol (the DIW authors' evaluation): resize the image to the model input, run, resize the prediction
back to the ORIGINAL image size with Torch7's ``image.scale`` (``resize="bilinear"`` keeps PyTorch's
align_corners=False instead), read the pair points. Dense ground truth is looked for
at ``<csv folder>/depth/<image stem>.npy`` (the synthetic layout) or in ``depth_dir``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .data.diw import DIWImage, find_csv, read_diw_csv
from .data.images import RESIZE_METHODS, load_rgb, resize_map, resize_rgb
from .errors import MobileDepthError
from .inputs import Preprocess
from .metrics.dense import dense_metrics
from .metrics.whdr import DEFAULT_RESIZE, WHDRCount, whdr_for_image
from .modelinfo import describe_model
from .records import DenseScores, EvalDataset, EvalRecord, PriorScore
from .runtime.predictors import load_predictor


@dataclass(frozen=True)
class EvalOptions:
    split: str = "test"
    size: tuple[int, int] | None = None  # checkpoints and dynamic files; None: the model's own
    disparity: bool = False
    preprocess: Preprocess | None = None  # None: what the model declares
    depth_dir: Path | None = None
    limit: int | None = None
    resize: str = DEFAULT_RESIZE
    output: str | int | None = None  # which output is the depth map (name or index; default the first)

    def __post_init__(self) -> None:
        if self.resize not in RESIZE_METHODS:
            raise MobileDepthError(f"--resize {self.resize!r}: choose from {', '.join(RESIZE_METHODS)}")
        if self.limit is not None and self.limit < 1:
            raise MobileDepthError(f"limit {self.limit}: must be at least 1")


def score_entries(
    predict: Callable[[np.ndarray], np.ndarray],
    entries: list[DIWImage],
    h: int,
    w: int,
    disparity: bool = False,
    depth_dir: Path | None = None,
    progress: Callable[[int, int], None] = lambda done, total: None,
    resize: str = DEFAULT_RESIZE,
) -> tuple[WHDRCount, list[tuple[float, float, float]]]:
    """The protocol itself, for any ``predict(image at h x w) -> map`` (files, or a model in training)."""
    counts = WHDRCount()
    dense: list[tuple[float, float, float]] = []
    for i, entry in enumerate(entries):
        prediction = predict(resize_rgb(load_rgb(entry.path), h, w))
        counts.add(
            whdr_for_image(prediction, entry.width, entry.height, entry.pairs, disparity=disparity, resize=resize)
        )
        gt_path = depth_dir / f"{entry.path.stem}.npy" if depth_dir is not None else None
        if gt_path is not None and gt_path.is_file():
            gt = np.load(gt_path)
            m = dense_metrics(resize_map(prediction, *gt.shape), gt, disparity=disparity)
            dense.append((m.rmse, m.delta1, m.si_rmse))
        progress(i + 1, len(entries))
    return counts, dense


def evaluate_file(
    model_path: str | os.PathLike,
    data: str | os.PathLike,
    options: EvalOptions = EvalOptions(),
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> EvalRecord:
    """Evaluate one model file on the DIW pairs of ``data``."""
    model_path = Path(model_path)
    csv = find_csv(data, options.split)
    entries = read_diw_csv(csv)
    if options.limit:
        entries = entries[: options.limit]
    info = describe_model(model_path)
    predictor = load_predictor(model_path, options.size, options.preprocess, output=options.output)
    h, w = predictor.input_hw
    counts, dense = score_entries(
        predictor.predict,
        entries,
        h,
        w,
        options.disparity,
        options.depth_dir or csv.parent / "depth",
        progress,
        options.resize,
    )
    return EvalRecord(
        model=info,
        whdr=counts.whdr,
        dataset=EvalDataset(csv=str(csv), images=len(entries), pairs=counts.total),
        wrong_pairs=counts.wrong,
        input_hw=(int(h), int(w)),
        disparity=options.disparity,
        resize=options.resize,
        preprocess=predictor.preprocess,
        dense=_dense_block(dense),
    )


def evaluate_real(model_path: str | os.PathLike, options: EvalOptions = EvalOptions()) -> EvalRecord:
    """WHDR on a real photograph with real depth (:mod:`.data.real`), beside the 'higher is farther' prior on
    the same pairs: what a model trained on procedural scenes has learned about real ones."""
    from .data.real import PRIOR_NAME, motorcycle_pairs, prior_map
    from .metrics.whdr import pair_errors

    real = motorcycle_pairs()
    entry = real.entry
    info = describe_model(model_path)
    predictor = load_predictor(model_path, options.size, options.preprocess, output=options.output)
    h, w = predictor.input_hw
    counts, _ = score_entries(predictor.predict, [entry], h, w, options.disparity, None, resize=options.resize)
    prior = pair_errors(prior_map(entry.height, entry.width), entry.pairs)
    return EvalRecord(
        model=info, whdr=counts.whdr, wrong_pairs=counts.wrong, input_hw=(int(h), int(w)),
        dataset=EvalDataset(csv=str(entry.path), images=1, pairs=counts.total, name=real.name, real=True),
        disparity=options.disparity, resize=options.resize, preprocess=predictor.preprocess,
        prior=PriorScore(PRIOR_NAME, prior.whdr),
    )  # fmt: skip


def _dense_block(dense: list[tuple[float, float, float]]) -> DenseScores | None:
    """Mean dense metrics over the images that have ground-truth maps (None when none has)."""
    if not dense:
        return None
    return DenseScores(
        images=len(dense),
        rmse=float(np.mean([d[0] for d in dense])),
        delta1=float(np.mean([d[1] for d in dense])),
        si_rmse=float(np.mean([d[2] for d in dense])),
    )
