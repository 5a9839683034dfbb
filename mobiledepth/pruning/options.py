"""NetAdapt's options, one type for every model (ours from the CLI, any nn.Module from Python): the only
place their defaults live (the CLI reads them for its help text), each checked against its range when built."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from android_bench.timing import HOST_TIMING, MAX_ROUNDS

from ..errors import MobileDepthError

# benchmark threads of the measured file, host and phones alike: the host's timing default
MEASURE_THREADS = HOST_TIMING.threads
MAX_STEPS = 10_000_000


@dataclass(frozen=True)
class PruneOptions:
    target_ms: float | None = None
    target_ratio: float | None = None
    data: Path | None = None  # ours: fine-tuning data (synth or DIW folder); any module: its train_step does it
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
    # a layer the user needs kept. For any nn.Module: module names; the layers that produce an output are
    # always frozen (cutting one would change what the model returns).
    freeze: tuple[str, ...] = ()
    seed: int = 0
    rounds: int = 20  # paired verification rounds (host and phones); the final confirmation uses twice as many
    max_verifications: int = 3  # candidates tried per iteration before giving up on a step that is not faster
    confirmations: int = 3  # final paired confirmations; one above the target sends the run back to pruning
    escalations: int = 2  # when no candidate measures faster, ask for a cut twice as large (this many times)
    channel_step: int = 8  # widths stay multiples of this (phone kernels prefer them)
    workers: int = 1  # fine-tune and score an iteration's proposals as this many parallel tasks (Ray)
    worker_threads: int | None = None  # torch threads per fine-tune (Ray task or serial); None: cores / workers

    def __post_init__(self) -> None:
        if (self.target_ms is None) == (self.target_ratio is None):
            raise MobileDepthError("give exactly one of --target-ms or --target-ratio")
        if self.target_ms is not None and not 0 < self.target_ms < 1e6:
            raise MobileDepthError(f"--target-ms {self.target_ms}: a latency budget must be a positive number of ms")
        if self.target_ratio is not None and not 0 < self.target_ratio < 1:
            raise MobileDepthError(f"--target-ratio {self.target_ratio}: a share of the starting latency, between 0 "
                                   "and 1 (0.8 = 20% faster)")  # fmt: skip
        ranges = (("--initial-ratio", self.initial_ratio, 0, 1), ("--decay", self.decay, 0, 1),
                  ("--margin", self.margin, 0, 0.5), ("--max-iterations", self.max_iterations, 1, 10_000),
                  ("--max-proposals", self.max_proposals, 1, 10_000), ("--short-steps", self.short_steps, 0, MAX_STEPS),
                  ("--long-steps", self.long_steps, 0, MAX_STEPS), ("--rounds", self.rounds, 2, MAX_ROUNDS),
                  ("--workers", self.workers, 1, 1024),
                  ("--worker-threads", self.worker_threads or 1, 1, 1024), ("channel_step", self.channel_step, 1, 1024),
                  ("batch", self.batch, 1, 4096), ("lr", self.lr, 0, 10))  # fmt: skip
        for flag, value, low, high in ranges:
            if not (low < value <= high if isinstance(value, float) else low <= value <= high):  # NaN fails too
                raise MobileDepthError(f"{flag} {value}: must be in {'(' if isinstance(value, float) else '['}"
                                       f"{low}, {high}]")  # fmt: skip
        if self.data_kind not in ("synth", "diw"):
            raise MobileDepthError(f"--data-kind {self.data_kind}: choose synth or diw")
