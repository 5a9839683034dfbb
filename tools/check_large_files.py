"""Refuse large files in git: weights and data bloat every clone forever.

Usage: ``python tools/check_large_files.py FILE...`` (pre-commit passes the staged files) or with no
arguments: every tracked file (``make lint``, so CI enforces it too). A file over the limit passes only
if ``models/MANIFEST`` pins it with its exact sha256: the one demo checkpoint, never a second copy.
One line per offending file; exit status 1 if there is any.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

LIMIT_BYTES = 500 * 1024  # pre-commit-hooks' check-added-large-files default
MANIFEST = Path("models/MANIFEST")


def pinned() -> dict[str, str]:
    """models/MANIFEST lines 'SHA256  NAME' -> {'models/NAME': sha256}."""
    if not MANIFEST.is_file():
        return {}
    pins = {}
    for line in MANIFEST.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            sha, name = line.split()
            pins[str(MANIFEST.parent / name)] = sha
    return pins


def problems(files: list[str]) -> list[str]:
    pins, found = pinned(), []
    for name in files:
        path = Path(name)
        if not path.is_file() or path.stat().st_size <= LIMIT_BYTES:
            continue
        size_kb = path.stat().st_size // 1024
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        if pins.get(str(path)) == sha:
            continue
        reason = "its sha256 differs from models/MANIFEST" if str(path) in pins else "not pinned in models/MANIFEST"
        found.append(f"{name}: {size_kb} KB over the {LIMIT_BYTES // 1024} KB limit ({reason})")
    return found


def main(argv: list[str]) -> int:
    files = argv or subprocess.run(["git", "ls-files"], capture_output=True, text=True, check=True).stdout.split()
    found = problems(files)
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
