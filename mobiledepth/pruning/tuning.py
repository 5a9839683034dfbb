"""How NetAdapt fine-tunes a candidate and scores it: for our network, the ranking loss on the fine-tuning
data and WHDR on its held-out splits; for any module, the caller's own ``train_step`` and metric.

Every score is a loss (lower is better): a metric where higher is better is negated inside, so the engine
compares candidates one way. Fine-tuning is deterministic per seed, so serial and parallel scoring of the
same proposals give the same models.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
import torch
from torch import nn

# Short fine-tunes see few images, so each gives many ranking pairs (dense depth allows it); pairs whose
# depths differ by less than 3% are labelled equal (ReDWeb's sigma; training uses 2%).
FINETUNE_PAIRS_PER_IMAGE = 400
FINETUNE_PAIR_SIGMA = 0.03


class Tuner(Protocol):
    metric: str  # what :meth:`score` measures (history and logs say it)

    def finetune(self, model: nn.Module, steps: int, seed: int) -> nn.Module: ...

    def score(self, model: nn.Module, split: str = "val") -> float: ...  # a loss: lower is better

    def has_test(self) -> bool: ...


@dataclass
class RankingTuner:
    """Our network: the improved ranking loss on a synth or DIW folder's train split, WHDR on val / test."""

    data: Path
    data_kind: str
    train_size: tuple[int, int]
    batch: int
    lr: float
    seed: int
    eval_limit: int
    metric: str = "whdr"

    def __post_init__(self) -> None:
        from ..data.diw import read_diw_csv
        from ..train.datasets import AugmentConfig, build_dataset

        h, w = self.train_size
        self.train_set = build_dataset(self.data_kind, self.data, "train", h, w, AugmentConfig(), self.seed,
                                       pairs_per_image=FINETUNE_PAIRS_PER_IMAGE, sigma=FINETUNE_PAIR_SIGMA)  # fmt: skip
        folder = Path(self.data)
        csv = folder / "DIW_val.csv" if folder.is_dir() else folder
        self.entries = {"val": read_diw_csv(csv)[: self.eval_limit]}
        test_csv = folder / "DIW_test.csv"
        self.entries["test"] = read_diw_csv(test_csv) if test_csv.is_file() else []

    def has_test(self) -> bool:
        return bool(self.entries["test"])

    def score(self, model: nn.Module, split: str = "val") -> float:
        from ..evaluation import score_entries

        model.eval()

        def predict(image: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return model(torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)[None])))[0, 0].numpy()

        return score_entries(predict, self.entries[split], *self.train_size)[0].whdr

    def finetune(self, model: nn.Module, steps: int, seed: int) -> nn.Module:
        """The training recipe's ranking loss on the train split; deterministic per (seed)."""
        from ..seeds import finetune_epoch
        from ..train.datasets import collate
        from ..train.losses import improved_ranking_loss
        from ..train.trainer import optimizer_step

        if steps <= 0:
            return model
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        g = torch.Generator().manual_seed(seed)
        done = epoch = 0
        while done < steps:
            self.train_set.epoch = finetune_epoch(seed, epoch)
            order = torch.randperm(len(self.train_set), generator=g).tolist()
            loader = torch.utils.data.DataLoader(self.train_set, batch_size=self.batch, sampler=order,
                                                 collate_fn=collate, drop_last=True)  # fmt: skip
            for images, target in loader:
                optimizer_step(improved_ranking_loss(model(images), target["pairs"], target["pair_mask"]), opt, None)
                done += 1
                if done >= steps:
                    break
            epoch += 1
        model.eval()
        return model


@dataclass
class CallbackTuner:
    """Any module: the caller's ``train_step(model)`` (one optimisation step, in place) and ``evaluate(model)``."""

    train_step: Callable[[nn.Module], Any]
    evaluate: Callable[[nn.Module], float]
    higher_is_better: bool = False
    metric: str = "score"

    def has_test(self) -> bool:
        return False

    def score(self, model: nn.Module, split: str = "val") -> float:
        model.eval()
        with torch.no_grad():
            value = float(self.evaluate(model))
        return -value if self.higher_is_better else value

    def finetune(self, model: nn.Module, steps: int, seed: int) -> nn.Module:
        torch.manual_seed(seed)
        model.train()
        for _ in range(steps):
            self.train_step(model)
        model.eval()
        return model
