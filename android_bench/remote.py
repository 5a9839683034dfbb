"""Run one long command on a phone with a TOTAL time limit, streaming shell-protocol-v2 output.

adbutils' own ``shell`` timeout is an inactivity timeout, and ``benchmark_model`` prints nothing
during its timed loop, so a hung run would wait forever (or fail a healthy long run). Here the socket
is read in short slices against a deadline; on expiry the remote process is killed and the run fails.
A connection that ends without an exit packet means the device went away.
"""

from __future__ import annotations

import shlex
import socket
import time
from dataclasses import dataclass
from typing import Callable

from . import shell
from .errors import BenchError

EXIT, STDOUT, STDERR = 3, 1, 2


@dataclass
class RemoteResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def run_with_deadline(
    device,
    command: str,
    timeout_s: float,
    kill_pattern: str | None = None,
    on_output: Callable[[str], None] = lambda text: None,
) -> RemoteResult:
    """Run ``command`` with a total time limit; shell v2 where offered, else the legacy raw shell."""
    start = time.monotonic()
    v2 = shell.offers_shell_v2(device)
    try:
        conn = device.open_transport(timeout=30)
        conn.send_command(f"shell,v2:{command}" if v2 else f"shell:{shell.legacy_command(command)}")
        conn.check_okay()
    except Exception as exc:
        raise BenchError(f"{device.serial}: cannot start a shell ({exc.__class__.__name__}: {exc})") from None
    sock: socket.socket = conn.conn
    sock.settimeout(0.5)
    stream = _Stream(device, sock, start + timeout_s, timeout_s, kill_pattern)
    try:
        if v2:
            code, out, err = _read_v2(stream, on_output)
        else:
            code, out, err = _read_legacy(stream, on_output)
    finally:
        conn.close()
    return RemoteResult(code, out, err, time.monotonic() - start)


@dataclass
class _Stream:
    device: object
    sock: socket.socket
    deadline: float
    timeout_s: float
    kill_pattern: str | None

    def recv(self) -> bytes:
        """Next chunk (b'' at the end of the stream); kills the run and raises once past the deadline."""
        while True:
            if time.monotonic() > self.deadline:
                if self.kill_pattern:
                    try:
                        shell.run(self.device, f"pkill -f {shlex.quote(self.kill_pattern)}", timeout=15)
                    except Exception:
                        pass
                raise BenchError(
                    f"{self.device.serial}: run exceeded its timeout of {self.timeout_s:.0f} s and was killed"
                )
            try:
                return self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError as exc:
                raise BenchError(
                    f"{self.device.serial}: connection lost during the run ({exc.__class__.__name__}); "
                    "device disconnected?"
                ) from None


def _read_v2(stream: _Stream, on_output: Callable[[str], None]) -> tuple[int, str, str]:
    buffer, out, err = bytearray(), bytearray(), bytearray()
    while True:
        chunk = stream.recv()
        if not chunk:
            raise BenchError(
                f"{stream.device.serial}: connection lost during the run (no exit status); device disconnected?"
            )
        buffer.extend(chunk)
        while len(buffer) >= 5:
            kind, length = buffer[0], int.from_bytes(buffer[1:5], "little")
            if len(buffer) < 5 + length:
                break
            data = bytes(buffer[5 : 5 + length])
            del buffer[: 5 + length]
            if kind == EXIT:
                return (data[0] if data else 255), out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
            (out if kind == STDOUT else err).extend(data)
            if kind in (STDOUT, STDERR):
                on_output(data.decode("utf-8", "replace"))


def _read_legacy(stream: _Stream, on_output: Callable[[str], None]) -> tuple[int, str, str]:
    """Raw shell: stdout and stderr arrive merged; the exit status is the echoed marker before EOF."""
    raw = bytearray()
    while chunk := stream.recv():
        raw.extend(chunk)
        on_output(chunk.decode("utf-8", "replace"))
    body, code = shell.split_marker(raw.decode("utf-8", "replace"))
    if code is None:
        raise BenchError(
            f"{stream.device.serial}: connection lost during the run (no exit status); device disconnected?"
        )
    return code, body, ""
