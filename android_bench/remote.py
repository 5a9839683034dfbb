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

from .errors import BenchError

EXIT, STDOUT, STDERR = 3, 1, 2


@dataclass
class RemoteResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def run_with_deadline(device, command: str, timeout_s: float, kill_pattern: str | None = None,
                      on_output: Callable[[str], None] = lambda text: None) -> RemoteResult:
    start = time.monotonic()
    deadline = start + timeout_s
    try:
        conn = device.open_transport(timeout=30)
        conn.send_command(f"shell,v2:{command}")
        conn.check_okay()
    except Exception as exc:
        raise BenchError(f"{device.serial}: cannot start a shell ({exc.__class__.__name__}: {exc})") from None
    sock: socket.socket = conn.conn
    sock.settimeout(0.5)
    buffer = bytearray()
    out, err = bytearray(), bytearray()
    code: int | None = None
    try:
        while code is None:
            if time.monotonic() > deadline:
                if kill_pattern:
                    try:
                        device.shell2(f"pkill -f {shlex.quote(kill_pattern)}", timeout=15, v2=True)
                    except Exception:
                        pass
                raise BenchError(f"{device.serial}: run exceeded its timeout of {timeout_s:.0f} s and was killed")
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                continue
            except OSError as exc:
                raise BenchError(f"{device.serial}: connection lost during the run ({exc.__class__.__name__}); device disconnected?") from None
            if not chunk:
                raise BenchError(f"{device.serial}: connection lost during the run (no exit status); device disconnected?")
            buffer.extend(chunk)
            while len(buffer) >= 5:
                kind = buffer[0]
                length = int.from_bytes(buffer[1:5], "little")
                if len(buffer) < 5 + length:
                    break
                data = bytes(buffer[5:5 + length])
                del buffer[:5 + length]
                if kind == STDOUT:
                    out.extend(data)
                    on_output(data.decode("utf-8", "replace"))
                elif kind == STDERR:
                    err.extend(data)
                    on_output(data.decode("utf-8", "replace"))
                elif kind == EXIT:
                    code = data[0] if data else 255
    finally:
        conn.close()
    return RemoteResult(code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), time.monotonic() - start)
