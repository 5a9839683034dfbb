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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from android_bench.adb import SERVER_HOST, SERVER_PORT, AdbEndpoint
from android_bench.timing import Timing

from ..fileio import write_json
from ..model.config import ModelConfig
from ..model.network import MobileDepth
from .options import MEASURE_THREADS

if TYPE_CHECKING:
    from ..benchmark.request import BenchRequest


def cost_features(config: ModelConfig, height: int, width: int) -> list[float]:
    """[dense GMACs, depthwise GMACs, activation MB (fp32, conv outputs), 1] of one forward."""
    return list(_cost_features(config, height, width))


@functools.lru_cache(maxsize=8192)
def _cost_features(config: ModelConfig, height: int, width: int) -> tuple[float, ...]:
    # Cached: the width search asks for the same configs many times; ModelConfig is frozen and hashable.
    with torch.device("meta"):
        model = MobileDepth(config).strip_heads().eval()
    dense = depthwise = act = 0

    def hook(m: nn.Module, _inp, out) -> None:
        nonlocal dense, depthwise, act
        kh, kw = m.kernel_size
        macs = out.numel() * (m.in_channels // m.groups) * kh * kw
        if m.groups > 1 and m.groups == m.in_channels:
            depthwise += macs
        else:
            dense += macs
        act += out.numel()

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model(torch.zeros(1, 3, height, width, device="meta"))
    for h in handles:
        h.remove()
    return (dense / 1e9, depthwise / 1e9, act * 4 / 2**20, 1.0)


@dataclass
class LatencySample:
    label: str
    features: list[float]
    measured_ms: float


@dataclass
class LatencyModel:
    key: dict[str, str]
    samples: list[LatencySample] = field(default_factory=list)
    coef: list[float] | None = None

    def fit(self) -> None:
        if len(self.samples) == 1:  # one measurement: latency proportional to MACs
            f, ms = self.samples[0].features, self.samples[0].measured_ms
            rate = ms / max(f[0] + f[1], 1e-12)
            self.coef = [rate, rate, 0.0, 0.0]
            return
        x = np.array([s.features for s in self.samples], dtype=np.float64)
        y = np.array([s.measured_ms for s in self.samples], dtype=np.float64)
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
        write_json(path, {"key": self.key, "coef": self.coef, "samples": [asdict(s) for s in self.samples]})

    @classmethod
    def load(cls, path: Path, key: dict[str, str]) -> "LatencyModel | None":
        if not path.is_file():
            return None
        data = json.loads(path.read_text())
        if data.get("key") != key:
            return None
        model = cls(key, [LatencySample(**s) for s in data["samples"]], data.get("coef"))
        return model


@dataclass
class Measurer:
    """Convert a model and benchmark the file on the target, exactly as `mobiledepth convert` + `bench` do."""

    device: str = "host"
    delegate: str = "cpu"
    precision: str = "fp32"
    height: int = 256
    width: int = 256
    threads: int = MEASURE_THREADS
    runs: int = 30  # phones: timed runs per benchmark_model process (the host times paired rounds of its own size)
    adb_host: str = SERVER_HOST
    adb_port: int = SERVER_PORT
    benchmark_binary: Path | None = None
    calib: Path | None = None

    @property
    def key(self) -> dict[str, str]:
        return {
            "device": self.device,
            "delegate": self.delegate,
            "precision": self.precision,
            "size": f"{self.height}x{self.width}",
            "threads": str(self.threads),
        }

    def cache_name(self) -> str:
        k = self.key
        return f"latency_{k['device']}_{k['delegate']}_{k['precision']}_{k['size']}_t{k['threads']}.json".replace(
            "/", "_"
        ).replace(":", "_")

    def convert(self, model: MobileDepth, workdir: Path, label: str) -> Path:
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
        from ..benchmark.request import run_bench
        from ..errors import MobileDepthError

        outcome = run_bench(self.request(files, rounds))
        if outcome.problems:
            raise MobileDepthError(f"{self.delegate} delegate not applied on {self.device}; pruning against CPU "
                                   "timings would be wrong")  # fmt: skip
        return [list(r.paired.round_medians_ms) for r in outcome.records if r.paired is not None]
