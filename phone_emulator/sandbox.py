"""The emulated phone's file system: a host folder standing in for '/', plus live /sys thermal files.

Device paths are normalised and must stay inside the sandbox root (no '..' escapes). Thermal files
are computed on read from the thermal model, like sysfs.
"""

from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path
from typing import Callable

from .profile import ThermalModel

THERMAL_ZONES = (("cpu-0-0", 3.0), ("gpu", 1.0), ("battery", 0.0), ("skin", -1.0))


class SandboxFS:
    def __init__(self, root: Path, thermal: ThermalModel) -> None:
        self.root = root
        self.thermal = thermal
        self.virtual: dict[str, Callable[[], bytes]] = {}
        for i, (kind, offset) in enumerate(THERMAL_ZONES):
            self.virtual[f"/sys/class/thermal/thermal_zone{i}/type"] = lambda kind=kind: f"{kind}\n".encode()
            self.virtual[f"/sys/class/thermal/thermal_zone{i}/temp"] = lambda o=offset: (
                f"{self.thermal.text(1000, o)}\n".encode()
            )
        self.virtual["/sys/class/power_supply/battery/temp"] = lambda: f"{self.thermal.text(10)}\n".encode()
        for d in ("/data/local/tmp", "/sdcard", "/system/bin"):
            self.host(d).mkdir(parents=True, exist_ok=True)

    @staticmethod
    def normalize(path: str, cwd: str = "/") -> str:
        return posixpath.normpath(posixpath.join(cwd, path)) if path else cwd

    def host(self, device_path: str) -> Path:
        norm = posixpath.normpath("/" + device_path.lstrip("/"))
        return self.root / norm.lstrip("/")

    def is_virtual_dir(self, path: str) -> bool:
        prefix = path.rstrip("/") + "/"
        return any(v.startswith(prefix) for v in self.virtual)

    def exists(self, path: str) -> bool:
        return path in self.virtual or self.is_virtual_dir(path) or self.host(path).exists()

    def is_dir(self, path: str) -> bool:
        return self.is_virtual_dir(path) or self.host(path).is_dir()

    def read(self, path: str) -> bytes:
        if path in self.virtual:
            return self.virtual[path]()
        return self.host(path).read_bytes()

    def listdir(self, path: str) -> list[str]:
        names = set()
        prefix = path.rstrip("/") + "/"
        for v in self.virtual:
            if v.startswith(prefix):
                names.add(v[len(prefix) :].split("/")[0])
        host = self.host(path)
        if host.is_dir():
            names.update(os.listdir(host))
        return sorted(names)

    def stat(self, path: str) -> tuple[int, int, int]:
        """(mode, size, mtime) as the sync protocol's STAT reports; zeros when absent."""
        if path in self.virtual:
            return (stat.S_IFREG | 0o444, 4096, 0)
        if self.is_virtual_dir(path):
            return (stat.S_IFDIR | 0o555, 0, 0)
        host = self.host(path)
        if not host.exists():
            return (0, 0, 0)
        st = host.stat()
        return (st.st_mode, st.st_size, int(st.st_mtime))

    def writable(self, path: str) -> bool:
        return path.startswith(("/data/", "/sdcard/")) and path not in self.virtual
