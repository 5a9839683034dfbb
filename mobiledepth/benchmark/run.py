"""A benchmark request sent to its target: the one dispatch between this computer and phones."""

from __future__ import annotations

from typing import Callable

from .host import bench_host, bench_host_paired
from .phone import bench_phones, bench_phones_paired
from .request import BenchOutcome, BenchRequest

Progress = Callable[[str], None]


def run_bench(request: BenchRequest, progress: Progress = lambda message: None) -> BenchOutcome:
    """Time the request's files on its target: the one dispatch between this computer and phones."""
    if not request.on_host:
        return (bench_phones_paired if request.paired else bench_phones)(request, progress)
    timing = request.resolved_timing
    if request.paired:
        progress(f"paired timing of {len(request.files)} files, {timing.rounds} rounds")
        files = list(request.files)
        return BenchOutcome(tuple(bench_host_paired(files, timing, request.runs_per_round, request.size)))
    records = []
    for path in request.files:
        progress(f"bench {path.name}")
        records.append(bench_host(path, timing, request.size))
    return BenchOutcome(tuple(records))
