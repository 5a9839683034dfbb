"""One sweep job, run on the Ray node that holds its phone: the files (their bytes, shipped through Ray's object
store: a lab host need not share the driver's disk) on the phone, through the same path as
``mobiledepth bench --device`` (thermal guard before every run, delegation judged, never silent).

The job answers with a :class:`~mobiledepth.records.lab.SweepJobRecord`, never an exception: a phone that
drops, a tool that crashes or a file the phone rejects is a failed job with its cause in one line, and
every other job goes on.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from android_bench.adb import AdbEndpoint
from android_bench.errors import BenchError
from android_bench.runner import PhoneOptions
from android_bench.timing import Timing

from ..errors import MobileDepthError, one_line
from ..records.bench import BenchRecord
from ..records.lab import JobKey, SweepJobRecord


@dataclass(frozen=True)
class JobSpec:
    """What a node needs to run one job (pickled to it by Ray; the file bytes travel beside it)."""

    key: JobKey
    host: str
    alias: str
    adb: AdbEndpoint
    names: tuple[str, ...]  # the files' names as the sweep gave them (the baseline first when paired)
    timing: Timing  # threads resolved
    phone: PhoneOptions
    binary_name: str | None = None


def failed(spec: JobSpec, cause: str, node: str = "", wall_s: float = 0.0) -> SweepJobRecord:
    return SweepJobRecord(key=spec.key, files=spec.names, host=spec.host, alias=spec.alias, status="failed",
                          cause=one_line(cause, 400), node=node, wall_s=wall_s)  # fmt: skip


def _local_files(scratch: Path, spec: JobSpec, blobs: tuple[bytes, ...]) -> list[Path]:
    """Each file under its own name in its own folder: two files may share a name (two runs' model_fp32)."""
    paths = []
    for i, (name, blob) in enumerate(zip(spec.names, blobs)):
        path = scratch / str(i) / Path(name).name
        path.parent.mkdir()
        path.write_bytes(blob)
        paths.append(path)
    return paths


def run_job(spec: JobSpec, node: str, binary: bytes | None, blobs: tuple[bytes, ...]) -> SweepJobRecord:
    """The job on this node; ``node`` names it in the record."""
    from ..benchmark.phone import bench_phones, bench_phones_paired, delegation_outcome
    from ..benchmark.request import BenchRequest

    start = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="mobiledepth-job-") as scratch:
            files = _local_files(Path(scratch), spec, blobs)
            tool = None
            if binary is not None:
                tool = Path(scratch) / (spec.binary_name or "benchmark_model")
                tool.write_bytes(binary)
            request = BenchRequest(files=tuple(files), device=spec.key.serial, delegate=spec.key.delegate,
                                   paired=spec.key.paired, timing=spec.timing, phone=spec.phone, adb=spec.adb,
                                   binary=tool)  # fmt: skip
            outcome = (bench_phones_paired if spec.key.paired else bench_phones)(request)
    except (MobileDepthError, BenchError, OSError) as exc:
        return failed(spec, str(exc), node, time.monotonic() - start)
    wall = time.monotonic() - start
    if not outcome.records:
        return failed(spec, " | ".join(outcome.problems) or "the phone returned no result", node, wall)
    by_path = {str(f): name for f, name in zip(files, spec.names)}
    results = tuple(_renamed(r, by_path, spec.alias) for r in outcome.records)
    outcome = delegation_outcome(list(results), paired=spec.key.paired)  # its lines name the phone by its alias
    return SweepJobRecord(key=spec.key, files=spec.names, host=spec.host, alias=spec.alias, status="done", node=node,
                          wall_s=wall, results=results, problems=tuple(one_line(p, 400) for p in outcome.problems),
                          warnings=tuple(one_line(w, 400) for w in outcome.warnings))  # fmt: skip


def _renamed(record: BenchRecord, by_path: dict[str, str], alias: str) -> BenchRecord:
    """The record naming the sweep's files (not the node's scratch copies) and the phone by its fleet alias
    (two phones of one model must not read alike)."""
    name = lambda path: by_path.get(path, path)  # noqa: E731
    paired = record.paired
    if paired is not None:
        paired = replace(paired, files=tuple(map(name, paired.files)), label=name(paired.label),
                         baseline=name(paired.baseline))  # fmt: skip
    device = replace(record.device, name=alias) if alias else record.device
    return replace(record, model=replace(record.model, path=name(record.model.path)), paired=paired, device=device)
