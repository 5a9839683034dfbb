"""Small file helpers: atomic writes (nothing half-written on failure) and content hashes."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

from android_bench.hashing import sha256_file  # noqa: F401  (the one hashing helper, re-exported)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    Readers never see a partial file, and a crash leaves the previous version (or nothing) in place.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:  # name the user's file, not our temporary one (read-only folder, no space)
        raise type(exc)(exc.errno, exc.strerror or str(exc), str(target)) from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; results are ordinary files
        os.replace(tmp, target)
    except OSError as exc:
        raise with_filename(exc, target) from None
    except RuntimeError as exc:  # torch.save reports a failed write as RuntimeError ('[enforce fail at ...]')
        raise _write_error(exc, target) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write_error(exc: RuntimeError, target: Path) -> Exception:
    """A writer's RuntimeError as the OSError it stands for (a full disk, most often), naming the file."""
    import errno
    import shutil

    text = str(exc)
    if not any(word in text for word in ("write", "Writer", "inline_container")):
        return exc
    try:
        full = shutil.disk_usage(target.parent).free < (64 << 20)
    except OSError:
        full = False
    code = errno.ENOSPC if full else errno.EIO
    return OSError(code, os.strerror(code), str(target))


def with_filename(exc: OSError, path: str | os.PathLike) -> OSError:
    """The same OS error naming ``path`` (the user's file) when the failing call named nothing (a write()
    hitting a full disk says only ENOSPC) or our temporary file: the CLI's error line names the file from it."""
    if exc.filename is not None and ".tmp" not in str(exc.filename):
        return exc
    return type(exc)(exc.errno, exc.strerror or str(exc), str(path))


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` (plain data or dataclasses, through the record codec) as strict JSON, atomically: a NaN
    or infinity is an error naming the field, never written (JSON has neither)."""
    from .codec import RecordError, dumps
    from .errors import MobileDepthError

    try:
        text = dumps(data)
    except RecordError as exc:
        raise MobileDepthError(f"{path}: not written: {exc}") from None
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def scratch_dir(prefix: str) -> Path:
    """A temporary folder removed when the process exits (normally, on an error or on Ctrl-C), for scripts
    whose scratch outlives one ``with`` block (the benchmarks keep converted files across phases)."""
    import atexit
    import shutil

    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, True)
    return path
