"""Latency for NetAdapt: MEASURED on the chosen device, with a calibrated predictor to rank candidates.

Measuring every candidate (tens per iteration) through convert + benchmark is too slow, and a full
per-layer table is ~29k configurations over adb. Instead a small linear model is fitted to real
measurements of whole converted models:

    latency_ms ~ a * dense-conv GMACs + b * depthwise GMACs + c * activation MB + d

(depthwise convolutions and memory traffic run at very different efficiency from dense convs on
phones, which is why MACs alone mis-rank candidates). It is calibrated on uniformly width-scaled
copies of the starting model, refitted after every verification, and cached on disk per device,
delegate, precision and resolution. Every accepted NetAdapt step is verified by converting the
whole candidate and benchmarking it through the same path as ``mobiledepth bench``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from android_bench.adb import SERVER_HOST, SERVER_PORT, AdbEndpoint
from android_bench.timing import Timing

from ..fileio import write_json
from ..inputs import DEFAULT_INPUT
from ..model.config import ModelConfig
from ..model.network import MobileDepth
from ..records.pruning import MeasurerKey
from .options import MEASURE_THREADS

if TYPE_CHECKING:
    from ..benchmark.request import BenchRequest


def cost_features(config: ModelConfig, height: int, width: int) -> list[float]:
    """[dense GMACs, depthwise GMACs, activation MB (fp32, conv outputs), 1] of one forward."""
    return list(_cost_features(config, height, width))


@functools.lru_cache(maxsize=8192)
def _cost_features(config: ModelConfig, height: int, width: int) -> tuple[float, ...]:
    # Cached: the width search asks for the same configs many times; ModelConfig is frozen and hashable.
    # A real CPU forward, not meta tensors: meta ops run torch's Python reference code, 1.4-7x slower than
    # our few-MB models computing (same costs; the search asks for ~100 configs per iteration). The weights'
    # initialisation draws from torch's generator: fork_rng leaves the caller's random stream untouched.
    with torch.random.fork_rng(devices=[]):
        model = MobileDepth(config).strip_heads().eval()
        return tuple(conv_costs(model, torch.zeros(1, 3, height, width)))


def conv_costs(model: nn.Module, example: torch.Tensor) -> list[float]:
    """[dense GMACs, depthwise GMACs, activation MB (fp32, conv outputs), 1] of one forward: the latency
    predictor's features (see the module note), for any module."""
    dense = depthwise = act = 0

    def hook(m: nn.Conv2d, _inp, out) -> None:
        nonlocal dense, depthwise, act
        kh, kw = m.kernel_size
        macs = out.numel() * (m.in_channels // m.groups) * kh * kw
        if m.groups > 1 and m.groups == m.in_channels:
            depthwise += macs
        else:
            dense += macs
        act += out.numel()

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            model(example)
    finally:
        for h in handles:
            h.remove()
    return [dense / 1e9, depthwise / 1e9, act * 4 / 2**20, 1.0]


@dataclass(frozen=True)
class LatencySample:
    label: str
    features: list[float]
    measured_ms: float


@dataclass
class LatencyModel:
    key: MeasurerKey
    samples: list[LatencySample] = field(default_factory=list)
    coef: list[float] | None = None

    def fit(self) -> None:
        x = np.array([s.features for s in self.samples], dtype=np.float64)
        y = np.array([s.measured_ms for s in self.samples], dtype=np.float64)
        if len(self.samples) == 1 or np.ptp(x[:, :3], axis=0).max() == 0:
            # one measurement, or several of the same costs (a calibration copy too small to shrink): latency
            # proportional to MACs
            self.coef = [float(np.mean(y)) / max(float(x[0, 0] + x[0, 1]), 1e-12)] * 2 + [0.0, 0.0]
            return
        # Costs can only add time: the three cost coefficients are kept >= 0 (active-set NNLS), the
        # intercept is free. A ridge towards zero keeps the fit sane with few samples; a noisy
        # measurement then bends the fit instead of flipping a coefficient's sign.
        lam = 1e-3 * max(1.0, float(np.mean(y)))
        active = [0, 1, 2, 3]
        while True:
            xa = x[:, active]
            reg = np.diag([lam if j < 3 else 0.0 for j in active])
            sol = np.linalg.solve(xa.T @ xa + reg + 1e-12 * np.eye(len(active)), xa.T @ y)
            negative = [j for j, v in zip(active, sol) if j < 3 and v < 0]
            if not negative:
                break
            active.remove(min(negative, key=lambda j: sol[active.index(j)]))
        coef = [0.0, 0.0, 0.0, 0.0]
        for j, v in zip(active, sol):
            coef[j] = float(v)
        if coef[0] == coef[1] == coef[2] == 0.0:  # degenerate data: fall back to proportional-to-MACs
            rate = float(np.mean(y)) / max(float(np.mean(x[:, 0] + x[:, 1])), 1e-12)
            coef = [rate, rate, 0.0, 0.0]
        self.coef = coef

    def predict(self, features: list[float]) -> float:
        if self.coef is None:
            raise RuntimeError("latency model is not calibrated")
        return float(np.dot(self.coef, features))

    def add(self, label: str, features: list[float], measured_ms: float) -> None:
        self.samples.append(LatencySample(label, features, measured_ms))
        self.fit()

    def save(self, path: Path) -> None:
        write_json(path, self)

    @classmethod
    def load(cls, path: Path, key: MeasurerKey) -> "LatencyModel | None":
        """The cache at ``path`` when it is for ``key``; None when missing, for another target, or damaged (a
        cache is only ever a shortcut: measuring again is always possible)."""
        from ..codec import RecordError, decode

        if not path.is_file():
            return None
        try:
            model = decode(cls, json.loads(path.read_text()))
        except (OSError, ValueError, RecordError):
            return None
        return model if model.key == key else None


def cache_name(k: MeasurerKey) -> str:
    name = f"latency_{k.device}_{k.delegate}_{k.precision}_{k.size}_t{k.threads}"
    name += "" if k.runtime == "litert" else f"_{k.runtime}"
    return f"{name}.json".replace("/", "_").replace(":", "_")


@dataclass
class OnnxTarget:
    """Any module on this host: exported to ONNX and timed paired with ONNX Runtime (no conversion per
    candidate: a module that is not ours may not convert, and its latency ranking is what NetAdapt needs)."""

    height: int
    width: int
    threads: int = MEASURE_THREADS

    @property
    def key(self) -> MeasurerKey:
        return MeasurerKey("host", "cpu", "fp32", f"{self.height}x{self.width}", str(self.threads), "onnxruntime")

    @property
    def device(self) -> str:
        return "host"

    def cache_name(self) -> str:
        return cache_name(self.key)

    def file_of(self, model, workdir: Path, label: str) -> Path:
        from ..conversion.export_onnx import export_onnx

        workdir.mkdir(parents=True, exist_ok=True)
        return export_onnx(model, workdir / f"{label}.onnx", self.height, self.width)

    def paired(self, files: list[Path], rounds: int = 20) -> list[list[float]]:
        from ..benchmark.request import BenchRequest
        from ..benchmark.run import run_bench

        request = BenchRequest(tuple(files), paired=True, timing=Timing(threads=self.threads, rounds=rounds))
        return [list(r.paired.round_medians_ms) for r in run_bench(request).records if r.paired is not None]


@dataclass
class Measurer:
    """Convert a model and benchmark the file on the target, exactly as `mobiledepth convert` + `bench` do."""

    device: str = "host"
    delegate: str = "cpu"
    precision: str = "fp32"
    height: int = DEFAULT_INPUT.height
    width: int = DEFAULT_INPUT.width
    threads: int = MEASURE_THREADS
    runs: int = 30  # phones: timed runs per benchmark_model process (the host times paired rounds of its own size)
    adb_host: str = SERVER_HOST
    adb_port: int = SERVER_PORT
    benchmark_binary: Path | None = None
    calib: Path | None = None

    @property
    def key(self) -> MeasurerKey:
        return MeasurerKey(self.device, self.delegate, self.precision, f"{self.height}x{self.width}", str(self.threads))

    def cache_name(self) -> str:
        return cache_name(self.key)

    def file_of(self, model: MobileDepth, workdir: Path, label: str) -> Path:
        """Convert ``model`` exactly as `mobiledepth convert` does; returns the file of this precision. The
        short paired host speed check is off: the measurer times the files itself, paired."""
        from ..conversion.options import ConvertOptions
        from ..conversion.pipeline import convert_model
        from ..errors import MobileDepthError
        from ..model.checkpoint import save_checkpoint

        workdir.mkdir(parents=True, exist_ok=True)
        ckpt = save_checkpoint(workdir / f"{label}.pt", model, {"trained": True, "name": label})
        options = ConvertOptions(precisions=(self.precision,), size=(self.height, self.width), calib=self.calib,
                                 parity_data=self.calib, n_calib=16, n_parity=2, speed=False)  # fmt: skip
        report = convert_model(ckpt, workdir / f"{label}_converted", options)
        if report.failed:
            raise MobileDepthError(f"{label}: conversion failed parity: {report.failed[0].problem}")
        return next(Path(f.path) for f in report.files if f.format == "tflite" and f.precision == self.precision)

    def request(self, files: list[Path], rounds: int) -> "BenchRequest":
        """The paired bench request (host or phone) through the one bench interface, as `mobiledepth bench`
        uses it. Phones get short warm-up and timing windows: pruning times many files, each over rounds."""
        from ..benchmark.request import BenchRequest

        phone = self.device != "host"
        timing = Timing(threads=self.threads, rounds=rounds, **({"runs": self.runs, "warmup_seconds": 0.2,
                                                                   "min_seconds": 0.2} if phone else {}))  # fmt: skip
        return BenchRequest(tuple(files), self.device, self.delegate if phone else "cpu", paired=True, timing=timing,
                            adb=AdbEndpoint(self.adb_host, self.adb_port), binary=self.benchmark_binary)  # fmt: skip

    def paired(self, files: list[Path], rounds: int = 20) -> list[list[float]]:
        """Per-round median ms of each of ``files``, timed interleaved (host: one worker process; phones:
        alternating benchmark_model runs). A delegate that was not applied stops the run: pruning against
        CPU timings would be wrong."""
        from ..benchmark.run import run_bench
        from ..errors import MobileDepthError

        outcome = run_bench(self.request(files, rounds))
        if outcome.problems:
            raise MobileDepthError(f"{self.delegate} delegate not applied on {self.device}; pruning against CPU "
                                   "timings would be wrong")  # fmt: skip
        return [list(r.paired.round_medians_ms) for r in outcome.records if r.paired is not None]
