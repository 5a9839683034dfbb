"""``mobiledepth bench FILES --fleet FLEET.toml --results DIR``: the whole matrix on the lab, as Ray tasks.

A sweep reads top to bottom: describe the files (their sha256 and precision key the jobs), plan the matrix,
drop the jobs the results folder already holds as done, ship each file's bytes to the object store once,
submit every job asking for its phone's resource (Ray runs it on the node holding the phone, one job per
phone at a time), and record each job as it ends. A job whose node dies fails with the cause; a waiting job
whose phone no live node holds any more fails after :data:`LOST_GRACE_S`; every other job goes on. Running
the same command again runs exactly the jobs not done.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from ..records.lab import SweepJobRecord
from .cluster import busy_phones, phone_nodes, ray_session
from .jobs import JobSpec, failed, run_job
from .plan import SweepJob, SweepRequest, describe_files, plan_jobs
from .progress import SweepProgress
from .store import ResultsStore

LOST_GRACE_S = 3.0  # a phone unheld this long (its node gone) fails its waiting jobs
POLL_S = 0.5


@dataclass(frozen=True)
class SweepSummary:
    jobs: int  # in the matrix
    earlier: int  # already done before this run (not run again)
    done: int  # done by this run
    failures: tuple[SweepJobRecord, ...]  # failed in this run
    records: tuple[SweepJobRecord, ...]  # every done job of the matrix, earlier ones included


def _spec(job: SweepJob, request: SweepRequest) -> JobSpec:
    timing = replace(request.timing, threads=job.threads)
    return JobSpec(key=job.key, host=job.host.name, alias=job.phone.alias, adb=job.host.adb,
                   names=tuple(str(f.path) for f in job.files), timing=timing, phone=request.phone,
                   binary_name=request.binary.name if request.binary else None)  # fmt: skip


def _node_job(spec: JobSpec, binary: bytes | None, *blobs: bytes) -> SweepJobRecord:
    import ray

    return run_job(spec, ray.get_runtime_context().get_node_id(), binary, blobs)


def run_sweep(request: SweepRequest, progress: SweepProgress) -> SweepSummary:
    files = describe_files(request.files)
    jobs = plan_jobs(request, files)
    store = ResultsStore(request.results)
    earlier = {j.key: r for j in jobs if (r := store.read(j.key)) is not None and r.status == "done"}
    todo = [j for j in jobs if j.key not in earlier]
    for job in jobs:
        progress.add(job.phone.serial, job.host.name, job.phone.label, earlier=job.key in earlier)
    progress.start(f"sweep: {len(jobs)} jobs, {len(earlier)} done earlier")
    ended: list[SweepJobRecord] = []
    try:
        if todo:
            with ray_session(request.fleet, request.ray_address) as ray:
                ended = _submit_and_watch(ray, request, todo, files, store, progress)
    finally:
        progress.stop()
    # the store, not this run's list, for the jobs run now: a second sweep sharing the folder may have done one
    done = tuple(r for j in jobs if (r := earlier.get(j.key) or store.read(j.key)) is not None and r.status == "done")
    return SweepSummary(len(jobs), len(earlier), sum(r.status == "done" for r in ended),
                        tuple(r for r in ended if r.status != "done"), done)  # fmt: skip


def _submit_and_watch(ray: Any, request: SweepRequest, todo: list[SweepJob], files, store: ResultsStore,
                      progress: SweepProgress) -> list[SweepJobRecord]:  # fmt: skip
    ended: list[SweepJobRecord] = []

    def end(job: SweepJob, record: SweepJobRecord) -> None:
        store.write(record)
        ended.append(record)
        progress.ended(job.phone.serial, record)

    blobs = {f.path: ray.put(f.path.read_bytes()) for f in files}
    binary = ray.put(request.binary.read_bytes()) if request.binary else None
    task = ray.remote(num_cpus=0, max_retries=0)(_node_job)
    held = phone_nodes(ray)
    running: dict[Any, tuple[SweepJob, JobSpec]] = {}
    for job in todo:
        spec = _spec(job, request)
        if job.phone.resource not in held:
            join = f"mobiledepth fleet join {request.fleet.path} --host {job.host.name}"
            end(job, failed(spec, f"no live Ray node holds phone {job.phone.label} (on {job.host.name}: `{join}`)"))
            continue
        ref = task.options(resources={job.phone.resource: 1}).remote(spec, binary, *(blobs[f.path] for f in job.files))
        running[ref] = (job, spec)
    try:
        _watch(ray, running, end, progress)
    finally:
        for ref in running:  # interrupted: nothing left running on a phone behind the user's back
            ray.cancel(ref, force=True)
    return ended


def _watch(ray: Any, running: dict, end, progress: SweepProgress) -> None:
    unheld_since: dict[Any, float] = {}
    while running:
        ready, _ = ray.wait(list(running), num_returns=len(running), timeout=POLL_S)
        for ref in ready:
            job, spec = running.pop(ref)
            try:
                record = ray.get(ref)
            except Exception as exc:  # the node died, the worker crashed: Ray's errors, one line each
                record = failed(spec, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            end(job, record)
        held, now = phone_nodes(ray), time.monotonic()
        for ref, (job, spec) in list(running.items()):
            if job.phone.resource in held:
                unheld_since.pop(ref, None)
            elif now - unheld_since.setdefault(ref, now) > LOST_GRACE_S:
                ray.cancel(ref, force=True)
                running.pop(ref)
                end(job, failed(spec, f"the Ray node holding phone {job.phone.label} left the cluster"))
        progress.running(busy_phones(ray))
