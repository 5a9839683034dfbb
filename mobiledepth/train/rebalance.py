"""Multi-loss rebalancing (Lee & Kim, ECCV 2020), as the paper uses it (§3.3).

No weight initialisation (all weights start equal), a few rebalancing events per epoch (paper: 5),
intermediate-prediction weights stay fixed inside each term, and the order is "hard first, then easy":
lambda < 0 early (terms that fall faster than the total LOSE weight, so the slow distillation terms
dominate first), lambda > 0 late (the fast ranking term gains).

Update at each event, with L_j the mean UNWEIGHTED loss j since the last event and T = sum_j w_j L_j:
    a_j = clip(1 + lambda_e * ((T / P) * (L_prev_j / L_j) - 1), 0.5, 2.0);  w_j <- w_j * a_j
then P <- sum_j w_j L_j and L_prev <- L. The first event only records (P is unset without initialisation).
lambda_e = clip(lambda_start + e * lambda_slope, lambda_min, lambda_max) for epoch e.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RebalanceConfig:
    events_per_epoch: int = 5
    lambda_start: float = -3.0  # hard first ...
    lambda_slope: float = 1.5  # ... then easy
    lambda_min: float = -3.0
    lambda_max: float = 3.0
    initialise: bool = False  # the paper turns Lee & Kim's initial scaling OFF

    @classmethod
    def preset(cls, order: str, **kw) -> "RebalanceConfig":
        if order == "hard-first":
            return cls(lambda_start=-3.0, lambda_slope=1.5, **kw)
        if order == "easy-first":  # the official code's default
            return cls(lambda_start=3.0, lambda_slope=-1.5, **kw)
        raise ValueError(f"rebalancing order must be 'hard-first' or 'easy-first', got {order!r}")


@dataclass
class LossRebalancer:
    names: list[str]
    config: RebalanceConfig = field(default_factory=RebalanceConfig)
    weights: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    _sums: dict[str, float] = field(default_factory=dict)
    _count: int = 0
    _prev: dict[str, float] | None = None
    _prev_total: float | None = None

    def __post_init__(self) -> None:
        if not self.weights:
            self.weights = {n: 1.0 / len(self.names) for n in self.names}
        self._sums = {n: 0.0 for n in self.names}

    def lam(self, epoch: int) -> float:
        c = self.config
        return min(max(c.lambda_start + epoch * c.lambda_slope, c.lambda_min), c.lambda_max)

    def observe(self, losses: dict[str, float]) -> None:
        """Accumulate one step's unweighted losses."""
        for n in self.names:
            self._sums[n] += float(losses[n])
        self._count += 1

    def event(self, epoch: int, step: int = 0) -> dict[str, float]:
        """A rebalancing event; returns the new weights (also appended to ``history``)."""
        if self._count == 0:
            return dict(self.weights)
        mean = {n: self._sums[n] / self._count for n in self.names}
        lam = self.lam(epoch)
        if self.config.initialise and self._prev is None:
            total = sum(self.weights[n] * mean[n] for n in self.names)
            self.weights = {n: total / len(self.names) / max(mean[n], 1e-12) for n in self.names}
        elif self._prev is not None and self._prev_total:
            total = sum(self.weights[n] * mean[n] for n in self.names)
            for n in self.names:
                ratio = (total / self._prev_total) * (self._prev[n] / max(mean[n], 1e-12))
                self.weights[n] *= min(max(1.0 + lam * (ratio - 1.0), 0.5), 2.0)
        self._prev = mean
        self._prev_total = sum(self.weights[n] * mean[n] for n in self.names)
        self._sums = {n: 0.0 for n in self.names}
        self._count = 0
        self.history.append(
            {"epoch": epoch, "step": step, "lambda": lam, "mean_losses": mean, "weights": dict(self.weights)}
        )
        return dict(self.weights)

    def state_dict(self) -> dict[str, Any]:
        return {
            "weights": dict(self.weights),
            "history": list(self.history),
            "sums": dict(self._sums),
            "count": self._count,
            "prev": None if self._prev is None else dict(self._prev),
            "prev_total": self._prev_total,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.weights = dict(state["weights"])
        self.history = list(state["history"])
        self._sums = dict(state["sums"])
        self._count = int(state["count"])
        self._prev = None if state["prev"] is None else dict(state["prev"])
        self._prev_total = state["prev_total"]
