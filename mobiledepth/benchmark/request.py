"""One benchmark request, passed whole from the CLI (or a script) to the runner, validated once.

``mobiledepth bench FILES --device S21 --delegate gpu --threads 4`` becomes one :class:`BenchRequest`:
the files, the target (``"host"`` or phones: a serial, an alias, a list or ``"all"``), the timing
(``None`` fields: the target's defaults, :data:`~android_bench.timing.HOST_TIMING` or
:data:`~android_bench.timing.PHONE_TIMING`), the phone options and the adb endpoint. Building it checks
every value and every combination; :func:`~.run.run_bench` then sends it, unchanged, to the host or the phones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from android_bench.adb import AdbEndpoint
from android_bench.errors import BenchError
from android_bench.runner import DELEGATES, PhoneOptions
from android_bench.timing import (
    HOST_TIMING,
    MAX_RUNS_PER_ROUND,
    PAIRED_RUNS_PER_ROUND,
    PHONE_TIMING,
    Timing,
    host_cores,
)

from ..errors import MobileDepthError
from ..records import BenchRecord


@dataclass(frozen=True)
class BenchRequest:
    files: tuple[Path, ...]
    device: str = "host"  # 'host', or phones: serial, alias, comma list, 'all'
    delegate: str = "cpu"  # phones: cpu | gpu | nnapi; the host runs the CPU path only
    paired: bool = False  # time the files interleaved; each file's ratio to the first
    timing: Timing = field(default_factory=Timing)
    size: tuple[int, int] | None = None  # checkpoints and dynamic files (None: the model's); fixed files keep theirs
    phone: PhoneOptions = field(default_factory=PhoneOptions)
    adb: AdbEndpoint = field(default_factory=AdbEndpoint)
    binary: Path | None = None  # benchmark_model for the phones (default: the fetched one)
    devices_file: Path | None = None  # extra phone aliases
    json_path: Path | None = None  # phones: records saved after every finished run

    def __post_init__(self) -> None:
        object.__setattr__(self, "files", tuple(Path(f) for f in self.files))
        try:
            self._check()
        except BenchError as exc:
            raise MobileDepthError(str(exc)) from None

    def _check(self) -> None:
        if not self.files:
            raise MobileDepthError("bench: give at least one model file")
        if self.paired and len(self.files) < 2:
            raise MobileDepthError("--paired needs two or more model files (the first is the baseline of the ratios)")
        if self.timing.rounds is not None and not self.paired:
            raise MobileDepthError("--rounds counts the rounds of a paired run: give --paired too")
        if self.on_host:
            if self.delegate != "cpu":
                raise MobileDepthError(
                    f"--delegate {self.delegate}: the host runs the CPU (XNNPACK) path only; GPU "
                    "and NNAPI need a phone (--device)"
                )
            if self.phone != PhoneOptions():
                raise MobileDepthError("phone options (--affinity, --repeats, --max-temp, ...) need a phone (--device)")
            self.timing.check(max_threads=host_cores())
            return
        if self.delegate not in DELEGATES:
            raise MobileDepthError(f"--delegate {self.delegate}: choose one of {', '.join(DELEGATES)}")
        self.timing.check()
        self.phone.check()
        for f in self.files:
            if f.suffix.lower() != ".tflite":
                raise MobileDepthError(f"{f}: phones run .tflite files; convert it first (mobiledepth convert)")

    @property
    def on_host(self) -> bool:
        return self.device == "host"

    @property
    def resolved_timing(self) -> Timing:
        """Every timing field set: what the user gave over the target's defaults."""
        return self.timing.over(HOST_TIMING if self.on_host else PHONE_TIMING)

    @property
    def runs_per_round(self) -> int:
        """Host paired rounds stay short (rounds, not runs, carry the comparison): --runs caps them at 10."""
        given = self.timing.runs
        return PAIRED_RUNS_PER_ROUND if given is None else max(1, min(given, MAX_RUNS_PER_ROUND))


@dataclass(frozen=True)
class BenchOutcome:
    """Records (saved whatever happens), ``problems`` that fail a command, ``warnings`` that do not."""

    records: tuple[BenchRecord, ...]
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    saved: Path | None = None  # where the records were already written (phones: after every finished run)

    def raise_problems(self) -> None:
        if self.problems:
            raise MobileDepthError(f"{len(self.problems)} problem(s): " + " | ".join(self.problems))
