"""This process's onnx2tf zygote (:mod:`.onnx2tf_zygote`): started on the first conversion, reused by every
later one, gone with this process.

``warm()`` starts it (its imports then run beside the caller's own work); ``run()`` hands it one tool run
and waits with a deadline. A conversion that is abandoned (timeout, Ctrl-C, SIGTERM raised as
SystemExit) kills its child and the zygote before the caller removes the scratch folder, so nothing keeps
writing there and no process is left; the next conversion starts a new zygote.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from .onnx2tf_zygote import STREAMS, die_with_parent

_lock = threading.Lock()  # one conversion at a time per zygote (threads of one process share it)
_zygote: subprocess.Popen | None = None


def warm(env: dict[str, str]) -> None:
    """Start the zygote unless one is running; ``env`` is its environment (TensorFlow reads some at import)."""
    global _zygote
    if _zygote is not None and _zygote.poll() is None:
        return
    script = [sys.executable, str(Path(__file__).with_name("onnx2tf_zygote.py"))]
    # unbuffered bytes: a reply line is read byte by byte, so none waits in a buffer that select() cannot see
    _zygote = subprocess.Popen(script, cwd="/", env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, bufsize=0, preexec_fn=die_with_parent)  # fmt: skip


def run(tool: str, workdir: Path, argv: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    """``tool`` (onnx2tf, simplify) with ``argv`` in ``workdir``; its exit code and output. Raises TimeoutError
    after ``timeout`` s."""
    with _lock:
        warm(env)
        zygote = _zygote
        deadline = time.monotonic() + timeout
        pid = None
        try:
            zygote.stdin.write(
                (json.dumps({"tool": tool, "cwd": str(workdir), "argv": argv, "env": env}) + "\n").encode()
            )
            pid = _reply(zygote, deadline)["pid"]
            code = _reply(zygote, deadline)["code"]
        except BrokenPipeError:  # the zygote died between jobs: this run fails as a killed tool would
            _stop(zygote, pid)
            code = -signal.SIGKILL
        except BaseException:
            _stop(zygote, pid)
            raise
    logs = [workdir / f"{tool}.{stream}" for stream in STREAMS]
    out, err = (log.read_text(errors="replace") if log.is_file() else "" for log in logs)
    return subprocess.CompletedProcess(argv, code, out, err)


def _reply(zygote: subprocess.Popen, deadline: float) -> dict:
    fd = zygote.stdout.fileno()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("onnx2tf did not finish in time")
        ready, _, _ = select.select([fd], [], [], min(left, 1.0))
        if ready:
            line = zygote.stdout.readline()
            if not line:  # the zygote died (killed, out of memory): its child died with it
                return {"pid": None, "code": -signal.SIGKILL}
            return json.loads(line)


def _stop(zygote: subprocess.Popen, pid: int | None) -> None:
    """Kill the conversion's child, then the zygote, and wait until the child is gone."""
    global _zygote
    if pid is not None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    zygote.kill()
    zygote.wait()
    _zygote = None
    end = time.monotonic() + 5.0
    while pid is not None and process_running(pid) and time.monotonic() < end:
        time.sleep(0.02)


def process_running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie: a zombie has ended and only waits for its parent to
    reap it (after its parent died, init does). Anyone's process: /proc/PID/stat is readable by all."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@atexit.register
def _close() -> None:
    """At exit: no tool runs (``run`` waits for its child), so the zygote is killed and reaped at once."""
    global _zygote
    if _zygote is not None:
        _zygote.kill()
        _zygote.wait()
    _zygote = None
