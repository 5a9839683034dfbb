"""Paired (interleaved) latency: the only way two files' times on one machine can be compared.

A host or phone drifts by 5-15% between processes minutes apart (frequency scaling, other load,
thermal throttling), which is as large as the differences users decide on. Here every file runs in
alternating rounds inside one run, so drift hits all files alike; each round gives each file a median,
and the ratio of two files is taken per round. The result is each file's median of round medians and,
for every file against the first, the median per-round ratio with a bootstrap confidence interval over
rounds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..metrics.bootstrap import BOOTSTRAP_SAMPLES, BOOTSTRAP_SEED, CONFIDENCE, bootstrap_interval
from ..records.parts import Interval


@dataclass(frozen=True)
class PairedRun:
    """What one paired run measured: every file's round medians (in the order given) and each file's ratio
    to the first. ``labels`` name the files (a file given twice gets ``#position`` suffixes)."""

    labels: tuple[str, ...]
    rounds: int
    runs_per_round: int
    round_medians_ms: tuple[tuple[float, ...], ...]  # [file][round]
    ratios: tuple[Interval | None, ...]  # [file] to the first; None for the first

    def median_ms(self, i: int) -> float:
        return float(np.median(self.round_medians_ms[i]))


def bootstrap_ratio(
    a: Sequence[float],
    b: Sequence[float],
    samples: int = BOOTSTRAP_SAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = BOOTSTRAP_SEED,
) -> Interval:
    """Median of per-round ratios b/a and its percentile bootstrap interval (rounds resampled)."""
    ratios = np.asarray(b, dtype=np.float64) / np.asarray(a, dtype=np.float64)
    low, high = bootstrap_interval(
        lambda picks: np.median(ratios[picks], axis=1), len(ratios), samples, confidence, seed
    )
    return Interval(float(np.median(ratios)), low, high, confidence)


def run_paired(
    labels: Sequence[str],
    runners: Sequence[Callable[[], None]],
    rounds: int,
    runs_per_round: int,
    warmup_runs: int,
    clock: Callable[[], float] = time.perf_counter,
    between_rounds: Callable[[int], None] = lambda r: None,
) -> PairedRun:
    """Time ``runners`` (one inference each) in alternating rounds; the order flips every round so
    neither file always runs right after the other's cache state. Rounds are generated as they run
    (never a list of every run built first: a huge --rounds must not allocate before it times anything)."""
    for run in runners:
        for _ in range(warmup_runs):
            run()
    per_round: list[list[float]] = [[] for _ in runners]
    order = list(range(len(runners)))
    for r in range(rounds):
        between_rounds(r)
        for i in order if r % 2 == 0 else order[::-1]:
            samples = []
            for _ in range(runs_per_round):
                start = clock()
                runners[i]()
                samples.append((clock() - start) * 1e3)
            per_round[i].append(float(np.median(samples)))
    ratios = (None, *(bootstrap_ratio(per_round[0], values) for values in per_round[1:]))
    return PairedRun(tuple(labels), rounds, runs_per_round, tuple(tuple(v) for v in per_round), ratios)


def labels(paths: Sequence[str]) -> list[str]:
    """One name per timed file; the same file given twice (an A/A check) gets ``#position`` suffixes."""
    names = [str(p) for p in paths]
    return [f"{n}#{i}" if names.count(n) > 1 else n for i, n in enumerate(names)]
