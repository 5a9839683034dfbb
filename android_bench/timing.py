"""How long and how hard a benchmark runs: one timing block for the host and phones.

``None`` in a :class:`Timing` means "the target's default": :data:`HOST_TIMING` on this computer,
:data:`PHONE_TIMING` on phones. These two are the only place a timing default lives; the CLI's help
reads them. :meth:`Timing.over` fills a request's blanks from them, and :meth:`Timing.check` refuses
values no run can use, each with the flag's name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace

from .errors import BenchError

MAX_ROUNDS = 10_000  # a paired run keeps every round in memory and in its record
MAX_RUNS = 1_000_000


@dataclass(frozen=True)
class Timing:
    threads: int | None = None
    warmup_runs: int | None = None
    warmup_seconds: float | None = None
    runs: int | None = None  # paired: runs per round
    min_seconds: float | None = None
    rounds: int | None = None  # paired runs only

    def over(self, defaults: "Timing") -> "Timing":
        """This timing with its unset fields taken from ``defaults``."""
        return replace(
            defaults, **{f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}
        )

    def check(self, max_threads: int | None = None) -> "Timing":
        """One line naming the first flag out of range; ``max_threads`` bounds --threads (the host's cores)."""
        limits = (
            ("--threads", self.threads, 1, max_threads),
            ("--warmup", self.warmup_runs, 0, MAX_RUNS),
            ("--runs", self.runs, 1, MAX_RUNS),
            ("--rounds", self.rounds, 2, MAX_ROUNDS),
            ("--warmup-seconds", self.warmup_seconds, 0, 3600),
            ("--min-seconds", self.min_seconds, 0, 3600),
        )
        for flag, value, least, most in limits:
            if value is None:
                continue
            if not least <= value or (most is not None and not value <= most):  # NaN fails both
                span = f"between {least} and {most}" if most is not None else f"at least {least}"
                raise BenchError(f"{flag} {value}: must be {span}")
        return self


HOST_TIMING = Timing(threads=2, warmup_runs=5, warmup_seconds=0.0, runs=50, min_seconds=0.0, rounds=20)
PHONE_TIMING = Timing(threads=4, warmup_runs=5, warmup_seconds=1.0, runs=50, min_seconds=1.0, rounds=10)
PAIRED_RUNS_PER_ROUND = 5  # the host's paired rounds stay short: rounds, not runs, carry the comparison
MAX_RUNS_PER_ROUND = 10


def host_cores() -> int:
    """Cores this process may run on: the upper bound of the host's --threads."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
