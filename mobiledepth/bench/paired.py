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
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ..metrics.bootstrap import BOOTSTRAP_SAMPLES, BOOTSTRAP_SEED, CONFIDENCE, bootstrap_interval
from .options import PairedOptions  # noqa: F401  (re-exported)


@dataclass
class Ratio:
    """``file`` / ``baseline`` latency: median over rounds, and the bootstrap interval of that median."""

    baseline: str
    file: str
    median: float
    low: float
    high: float
    confidence: float = CONFIDENCE


@dataclass
class PairedResult:
    files: list[str]
    rounds: int
    runs_per_round: int
    round_medians_ms: dict[str, list[float]] = field(default_factory=dict)
    median_ms: dict[str, float] = field(default_factory=dict)
    ratios: list[Ratio] = field(default_factory=list)
    paired: bool = True

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def bootstrap_ratio(
    a: Sequence[float],
    b: Sequence[float],
    samples: int = BOOTSTRAP_SAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float, float]:
    """Median of per-round ratios b/a and its percentile bootstrap interval (rounds resampled)."""
    ratios = np.asarray(b, dtype=np.float64) / np.asarray(a, dtype=np.float64)
    low, high = bootstrap_interval(
        lambda picks: np.median(ratios[picks], axis=1), len(ratios), samples, confidence, seed
    )
    return float(np.median(ratios)), low, high


def speedup_of(median: float, low: float, high: float) -> tuple[float, float, float]:
    """A latency ratio b/a with its interval as the speed-up a/b: each value inverted, the interval's ends
    swapped (the ratio's high end is the speed-up's low end)."""
    return 1.0 / median, 1.0 / high, 1.0 / low


def run_paired(
    names: Sequence[str],
    runners: Sequence[Callable[[], None]],
    options: PairedOptions = PairedOptions(),
    clock: Callable[[], float] = time.perf_counter,
    between_rounds: Callable[[int], None] = lambda r: None,
) -> PairedResult:
    """Time ``runners`` (one inference each) in alternating rounds; the order flips every round so
    neither file always runs right after the other's cache state."""
    for run in runners:
        for _ in range(options.warmup_runs):
            run()
    per_round: dict[str, list[float]] = {n: [] for n in names}
    order = list(range(len(runners)))
    for r in range(options.rounds):
        between_rounds(r)
        for i in order if r % 2 == 0 else order[::-1]:
            samples = []
            for _ in range(options.runs_per_round):
                start = clock()
                runners[i]()
                samples.append((clock() - start) * 1e3)
            per_round[names[i]].append(float(np.median(samples)))
    result = PairedResult(
        files=list(names),
        rounds=options.rounds,
        runs_per_round=options.runs_per_round,
        round_medians_ms=per_round,
        median_ms={n: float(np.median(v)) for n, v in per_round.items()},
    )
    base = names[0]
    for n in names[1:]:
        med, lo, hi = bootstrap_ratio(per_round[base], per_round[n])
        result.ratios.append(Ratio(baseline=base, file=n, median=med, low=lo, high=hi))
    return result


def paired_host(
    paths: Sequence[str], options: PairedOptions = PairedOptions(), input_hw: tuple[int, int] | None = None
) -> PairedResult:
    """Paired timing of model files on this host, all loaded in this process (LiteRT, ONNX Runtime, PyTorch)."""
    from ..runtime.predictors import load_predictor

    predictors = [load_predictor(p, input_hw, threads=options.threads, spinning=False) for p in paths]
    feeds = [p.feed() for p in predictors]
    runners = [(lambda p=p, f=f: p.run(f)) for p, f in zip(predictors, feeds)]
    return run_paired(labels(paths), runners, options)


def labels(paths: Sequence[str]) -> list[str]:
    """One name per timed file; the same file given twice (an A/A check) gets ``#position`` suffixes."""
    names = [str(p) for p in paths]
    return [f"{n}#{i}" if names.count(n) > 1 else n for i, n in enumerate(names)]
