"""An iteration's proposals fine-tuned and scored as Ray tasks (``--workers K``), the way the official NetAdapt
code spreads them over GPUs.

Why only this part: fine-tuning is where an iteration spends its time and the proposals are independent;
latency verification stays serial and exclusive in the driver (one measurement at a time on the target,
or paired timings mean nothing). Each task gets the proposal's own seed, so the models it returns are the
serial run's models (up to the float summation order of a different thread count).

Without ``ray_address`` a private Ray instance is started on this computer with K x threads CPUs and stopped
with the run; with one, the tasks go to that cluster (``mobiledepth fleet join`` or ``ray start``).
"""

from __future__ import annotations

import os
import sys

from torch import nn

from ..lab.cluster import import_ray
from .channels import ChannelSource
from .search import ScoreJob, Scorer, serial_scorer
from .tuning import Tuner


def worker_threads(workers: int, threads: int | None) -> int:
    """Threads per task: the caller's, else this computer's cores shared out (at least one)."""
    return threads if threads is not None else max(1, (os.cpu_count() or 1) // workers)


class RayScorer:
    """A :data:`~.search.Scorer` whose jobs run as Ray tasks of ``threads`` CPUs each."""

    def __init__(self, source: ChannelSource, tuner: Tuner, workers: int, threads: int | None,
                 ray_address: str | None) -> None:  # fmt: skip
        self.ray = import_ray()
        self.threads = worker_threads(workers, threads)
        self.started = not self.ray.is_initialized()
        if self.started:
            # a private instance's workers see the driver's import path: the user's model class may live in a
            # script's folder rather than an installed package
            path = {"env_vars": {"PYTHONPATH": os.pathsep.join(os.path.abspath(p) for p in sys.path if p)}}
            local = {"num_cpus": workers * self.threads, "runtime_env": path} if ray_address is None else {}
            # "local": a private instance even when another Ray runs on this computer (ray.init(None) attaches
            # to the latest one started, and then refuses num_cpus)
            self.ray.init(address=ray_address or "local", include_dashboard=False, log_to_driver=False,
                          configure_logging=False, **local)  # fmt: skip
        self.shared = self.ray.put((source, tuner))  # the data loads once, not once per task
        self.task = self.ray.remote(num_cpus=self.threads, max_retries=0)(_score_task)
        # start every worker now (a Ray worker's first torch import takes seconds): charged to start-up, not to
        # the first iteration
        warm = self.ray.remote(num_cpus=self.threads)(_warm_task)
        self.ray.get([warm.remote() for _ in range(workers)])

    def __call__(self, model: nn.Module, jobs: list[ScoreJob]) -> list[tuple[float, nn.Module]]:
        model_ref = self.ray.put(model)
        refs = [self.task.remote(self.shared, model_ref, job, self.threads) for job in jobs]
        return self.ray.get(refs)

    def close(self) -> None:
        if self.started and self.ray.is_initialized():
            self.ray.shutdown()


def _warm_task() -> None:
    from . import search  # noqa: F401  (imports torch and the engine)


def _score_task(shared: tuple[ChannelSource, Tuner], model: nn.Module, job: ScoreJob,
                threads: int) -> tuple[float, nn.Module]:  # fmt: skip
    source, tuner = shared
    return serial_scorer(source, tuner, threads)(model, [job])[0]  # the serial run's thread rule, in the task


def ray_scorer(source: ChannelSource, tuner: Tuner, workers: int, threads: int | None,
               ray_address: str | None) -> Scorer:  # fmt: skip
    return RayScorer(source, tuner, workers, threads, ray_address)
