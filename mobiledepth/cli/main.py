"""The entry point: every command module registered on the one app, then run with SIGTERM unwinding."""

from __future__ import annotations

import signal
import sys
from typing import Any

from . import bench, convert, devices, evaluate, fleet, model, see, train  # noqa: F401  (each registers its commands)
from .app import app


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM: unwind like Ctrl-C, so ``finally`` blocks remove scratch folders and temporary files."""
    raise SystemExit(128 + signum)


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 prints escaped, never a crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    app()


if __name__ == "__main__":
    main()
