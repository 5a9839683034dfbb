"""Short shell commands on a phone, over shell protocol v2 where the device offers it, else the legacy
raw shell with the exit status read from an echoed marker.

Devices before Android 7 (and some vendor adbd builds) do not list ``shell_v2`` among their features;
``shell,v2:`` is then refused and every property read would look like "no such phone". The legacy
shell merges stdout and stderr and reports no exit status, so the command is followed by
``echo MARKER$?`` and the marker line is split off the output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import BenchError

MARKER = "@@mobiledepth-exit:"
_MARKER_LINE = re.compile(rf"(?:^|\n){re.escape(MARKER)}(\d+)\s*$")
_V2: dict[str, bool] = {}  # serial -> offers shell v2 (read once per process)


@dataclass(frozen=True)
class ShellResult:
    returncode: int
    stdout: str


def offers_shell_v2(device) -> bool:
    if device.serial not in _V2:
        try:
            _V2[device.serial] = "shell_v2" in device.get_features().split(",")
        except Exception as exc:  # adbutils raises several types for a device that went away
            raise BenchError(
                f"{device.serial}: cannot read the device's adb features ({exc.__class__.__name__}: {exc})"
            ) from None
    return _V2[device.serial]


def legacy_command(command: str) -> str:
    """The command for a raw shell: run it, then print its exit status on a line of its own.

    One ``echo`` with a quoted newline, so ``$?`` is still the command's status (a separate ``echo``
    for the newline would report its own).
    """
    return f'{command}; echo "\n{MARKER}$?"'  # a real newline inside the double quotes


def split_marker(output: str) -> tuple[str, int | None]:
    """(output without the marker, exit status), or status None when the marker never arrived."""
    m = _MARKER_LINE.search(output)
    if not m:
        return output, None
    return output[: m.start()], int(m.group(1))  # the match took the newline our own 'echo' printed


def run(device, command: str, timeout: float = 30) -> ShellResult:
    """Run a short command; one line naming the device when the shell itself fails."""
    try:
        if offers_shell_v2(device):
            result = device.shell2(command, timeout=timeout, v2=True)
            return ShellResult(result.returncode, result.stdout)
        body, code = split_marker(device.shell(legacy_command(command), timeout=timeout))
    except BenchError:
        raise
    except Exception as exc:
        raise BenchError(f"{device.serial}: shell command failed ({exc.__class__.__name__}: {exc})") from None
    if code is None:
        raise BenchError(f"{device.serial}: the shell ended before reporting an exit status (legacy shell)")
    return ShellResult(code, body)
