"""The adb server connection: Debian's ``adb`` binary, local or remote (device labs share phones)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from dataclasses import dataclass

from .errors import BenchError

# adb's own defaults (``adb -H``/``-P``): the one place the library and the CLI read them from.
SERVER_HOST = "127.0.0.1"
SERVER_PORT = 5037


@dataclass(frozen=True)
class AdbEndpoint:
    """An adb server: this computer's (the default) or a device-lab host's shared one."""

    host: str = SERVER_HOST
    port: int = SERVER_PORT

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise BenchError(f"adb server port {self.port}: must be between 1 and 65535")

    @classmethod
    def parse(cls, text: str) -> "AdbEndpoint":
        """'HOST:PORT' (a fleet file's ``adb = "127.0.0.1:5037"``), or a bare port on this computer."""
        host, sep, port = text.strip().rpartition(":")
        try:
            return cls(host or SERVER_HOST, int(port)) if sep or port.isdigit() else cls(text.strip())
        except ValueError:
            raise BenchError(f"adb server {text!r}: expected HOST:PORT, e.g. 127.0.0.1:5037") from None

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    def client(self, start: bool = True):
        return client(self.host, self.port, start)


def adb_path() -> str:
    path = os.environ.get("ADBUTILS_ADB_PATH") or shutil.which("adb")
    if not path:
        raise BenchError("adb not found: install Debian's adb (apt-get install adb) or set ADBUTILS_ADB_PATH")
    return path


def free_local_port() -> int:
    """An unused TCP port on loopback (for a private adb server in tests and dry runs)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int = SERVER_PORT) -> None:
    """Start a local adb server on ``port`` (no-op when one is running)."""
    result = subprocess.run([adb_path(), "-P", str(port), "start-server"], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise BenchError(f"adb start-server on port {port} failed: {(result.stderr or result.stdout).strip()}")


def kill_server(port: int) -> None:
    subprocess.run([adb_path(), "-P", str(port), "kill-server"], capture_output=True, timeout=30)


def client(host: str = SERVER_HOST, port: int = SERVER_PORT, start: bool = True):
    """An adbutils client for the server at host:port; starts a local server if none answers."""
    os.environ.setdefault("ADBUTILS_ADB_PATH", adb_path())
    from adbutils import AdbClient

    # Probe the port ourselves: adbutils, on a refused connection, starts a server on the DEFAULT
    # port (5037) behind our back, which is wrong for a private or remote server.
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError:
        if not start or host not in (SERVER_HOST, "localhost"):
            raise BenchError(f"no adb server answers at {host}:{port}") from None
        start_server(port)
    return AdbClient(host=host, port=port)


def connect(c, address: str) -> None:
    """``adb connect`` a TCP device (Wi-Fi debugging, or an emulated phone)."""
    message = c.connect(address, timeout=15)
    if "connected" not in message:
        raise BenchError(f"adb connect {address}: {message.strip()}")
