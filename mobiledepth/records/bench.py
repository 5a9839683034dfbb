"""``bench`` records: one model file's latency on one device (this computer or a phone), single or paired.

Every producer builds one: the host worker, a paired host run, phone runs, saved phone logs and
NetAdapt's verifications. What only the host has (the runtime, peak memory of its own process) and
what only phones have (delegation, repeats, thermals, the pushed binary, op profiles) sit in their
own typed blocks, so a reader never guesses which keys exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from android_bench.runner import PhoneDetails
from android_bench.stats import LatencyStats
from android_bench.timing import Timing

from .parts import Device, Memory, ModelInfo, Paired, Record

# what a status says: the phone-status policy (benchmark/phone.py) judges delegation into one of these
STATUSES = ("ok", "delegate-partial", "delegate-not-applied")


@dataclass(frozen=True)
class HostDetails:
    runtime: str  # litert | tflite_runtime | tensorflow | onnxruntime | pytorch
    input_hw: tuple[int, int]
    warmup_runs_done: int | None = None  # warm-up runs done (at least the asked number, more under --warmup-seconds)


@dataclass(frozen=True, kw_only=True)
class BenchRecord(Record):
    record: str = "bench"
    model: ModelInfo
    device: Device
    delegate: str  # host: xnnpack | onnxruntime-cpu | pytorch-cpu; phones: cpu | gpu | nnapi
    latency_ms: LatencyStats
    timing: Timing  # what the run used (every field resolved)
    status: str = "ok"  # one of STATUSES
    paired: Paired | None = None
    memory: Memory = field(default_factory=Memory)
    init_ms: float | None = None
    first_inference_ms: float | None = None
    host: HostDetails | None = None
    phone: PhoneDetails | None = None
    source: str = ""  # what produced it when not a run of its own: 'netadapt verification (iter_003)', a log
    DERIVED = ("fps",)

    def derived_fields(self) -> dict[str, float]:
        return {"fps": self.fps}

    @property
    def threads(self) -> int | None:
        return self.timing.threads

    @property
    def central_ms(self) -> float:
        """The median, or the mean where the tool printed no median (``latency_ms.central`` says which)."""
        return self.latency_ms.central_ms

    @property
    def fps(self) -> float:
        return 1000.0 / self.central_ms

    @property
    def file_name(self) -> str:
        return self.model.file_name
