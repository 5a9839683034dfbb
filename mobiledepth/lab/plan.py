"""A sweep's matrix: files x phones x delegates x threads, each cell a job with its key.

Single mode: one job per file per (phone, delegate, threads). Paired mode: one job per (phone, delegate,
threads) timing every file interleaved, the first the baseline of the ratios (per phone: pairing across
phones would compare two chips, not two files).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from android_bench.hashing import sha256_file
from android_bench.runner import DELEGATES, PhoneOptions
from android_bench.timing import PHONE_TIMING, Timing

from ..errors import MobileDepthError
from ..records.lab import JobKey
from .fleet import Fleet, FleetHost, FleetPhone


@dataclass(frozen=True)
class SweepFile:
    path: Path
    sha256: str
    precision: str  # from the file (its convert report or its tensors): part of the key


@dataclass(frozen=True)
class SweepRequest:
    """One sweep, passed whole from the CLI: what to run, where, and where the results go."""

    files: tuple[Path, ...]
    fleet: Fleet
    results: Path
    device: str = "all"
    delegates: tuple[str, ...] = ("cpu",)
    threads: tuple[int, ...] = (PHONE_TIMING.threads,)
    paired: bool = False
    timing: Timing = field(default_factory=Timing)  # warm-up, runs, rounds (threads come from ``threads``)
    phone: PhoneOptions = field(default_factory=PhoneOptions)
    binary: Path | None = None  # benchmark_model for every node (default: each node's fetched one)
    ray_address: str | None = None

    def __post_init__(self) -> None:
        if not self.files:
            raise MobileDepthError("bench --fleet: give at least one .tflite file")
        for f in self.files:
            if f.suffix.lower() != ".tflite":
                raise MobileDepthError(f"{f}: phones run .tflite files; convert it first (mobiledepth convert)")
            if not f.is_file():
                raise MobileDepthError(f"{f}: no such model file")
        for d in self.delegates:
            if d not in DELEGATES:
                raise MobileDepthError(f"--delegate {d}: choose from {', '.join(DELEGATES)}")
        for t in self.threads:
            Timing(threads=t).check()
        if self.paired and len(self.files) < 2:
            raise MobileDepthError("--paired needs two or more model files (the first is the baseline of the ratios)")
        if self.timing.threads is not None:
            raise MobileDepthError("bench --fleet: give threads as --threads 1,4 (each value is its own job)")
        self.timing.check()
        self.phone.check()
        self.fleet.select(self.device)


@dataclass(frozen=True)
class SweepJob:
    key: JobKey
    host: FleetHost
    phone: FleetPhone
    files: tuple[SweepFile, ...]
    delegate: str
    threads: int


def describe_files(paths: tuple[Path, ...]) -> tuple[SweepFile, ...]:
    from ..modelinfo import describe_model

    out = []
    for path in paths:
        try:
            precision = describe_model(path).precision
        except MobileDepthError:
            precision = ""  # not a file we know: the phone's tool will say what is wrong with it
        out.append(SweepFile(path, sha256_file(path), precision))
    return tuple(out)


def plan_jobs(request: SweepRequest, files: tuple[SweepFile, ...]) -> list[SweepJob]:
    """Every job of the matrix, in the order they are submitted (file by file: a lab sees every phone's
    figures for the first file before any for the last)."""
    jobs = []
    phones = request.fleet.select(request.device)
    groups = [files] if request.paired else [(f,) for f in files]
    for group in groups:
        for delegate in request.delegates:
            for threads in request.threads:
                for host, phone in phones:
                    jobs.append(SweepJob(_key(group, phone, delegate, threads, request.paired), host, phone, group,
                                         delegate, threads))  # fmt: skip
    return jobs


def _key(group: tuple[SweepFile, ...], phone: FleetPhone, delegate: str, threads: int, paired: bool) -> JobKey:
    if paired:
        sha = hashlib.sha256("".join(f.sha256 for f in group).encode()).hexdigest()
        precision = "+".join(dict.fromkeys(f.precision or "any" for f in group))
    else:
        sha, precision = group[0].sha256, group[0].precision
    return JobKey(sha, phone.serial, delegate, threads, precision, paired)
