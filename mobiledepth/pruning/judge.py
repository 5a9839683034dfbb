"""Whether a pruning step is real: every candidate timed paired against the current and the base file.

A host or phone drifts by 5-15% between runs minutes apart, the size of the cuts NetAdapt asks for, so
no step is accepted on a measurement of the candidate alone. :meth:`Judge.verify` times the candidate,
the current and the base file interleaved: the step counts only when the upper end of the 95% interval
of candidate / current is below 1. :meth:`Judge.confirm` times the final file against the base with
twice the rounds: the target is ``reached`` only when that ratio's upper end is within it. The target
is exclusive: the phone's resource (Ray) or the host's cores are held for the whole paired run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from ..benchmark.paired import bootstrap_ratio
from ..records.pruning import Confirmation, MeasurerKey, Verification


class Target(Protocol):
    """Where latency is measured: our checkpoints converted to the deployed file, or any module's ONNX file."""

    key: MeasurerKey
    device: str

    def file_of(self, model, workdir: Path, label: str) -> Path: ...

    def paired(self, files: list[Path], rounds: int = 20) -> list[list[float]]: ...

    def cache_name(self) -> str: ...


@dataclass
class Judge:
    target: Target
    rounds: int
    log: Callable[[str], None] = print

    def verify(self, candidate: Path, current: Path, base: Path, label: str) -> Verification:
        base_r, current_r, cand_r = self.target.paired([base, current, candidate], rounds=self.rounds)
        check = Verification(rounds=self.rounds, ms=float(np.median(cand_r)), base_ms=float(np.median(base_r)),
                             current_ms=float(np.median(current_r)), step=bootstrap_ratio(current_r, cand_r),
                             base=bootstrap_ratio(base_r, cand_r))  # fmt: skip
        s, b = check.step, check.base
        self.log(f"paired {label}: {check.ms:.3f} ms; candidate/current {s.median:.3f} [{s.low:.3f}, {s.high:.3f}], "
                 f"candidate/base {b.median:.3f} [{b.low:.3f}, {b.high:.3f}]")  # fmt: skip
        return check

    def confirm(self, base: Path, final: Path, target_ratio: float) -> Confirmation:
        rounds = 2 * self.rounds
        base_r, final_r = self.target.paired([base, final], rounds=rounds)
        ratio = bootstrap_ratio(base_r, final_r)
        confirmed = ratio.high <= target_ratio
        self.log(f"confirmation: final/base {ratio.median:.3f} [{ratio.low:.3f}, {ratio.high:.3f}] vs target ratio "
                 f"{target_ratio:.3f}: {'confirmed' if confirmed else 'NOT confirmed'}")  # fmt: skip
        return Confirmation(rounds=rounds, final_ms=float(np.median(final_r)), base_ms=float(np.median(base_r)),
                            ratio=ratio, target_ratio=target_ratio, confirmed=confirmed)  # fmt: skip
