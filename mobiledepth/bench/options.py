"""The host benchmark's option dataclasses: the only place their defaults live (the CLI reads them for its
help text, so this module stays import-light)."""

from __future__ import annotations

from dataclasses import dataclass

PHONE_PAIRED_ROUNDS = 10  # each round is a whole benchmark_model process per file: fewer than the host's 20


@dataclass
class HostBenchOptions:
    threads: int = 2
    warmup_runs: int = 5
    warmup_seconds: float = 0.0
    runs: int = 50
    min_seconds: float = 0.0
    height: int = 256  # checkpoints only: ONNX/TFLite files have a fixed input size
    width: int = 256


@dataclass
class PairedOptions:
    rounds: int = 20
    runs_per_round: int = 5
    warmup_runs: int = 5
    threads: int = 2
