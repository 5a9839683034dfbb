"""Thermal guard: read battery and thermal-zone temperatures; wait until the phone has cooled.

A phone that is already hot throttles its CPU and GPU clocks, so back-to-back runs measure the
thermal state, not the model. Zones are read in one shell call with markers, so zones that cannot be
read (common on production phones) are simply absent.
"""

from __future__ import annotations

import math
import shlex
import time
from dataclasses import dataclass, field
from typing import Callable

from . import shell

ZONE_ROOT = "/sys/class/thermal"


@dataclass(frozen=True)
class Temperatures:
    """Celsius; readings that are not finite numbers (a sensor printing 'nan') are left out, never kept."""

    battery_c: float | None
    zones: dict[str, float] = field(default_factory=dict)
    DERIVED = ("max_c",)  # written beside the readings for a reader's convenience, recomputed when read

    @property
    def max_c(self) -> float | None:
        values = [v for v in [self.battery_c, *self.zones.values()] if v is not None]
        return max(values) if values else None

    def derived_fields(self) -> dict:
        return {"max_c": self.max_c}


def _number(text: str) -> float | None:
    """A finite reading, or None: 'nan', 'inf' and text are no temperature (a waiting loop on NaN never ends
    early, and JSON cannot carry it)."""
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def battery_celsius(device) -> float | None:
    out = shell.run(
        device, "cat /sys/class/power_supply/battery/temp 2>/dev/null || dumpsys battery", timeout=20
    ).stdout
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("temperature:"):
            line = line.split(":", 1)[1]
        value = _number(line)
        if value is not None:
            return value / 10.0
    return None


def read_temperatures(device, max_zones: int = 32) -> Temperatures:
    listing = shell.run(device, f"ls {ZONE_ROOT}", timeout=20).stdout.split()
    zones = sorted(z for z in listing if z.startswith("thermal_zone"))[:max_zones]
    script = "; ".join(
        f"echo @@{z}; cat {shlex.quote(f'{ZONE_ROOT}/{z}/type')} {shlex.quote(f'{ZONE_ROOT}/{z}/temp')} 2>/dev/null"
        for z in zones
    )
    result: dict[str, float] = {}
    if script:
        current: list[str] = []
        for line in (shell.run(device, script, timeout=20).stdout + "\n@@end").splitlines():
            if line.startswith("@@"):
                if len(current) == 2 and _number(current[1]) is not None:
                    value = _number(current[1])
                    result[current[0]] = value / 1000.0 if abs(value) > 200 else value  # millidegrees on most kernels
                current = []
            elif line.strip():
                current.append(line.strip())
    return Temperatures(battery_celsius(device), result)


@dataclass
class CoolDown:
    before: Temperatures
    waited_s: float
    timed_out: bool


def wait_until_cool(
    device,
    threshold_c: float,
    timeout_s: float,
    poll_s: float = 2.0,
    progress: Callable[[float, float], None] = lambda temp, waited: None,
) -> CoolDown:
    """Poll until the hottest reading is below ``threshold_c`` or ``timeout_s`` passes."""
    start = time.monotonic()
    while True:
        temps = read_temperatures(device)
        waited = time.monotonic() - start
        hottest = temps.max_c
        if hottest is None or hottest < threshold_c:
            return CoolDown(temps, waited, False)
        if waited >= timeout_s:
            return CoolDown(temps, waited, True)
        progress(hottest, waited)
        time.sleep(poll_s)
