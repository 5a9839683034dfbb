"""A fleet file: the lab's hosts, each with its adb server and the phones plugged into it.

    [[host]]
    name = "lab-a"
    adb = "127.0.0.1:5037"
    [[host.phone]]
    serial = "R5CR10ABCDE"
    alias = "S21"
    notes = "bench rig 2, fan on"

A phone's Ray resource is ``phone:SERIAL`` (one unit: one job per phone at a time, across every sweep on
the cluster); a host's node also advertises ``mobiledepth-host:NAME``. One file describes the lab for
``fleet join`` (which node holds which phones), ``fleet status`` and sweeps (``bench --fleet``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from android_bench.adb import AdbEndpoint
from android_bench.errors import BenchError

from ..errors import MobileDepthError
from ..tomlfile import check_keys, read_toml

PHONE_RESOURCE = "phone:"
HOST_RESOURCE = "mobiledepth-host:"


@dataclass(frozen=True)
class FleetPhone:
    serial: str  # as `adb devices` lists it (a TCP phone: HOST:PORT)
    alias: str = ""
    notes: str = ""

    @property
    def resource(self) -> str:
        return PHONE_RESOURCE + self.serial

    @property
    def label(self) -> str:
        return self.alias or self.serial


@dataclass(frozen=True)
class FleetHost:
    name: str
    adb: AdbEndpoint
    phones: tuple[FleetPhone, ...]

    @property
    def resources(self) -> dict[str, float]:
        """What this host's Ray node advertises: itself and one unit per phone."""
        return {HOST_RESOURCE + self.name: 1.0, **{p.resource: 1.0 for p in self.phones}}


@dataclass(frozen=True)
class Fleet:
    path: str
    hosts: tuple[FleetHost, ...]

    def host(self, name: str) -> FleetHost:
        for h in self.hosts:
            if h.name == name:
                return h
        raise MobileDepthError(f"{self.path}: no host named {name!r} (hosts: {', '.join(h.name for h in self.hosts)})")

    def phones(self) -> list[tuple[FleetHost, FleetPhone]]:
        return [(h, p) for h in self.hosts for p in h.phones]

    def select(self, spec: str) -> list[tuple[FleetHost, FleetPhone]]:
        """``all``, or a comma list of aliases and serials; a name not in the file fails with the names it holds."""
        every = self.phones()
        if spec.strip() == "all":
            return every
        chosen = []
        for name in (s.strip() for s in spec.split(",") if s.strip()):
            match = [(h, p) for h, p in every if name in (p.alias, p.serial)]
            if not match:
                known = ", ".join(p.label for _, p in every)
                raise MobileDepthError(f"{self.path}: no phone {name!r} in the fleet (phones: {known})")
            chosen += [m for m in match if m not in chosen]
        if not chosen:
            raise MobileDepthError(f"--device {spec!r}: name phones by alias or serial, or 'all'")
        return chosen


_HOST_KEYS = ("name", "adb", "phone")
_PHONE_KEYS = ("serial", "alias", "notes")


def _text(value: object, where: str, required: bool = True) -> str:
    if not isinstance(value, str) or (required and not value.strip()):
        raise MobileDepthError(f"{where}: expected {'a non-empty' if required else 'a'} string, got {value!r}")
    if any(ord(c) < 32 for c in value):
        raise MobileDepthError(f"{where}: control characters are not allowed ({value!r})")
    return value.strip()


def _phone(raw: object, where: str) -> FleetPhone:
    if not isinstance(raw, dict):
        raise MobileDepthError(f"{where}: expected a [[host.phone]] table")
    check_keys(where, raw, _PHONE_KEYS)
    return FleetPhone(_text(raw.get("serial"), f"{where}: serial"), _text(raw.get("alias", ""), f"{where}: alias",
                      False), _text(raw.get("notes", ""), f"{where}: notes", False))  # fmt: skip


def _host(raw: object, where: str) -> FleetHost:
    if not isinstance(raw, dict):
        raise MobileDepthError(f"{where}: expected a [[host]] table")
    check_keys(where, raw, _HOST_KEYS)
    name = _text(raw.get("name"), f"{where}: name")
    try:
        adb = AdbEndpoint.parse(_text(raw.get("adb", str(AdbEndpoint())), f"{where}: adb"))
    except BenchError as exc:
        raise MobileDepthError(f"{where}: {exc}") from None
    phones = raw.get("phone", [])
    if not isinstance(phones, list):
        raise MobileDepthError(f"{where}: 'phone' must be [[host.phone]] tables")
    return FleetHost(name, adb, tuple(_phone(p, f"{where} ({name}) phone {i + 1}") for i, p in enumerate(phones)))


def parse_fleet(data: dict, path: str) -> Fleet:
    check_keys(path, data, ("host",), what="table")
    raw_hosts = data.get("host")
    if not isinstance(raw_hosts, list) or not raw_hosts:
        raise MobileDepthError(f"{path}: no [[host]] table (each host: name, adb, [[host.phone]] tables)")
    fleet = Fleet(path, tuple(_host(h, f"{path}: host {i + 1}") for i, h in enumerate(raw_hosts)))
    phones = [p for _, p in fleet.phones()]
    names = (("host name", [h.name for h in fleet.hosts]), ("phone serial", [p.serial for p in phones]),
             ("phone alias", [p.alias for p in phones if p.alias]))  # fmt: skip
    for kind, values in names:
        twice = sorted({v for v in values if values.count(v) > 1})
        if twice:
            raise MobileDepthError(f"{path}: {kind} {twice[0]!r} appears twice (each must be unique in the fleet)")
    if not fleet.phones():
        raise MobileDepthError(f"{path}: the fleet holds no phone (add [[host.phone]] tables)")
    return fleet


def load_fleet(path: str | Path) -> Fleet:
    return parse_fleet(read_toml(path), str(path))
