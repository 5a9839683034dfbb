"""Device-lab sweep records: one per job of a sweep, keyed by what makes two measurements the same one.

A sweep's results folder holds one :class:`SweepJobRecord` per job, named by its :class:`JobKey`: a job that
ends (measured or failed) replaces its file atomically, so a re-run finds exactly what is missing and a
record is never duplicated. A finished job carries its bench records (one per file; a paired job one per
file of the pair); a failed one its cause in one line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .bench import BenchRecord
from .parts import Record

JOB_STATUSES = ("done", "failed")


@dataclass(frozen=True)
class JobKey:
    """The same file (by content) on the same phone with the same delegate, threads and precision is the same
    job, whatever the file is called or where it lies. A paired job's ``sha256`` hashes its files' hashes
    in order (its baseline first)."""

    sha256: str
    serial: str
    delegate: str
    threads: int
    precision: str
    paired: bool = False

    @property
    def name(self) -> str:
        """A file name that says what the job is and cannot collide (the serial may hold any character)."""
        serial = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.serial)
        mode = "paired" if self.paired else "single"
        digest = hashlib.sha256(repr(self).encode()).hexdigest()[:8]
        return f"{self.sha256[:12]}-{serial}-{self.delegate}-t{self.threads}-{self.precision or 'any'}-{mode}-{digest}"


@dataclass(frozen=True, kw_only=True)
class SweepJobRecord(Record):
    record: str = "sweep-job"
    key: JobKey
    files: tuple[str, ...]  # as the sweep named them (a paired job: every file, the baseline first)
    host: str  # the fleet host that holds the phone
    alias: str = ""
    status: str  # one of JOB_STATUSES
    cause: str = ""  # failed: why, in one line
    node: str = ""  # the Ray node that ran it (empty: never started)
    wall_s: float = 0.0
    results: tuple[BenchRecord, ...] = ()
    problems: tuple[str, ...] = ()  # measured, but a delegate was not applied (the records say so too)
    warnings: tuple[str, ...] = ()  # measured; a delegate took only part of the graph
