"""Which phones are connected, what they are, and which ones ``--device`` means.

``--device`` takes ``host`` (handled by the caller), a serial, an alias from the registry (``S21``),
a comma list of those, or ``all``. Aliases match connected devices by ``ro.product.model``.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from . import shell
from .errors import BenchError


@dataclass
class DeviceInfo:
    serial: str
    state: str
    model: str = ""
    manufacturer: str = ""
    soc: str = ""
    android: str = ""
    sdk: str = ""
    abi: str = ""
    battery_c: float | None = None
    alias: str = ""
    problem: str = ""  # connected, but its properties could not be read (the reason)
    emulated: bool = False  # ro.kernel.qemu=1, as Android's emulator and the test doubles say of themselves


def load_registry(extra: str | os.PathLike | None = None) -> dict[str, dict[str, Any]]:
    """Shipped aliases, extended (and overridden) by a user file."""
    registry = json.loads(resources.files("android_bench").joinpath("data/devices.json").read_text())
    registry.pop("_comment", None)
    extra = extra or os.environ.get("ANDROID_BENCH_DEVICES")
    if extra:
        try:
            user = json.loads(Path(extra).read_text())
        except (OSError, ValueError) as exc:
            raise BenchError(f"{extra}: cannot read device registry ({exc.__class__.__name__})") from None
        for alias, entry in user.items():
            if alias.startswith("_"):
                continue
            if not isinstance(entry, dict) or not isinstance(entry.get("models"), list):
                raise BenchError(f"{extra}: entry {alias!r} needs a 'models' list of ro.product.model values")
            registry[alias] = entry
    return registry


def alias_for(model: str, registry: dict[str, dict[str, Any]]) -> str:
    for alias, entry in registry.items():
        if model in entry["models"]:
            return alias
    return ""


def _props(device, names: list[str]) -> dict[str, str]:
    script = "; ".join(f"echo {shlex.quote('@@' + n)}; getprop {shlex.quote(n)}" for n in names)
    out = shell.run(device, script, timeout=20).stdout
    values, current = {}, None
    for line in out.splitlines():
        if line.startswith("@@"):
            current = line[2:]
        elif current is not None:
            values[current] = line.strip()
            current = None
    return values


def describe(device, state: str = "device", registry: dict | None = None) -> DeviceInfo:
    """Read model, SoC, Android version, ABI and battery temperature of a connected device."""
    info = DeviceInfo(serial=device.serial, state=state)
    if state != "device":
        return info
    p = _props(
        device,
        [
            "ro.product.model",
            "ro.product.manufacturer",
            "ro.soc.model",
            "ro.board.platform",
            "ro.build.version.release",
            "ro.build.version.sdk",
            "ro.product.cpu.abi",
            "ro.kernel.qemu",
        ],
    )
    info.model = p.get("ro.product.model", "")
    info.manufacturer = p.get("ro.product.manufacturer", "")
    info.soc = p.get("ro.soc.model") or p.get("ro.board.platform", "")
    info.android = p.get("ro.build.version.release", "")
    info.sdk = p.get("ro.build.version.sdk", "")
    info.abi = p.get("ro.product.cpu.abi", "")
    info.emulated = p.get("ro.kernel.qemu", "") == "1"
    from .thermal import battery_celsius

    info.battery_c = battery_celsius(device)
    info.alias = alias_for(info.model, registry or load_registry())
    return info


def connected(client, registry: dict | None = None, only: str | None = None) -> list[DeviceInfo]:
    """Every device the adb server knows, with its state; details for the usable ones. ``only``: a serial the
    server lists is the only one described (a lab job names its phone exactly; describing every phone on
    the host for each job cost a dozen shell round trips per phone)."""
    registry = registry or load_registry()
    entries = client.list()
    if only is not None and any(e.serial == only for e in entries):
        entries = [e for e in entries if e.serial == only]
    out = []
    for entry in entries:
        if entry.state != "device":
            out.append(DeviceInfo(entry.serial, entry.state))
            continue
        try:
            out.append(describe(client.device(serial=entry.serial), entry.state, registry))
        except BenchError as exc:  # its own error: the property read failed, not the match
            out.append(DeviceInfo(entry.serial, "unreadable", problem=str(exc)))
    return out


def _listing(devices: list[DeviceInfo]) -> str:
    if not devices:
        return "no devices connected"
    unreadable = [f"{d.serial}: properties unreadable ({d.problem})" for d in devices if d.state == "unreadable"]
    return (
        "connected: "
        + ", ".join(
            f"{d.serial} ({d.model or d.state})" if d.state == "device" else f"{d.serial} ({d.state})" for d in devices
        )
        + ("; " + "; ".join(unreadable) if unreadable else "")
    )


def resolve(spec: str, devices: list[DeviceInfo], registry: dict[str, dict[str, Any]]) -> list[DeviceInfo]:
    """Turn ``--device`` into connected, usable devices, or fail with one line listing what is there."""
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    usable = [d for d in devices if d.state == "device"]
    if wanted == ["all"]:
        if not usable:
            raise BenchError(f"--device all: no usable device; {_listing(devices)}")
        return usable
    chosen: list[DeviceInfo] = []
    for item in wanted:
        by_serial = [d for d in devices if d.serial == item]
        if by_serial:
            d = by_serial[0]
            if d.state != "device":
                raise BenchError(
                    f"--device {item}: device is {d.state}"
                    + (" (accept the USB debugging prompt on the phone)" if d.state == "unauthorized" else "")
                    + f"; {_listing(devices)}"
                )
            chosen.append(d)
            continue
        if item not in registry:
            raise BenchError(
                f"--device {item}: neither a connected serial nor a known alias ({', '.join(sorted(registry))}); "
                f"{_listing(devices)}"
            )
        models = registry[item]["models"]
        matches = [d for d in usable if d.model in models]
        if not matches:
            blocked = [d for d in devices if d.state != "device"]
            hint = f" ({len(blocked)} device(s) offline or unauthorized)" if blocked else ""
            raise BenchError(
                f"--device {item}: no connected {registry[item].get('name', item)} (models {', '.join(models)}){hint}; "
                f"{_listing(devices)}"
            )
        if len(matches) > 1:
            raise BenchError(
                f"--device {item}: {len(matches)} matching devices; pick one by serial; {_listing(devices)}"
            )
        chosen.append(matches[0])
    return chosen
