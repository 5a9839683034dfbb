"""NetAdapt's search (Yang et al. 2018): per channel group, the widest width whose PREDICTED latency meets
this iteration's cut; each proposal fine-tuned briefly and scored on held-out data; the one losing the
least per millisecond saved is tried first.

The latency predictor ranks differences: a candidate's predicted latency is the current model's
measured latency plus the predictor's difference between the two, so a predictor that is off by a
constant still ranks correctly. Proposals are scored as independent tasks (one seed each), serially or on
workers (:mod:`.workers`): the same seeds give the same fine-tuned models either way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Protocol, Sequence

import torch
from torch import nn

from ..records.pruning import Proposal, Rejected
from .channels import ChannelSource
from .latency import LatencyModel
from .tuning import Tuner


def predicted(latency: LatencyModel, source: ChannelSource, model: nn.Module, model_ms: float, group: str,
              width: int) -> float:  # fmt: skip
    """Predicted latency of ``model`` with ``group`` at ``width``, anchored on ``model``'s measurement."""
    return model_ms + latency.predict(source.features(model, group, width)) - latency.predict(source.features(model))


def propose(source: ChannelSource, latency: LatencyModel, model: nn.Module, model_ms: float, target_ms: float,
            frozen: set[str], step: int, limit: int) -> list[Proposal]:  # fmt: skip
    """One proposal per unfrozen group: its widest width (a multiple of ``step``) predicted to meet
    ``target_ms`` (latency grows with width: a binary search), gentlest first, at most ``limit``."""
    proposals = []
    for g in source.groups(model):
        widths = list(range(step, g.width, step))  # strictly smaller multiples of the step
        if g.name in frozen or not widths:
            continue
        if predicted(latency, source, model, model_ms, g.name, widths[0]) > target_ms:
            continue  # even the narrowest width misses this iteration's target
        lo, hi = 0, len(widths) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if predicted(latency, source, model, model_ms, g.name, widths[mid]) <= target_ms:
                lo = mid
            else:
                hi = mid - 1
        width = widths[lo]
        proposals.append(Proposal(g.name, g.width, width, predicted(latency, source, model, model_ms, g.name, width)))
    # Evaluate the gentlest proposals first: the smallest share of a group removed for the same saving.
    proposals.sort(key=lambda p: 1 - p.width_to / p.width_from)
    return proposals[:limit]


def untried(proposals: list[Proposal], rejected: Sequence[Rejected]) -> list[Proposal]:
    """The proposals not already measured and rejected in this iteration. Why: when no group can deliver
    an escalated cut, the cut is halved back and the same candidates return; measuring a rejected one
    again until the timing noise lets it pass would accept a step that is not faster."""
    tried = {(r.group, r.width_to) for r in rejected}
    return [p for p in proposals if (p.group, p.width_to) not in tried]


@dataclass(frozen=True)
class ScoreJob:
    """One proposal to fine-tune and score: everything a worker needs, nothing it must share."""

    proposal: Proposal
    seed: int
    steps: int


class Scorer(Protocol):
    def __call__(self, model: nn.Module, jobs: list[ScoreJob]) -> list[tuple[float, nn.Module]]: ...


def score_one(source: ChannelSource, tuner: Tuner, model: nn.Module, job: ScoreJob) -> tuple[float, nn.Module]:
    """The proposal's pruned copy, fine-tuned with its own seed, and its held-out loss."""
    p = job.proposal
    candidate = tuner.finetune(source.shrink(model, p.group, p.width_to), job.steps, seed=job.seed)
    return tuner.score(candidate), candidate


def serial_scorer(source: ChannelSource, tuner: Tuner, threads: int | None = None) -> Scorer:
    """Proposals scored one after another here; ``threads`` (``--worker-threads``) sets torch's thread count
    while they are, as each Ray task does: oneDNN sums in a thread-count-dependent order, so fine-tuned scores
    are reproducible across serial and Ray runs of the same per-task thread count, not across counts."""

    def score(model: nn.Module, jobs: list[ScoreJob]) -> list[tuple[float, nn.Module]]:
        before = torch.get_num_threads()
        if threads is not None:
            torch.set_num_threads(threads)
        try:
            return [score_one(source, tuner, model, job) for job in jobs]
        finally:
            torch.set_num_threads(before)

    return score


def rank(proposals: list[Proposal], results: list[tuple[float, nn.Module]], current_loss: float, current_ms: float,
         log: Callable[[str], None]) -> list[tuple[Proposal, nn.Module]]:  # fmt: skip
    """Each proposal with its loss and its score (loss lost per predicted ms saved), best first."""
    scored = []
    for p, (loss, model) in zip(proposals, results):
        p = replace(p, whdr=loss, score=(loss - current_loss) / max(current_ms - p.predicted_ms, 1e-3))
        log(f"  {p.group}: {p.width_from} -> {p.width_to}, predicted {p.predicted_ms:.3f} ms, val {loss:.4f}")
        scored.append((p, model))
    return sorted(scored, key=lambda pm: pm[0].score)
