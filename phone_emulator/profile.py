"""What an emulated phone looks like: properties, delegate support, thermals, and injected faults."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Faults:
    """Switches tests flip to make the phone misbehave the way real phones do."""

    crash_benchmark: bool = False  # benchmark_model dies with SIGSEGV (exit 139) after loading the model
    hang_benchmark_s: float = 0.0  # benchmark_model stalls this long before its timed loop
    disconnect_during_benchmark: bool = False  # the USB/TCP link drops while benchmark_model runs
    offline: bool = False  # refuse new connections (device shows up offline / not at all)
    storage_full: bool = False  # /data/local/tmp has no space left: pushes fail with adbd's reason


@dataclass
class PhoneProfile:
    name: str
    props: dict[str, str]
    gpu: str = "unsupported"  # 'unsupported' (the real tool's path on a device without OpenCL/GL), 'full' or 'partial'
    nnapi: str = "unsupported"  # same choices
    gpu_partial_fraction: float = 0.8  # share of nodes the delegate takes when 'partial'
    ambient_c: float = 30.0
    start_c: float = 32.0
    heat_c_per_s: float = 1.5  # temperature rise per second of benchmark load
    cool_tau_s: float = 20.0  # exponential cool-down time constant towards ambient
    shell_v2: bool = True  # False: an older adbd (before Android 7) offering only the raw shell, no exit status
    # > 0: an emulated chip whose every inference takes this long (a sleep, not this computer's cores), so many
    # emulated phones on one computer run side by side as real phones do (device-lab scaling tests)
    fixed_latency_ms: float = 0.0
    faults: Faults = field(default_factory=Faults)


def galaxy_s21(**overrides) -> PhoneProfile:
    """An S21 (Exynos 2100 variant) as `getprop` reports it."""
    props = {
        "ro.product.model": "SM-G991B",
        "ro.product.name": "o1sxeea",
        "ro.product.device": "o1s",
        "ro.product.manufacturer": "samsung",
        "ro.product.brand": "samsung",
        "ro.product.cpu.abi": "arm64-v8a",
        "ro.product.cpu.abilist": "arm64-v8a,armeabi-v7a,armeabi",
        "ro.board.platform": "exynos2100",
        "ro.soc.manufacturer": "Samsung",
        "ro.soc.model": "Exynos 2100",
        "ro.build.version.release": "14",
        "ro.build.version.sdk": "34",
        "ro.serialno": "R5CR10EMU21",
        "ro.adb.secure": "0",
        "ro.hardware": "exynos2100",
        "ro.kernel.qemu": "1",  # what Android's own emulator says of itself: records mark the phone emulated
    }
    return PhoneProfile(name="S21", props=props, **overrides)


def galaxy_s10_plus(**overrides) -> PhoneProfile:
    props = dict(galaxy_s21().props)
    props.update(
        {
            "ro.product.model": "SM-G975F",
            "ro.product.name": "beyond2ltexx",
            "ro.product.device": "beyond2",
            "ro.board.platform": "exynos9820",
            "ro.soc.model": "Exynos 9820",
            "ro.build.version.release": "12",
            "ro.build.version.sdk": "31",
            "ro.serialno": "R58M10EMU10",
            "ro.hardware": "exynos9820",
        }
    )
    return PhoneProfile(name="S10+", props=props, **overrides)


PROFILES = {"S21": galaxy_s21, "S10+": galaxy_s10_plus}


class ThermalModel:
    """Device temperature: rises while under benchmark load, decays exponentially towards ambient."""

    def __init__(self, profile: PhoneProfile) -> None:
        self.profile = profile
        self._temp = profile.start_c
        self._stamp = time.monotonic()
        self._busy = 0
        self.peak_busy = 0  # the most benchmark runs ever in progress at once (two jobs on one phone: 2)
        self._lock = threading.Lock()

    def _advance(self) -> None:
        now = time.monotonic()
        dt = now - self._stamp
        self._stamp = now
        p = self.profile
        if self._busy:
            self._temp += p.heat_c_per_s * dt
        else:
            self._temp = p.ambient_c + (self._temp - p.ambient_c) * math.exp(-dt / p.cool_tau_s)

    def celsius(self) -> float:
        with self._lock:
            self._advance()
            return self._temp

    def text(self, scale: float, offset: float = 0.0) -> str:
        """The reading as a sysfs file prints it (milli- or deci-degrees); a broken sensor (set to NaN) prints
        'nan', as some do."""
        value = (self.celsius() + offset) * scale
        return str(round(value)) if math.isfinite(value) else "nan"

    def set(self, celsius: float) -> None:
        with self._lock:
            self._advance()
            self._temp = celsius

    def busy(self, on: bool) -> None:
        with self._lock:
            self._advance()
            self._busy += 1 if on else -1
            self.peak_busy = max(self.peak_busy, self._busy)
