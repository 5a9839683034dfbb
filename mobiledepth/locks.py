"""One owner per output folder and cache entry: an advisory lock that dies with its process.

Two ``train`` runs into one folder both logged every epoch twice; a second ``prune`` into a running
prune's folder was not refused; two commands rendering the sample cache for the first time raced and
one died on the other's ``.partial`` folder. A :class:`FolderLock` is an ``flock`` on a lock file in the
folder: the kernel releases it when its process ends, however it ends (kill -9 included), so a stale
lock never blocks anyone; the file keeps the owner's pid and command for the refusal's one line.
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

from .errors import MobileDepthError

LOCK_NAME = ".mobiledepth.lock"


class FolderLock:
    """``with FolderLock(folder, "convert"):`` holds ``folder`` for this process, or refuses in one line.
    ``wait=True`` (cache builds) waits for the owner instead: its result is what the waiter needs."""

    def __init__(self, folder: str | os.PathLike, what: str, wait: bool = False) -> None:
        self.folder, self.what, self.wait = Path(folder), what, wait
        self.path = self.folder / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> "FolderLock":
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB))
        except BlockingIOError:
            owner = os.read(fd, 300).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise MobileDepthError(f"{self.folder}: in use by {owner}; wait for it to finish, or choose another "
                                   "folder") from None  # fmt: skip
        os.ftruncate(fd, 0)
        os.write(fd, f"mobiledepth {self.what} (pid {os.getpid()}: {' '.join(sys.argv[:3])})".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
