"""One bench interface for every target: ``open_bench("host" | PHONE, settings)`` gives a :class:`Bench`.

The CLI, NetAdapt's measurer and the paired mode all call the same two methods, so "host or phone"
is decided once, here. What a user asks for is a :class:`BenchSettings` whose unset fields (``None``)
take the target's own defaults: :class:`~mobiledepth.bench.host.HostBenchOptions` and
:class:`~mobiledepth.bench.paired.PairedOptions` on the host,
:class:`android_bench.runner.PhoneBenchOptions` on phones. Those dataclasses are the only place a
default lives. The phone-status policy (a delegate that was not applied fails the command, partial
delegation warns) is also here, so every caller reports it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable, Protocol

from android_bench.adb import SERVER_HOST, SERVER_PORT

from ..errors import MobileDepthError
from ..records import BenchRecord
from .host import HostBenchOptions, bench_host, bench_host_paired
from .options import PHONE_PAIRED_ROUNDS, PairedOptions

MAX_RUNS_PER_ROUND = 10  # paired rounds stay short so that rounds, not runs, carry the comparison


@dataclass
class BenchSettings:
    """A benchmark request. ``None`` = the target's default; ``phone`` holds PhoneBenchOptions fields by name
    (gpu_precision_loss, nnapi_accelerator, affinity, repeats, cooldown_s, max_temp_c, ...)."""

    delegate: str = "cpu"
    threads: int | None = None
    warmup_runs: int | None = None
    warmup_seconds: float | None = None
    runs: int | None = None
    min_seconds: float | None = None
    size: tuple[int, int] | None = None  # checkpoints and dynamic files; fixed-size files keep theirs
    rounds: int | None = None  # paired runs
    phone: dict[str, Any] = field(default_factory=dict)

    def given(self, *names: str) -> dict[str, Any]:
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def validate(self) -> None:
        """One line naming the first flag out of range."""
        for flag, value, least in (("--runs", self.runs, 1), ("--warmup", self.warmup_runs, 0),
                                   ("--threads", self.threads, 1), ("--rounds", self.rounds, 2)):  # fmt: skip
            if value is not None and value < least:
                raise MobileDepthError(f"{flag} {value}: must be at least {least}")


@dataclass
class AdbEndpoint:
    """Where phones are reached: the adb server, the benchmark_model to push, extra device aliases."""

    host: str = SERVER_HOST
    port: int = SERVER_PORT
    binary: Path | None = None
    devices_file: Path | None = None


@dataclass
class BenchOutcome:
    """Records (saved whatever happens), ``problems`` that fail the command, ``warnings`` that do not."""

    records: list[BenchRecord]
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    saved: Path | None = None  # where the records were already written (phones: after every finished run)

    def raise_problems(self) -> None:
        if self.problems:
            raise MobileDepthError(f"{len(self.problems)} problem(s): " + " | ".join(self.problems))


Progress = Callable[[str], None]


class Bench(Protocol):
    """A benchmark target. ``run`` times each file alone; ``paired`` interleaves them (the only valid
    comparison: records carry each file's ratio to the first with a 95% interval)."""

    device: str

    def run(self, files: list[Path], progress: Progress = ...) -> BenchOutcome: ...

    def paired(self, files: list[Path], progress: Progress = ...) -> BenchOutcome: ...


def _need_two(files: list[Path]) -> None:
    if len(files) < 2:
        raise MobileDepthError("--paired needs two or more model files (the first is the baseline of the ratios)")


@dataclass
class HostBench:
    """This computer: LiteRT (XNNPACK), ONNX Runtime or PyTorch, each file in its own worker process;
    paired files share one worker."""

    settings: BenchSettings = field(default_factory=BenchSettings)
    device: str = "host"

    def __post_init__(self) -> None:
        if self.settings.delegate != "cpu":
            raise MobileDepthError(
                f"--delegate {self.settings.delegate}: the host runs the CPU (XNNPACK) path only; GPU and NNAPI "
                "need a phone (--device)"
            )

    def options(self) -> HostBenchOptions:
        s = self.settings
        size = dict(zip(("height", "width"), s.size)) if s.size else {}
        return HostBenchOptions(**s.given("threads", "warmup_runs", "warmup_seconds", "runs", "min_seconds"), **size)

    def paired_options(self) -> PairedOptions:
        s = self.settings
        options = PairedOptions(**s.given("rounds", "threads", "warmup_runs"))
        if s.runs is not None:
            options.runs_per_round = max(1, min(s.runs, MAX_RUNS_PER_ROUND))
        return options

    def run(self, files: list[Path], progress: Progress = lambda m: None) -> BenchOutcome:
        options = self.options()
        records = []
        for path in files:
            progress(f"bench {Path(path).name}")
            records.append(bench_host(path, options))
        return BenchOutcome(records)

    def paired(self, files: list[Path], progress: Progress = lambda m: None) -> BenchOutcome:
        _need_two(files)
        options = self.paired_options()
        progress(f"paired timing of {len(files)} files, {options.rounds} rounds")
        return BenchOutcome(bench_host_paired(files, options, self.settings.size))


@dataclass
class PhoneBench:
    """Phones over adb (android_bench's benchmark_model runs); ``device`` is a serial, alias, list or 'all'.
    ``json_path``: single runs are saved after every finished run, so a later failure loses nothing."""

    device: str
    settings: BenchSettings = field(default_factory=BenchSettings)
    adb: AdbEndpoint = field(default_factory=AdbEndpoint)
    json_path: Path | None = None

    def options(self):
        from android_bench.runner import PhoneBenchOptions

        s = self.settings
        known = {f.name for f in fields(PhoneBenchOptions)}
        unknown = sorted(set(s.phone) - known)
        if unknown:
            raise MobileDepthError(f"phone settings: unknown option(s) {', '.join(unknown)}")
        given = s.given("threads", "warmup_runs", "warmup_seconds", "runs", "min_seconds")
        return PhoneBenchOptions(delegate=s.delegate, **given, **s.phone)

    def run(self, files: list[Path], progress: Progress = lambda m: None) -> BenchOutcome:
        from .phone import bench_phones

        a = self.adb
        result = bench_phones(files, self.device, self.options(), a.host, a.port, a.binary, a.devices_file,
                              self.json_path, progress=progress)  # fmt: skip
        outcome = delegation_outcome(result.records)
        outcome.problems[:0] = [f.message for f in result.failures]
        outcome.saved = self.json_path if result.records else None
        return outcome

    def paired(self, files: list[Path], progress: Progress = lambda m: None) -> BenchOutcome:
        from .phone import bench_phones_paired

        _need_two(files)
        a, rounds = self.adb, self.settings.rounds or PHONE_PAIRED_ROUNDS
        records = bench_phones_paired(files, self.device, self.options(), rounds, a.host, a.port, a.binary,
                                      a.devices_file, progress=progress)  # fmt: skip
        return delegation_outcome(records, paired=True)


def delegation_outcome(records: list[BenchRecord], paired: bool = False) -> BenchOutcome:
    """The phone-status policy: a delegate that was not applied is a problem (its CPU timings are saved,
    labelled), a partly applied one a warning (timings include CPU fallback)."""
    outcome = BenchOutcome(records)
    skipped = [r for r in records if r.status == "delegate-not-applied"]
    if paired and skipped:
        names = ", ".join(sorted({r.file_name for r in skipped}))
        outcome.problems.append(f"{skipped[0].delegate.upper()} delegate NOT applied to {names}: CPU timings (saved)")
        return outcome
    for r in records:
        d = r.details.get("delegation") or {}
        if r.status == "delegate-not-applied":
            outcome.problems.append(
                f"{r.device['name']}: {r.delegate.upper()} delegate NOT applied to {r.file_name} ({d.get('reason')}); "
                f"the {r.central_ms:.2f} ms measured are CPU timings, saved with status delegate-not-applied"
            )
        elif r.status == "delegate-partial":
            outcome.warnings.append(
                f"{r.device['name']}: {r.delegate.upper()} delegate took {d.get('delegated_nodes')} of "
                f"{d.get('total_nodes')} nodes of {r.file_name}; timings include CPU fallback"
            )
    return outcome


def open_bench(
    device: str, settings: BenchSettings | None = None, adb: AdbEndpoint | None = None, json_path: Path | None = None
) -> Bench:
    """The target named by ``device``: 'host', or phones (serial, alias, comma list, 'all')."""
    settings = replace(settings) if settings is not None else BenchSettings()
    settings.validate()
    if device == "host":
        return HostBench(settings)
    return PhoneBench(device, settings, adb or AdbEndpoint(), json_path)
