"""NetAdapt's options: the only place their defaults live (the CLI reads them for its help text)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from android_bench.timing import HOST_TIMING

# benchmark threads of the measured file, host and phones alike: the host's timing default
MEASURE_THREADS = HOST_TIMING.threads


@dataclass
class PruneOptions:
    target_ms: float | None = None
    target_ratio: float | None = None
    data: Path | None = None  # fine-tuning data (synth or DIW folder); required, no repo-relative default
    data_kind: str = "synth"
    initial_ratio: float = 0.05  # NetAdapt's r0 (official 0.025; larger = fewer, bigger steps)
    decay: float = 0.96
    max_iterations: int = 20
    max_proposals: int = 8
    short_steps: int = 20
    long_steps: int = 200
    batch: int = 8
    lr: float = 5e-4
    train_size: tuple[int, int] = (128, 160)
    eval_limit: int = 60
    calibration_scales: tuple[float, ...] = (0.75,)
    margin: float = 0.03  # stop only once measured <= target * (1 - margin): the budget must hold when re-measured
    keep: tuple[str, ...] = ()
    # channel groups never proposed, by name ('enc_out[4-6]') or kind ('enc_hidden'): Torch-Pruning's
    # ignored_layers. Why: a latency target on one precision cuts where that precision is slow, which can be
    # a layer the user needs kept (README, pruning for int8: frozen or not, pruning lowered int8's gain there)
    freeze: tuple[str, ...] = ()
    seed: int = 0
    rounds: int = 20  # paired verification rounds (host and phones); the final confirmation uses twice as many
    max_verifications: int = 3  # candidates tried per iteration before giving up on a step that is not faster
    confirmations: int = 3  # final paired confirmations; one above the target sends the run back to pruning
    escalations: int = 2  # when no candidate measures faster, ask for a cut twice as large (this many times)
