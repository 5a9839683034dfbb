"""A process that imports onnx2tf and onnx-simplifier once and forks a fresh child for every tool run of a
conversion; run by path (it imports nothing of ours but :mod:`onnx_simplify`, its neighbour).

Importing onnx2tf (TensorFlow, tf-keras, ONNX Runtime) costs 4-5 s of CPU and onnx-simplifier 2-3 s, more
than converting our small model; a NetAdapt run converts every candidate it verifies, and on a 2-core host
those imports were a third of the run. Forked after the imports, each child starts with the tools loaded and
otherwise in the state of a fresh process: nothing of one conversion's TensorFlow graph, names or caches
reaches the next, and the files are byte-identical to the ``onnx2tf`` command's (fp32, fp16 and every int8
file of our model compared). A tool that crashes takes only its child down. The child dies with this
process (PR_SET_PDEATHSIG), and this process with its parent.

Protocol, one JSON object per line: the parent writes ``{"tool", "cwd", "argv", "env"}`` (tool: ``onnx2tf``
or ``simplify``); this process answers ``{"pid"}`` once the child runs and ``{"code"}`` when it has ended.
The child's output goes to ``TOOL.stdout`` and ``TOOL.stderr`` in its working directory.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile

STREAMS = ("stdout", "stderr")


def die_with_parent() -> None:
    """Before exec or in a forked child: SIGKILL this process when its parent dies (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _run_tool(job: dict, tools: dict) -> int:
    """In the forked child: the job's tool with its arguments, in its folder and environment."""
    die_with_parent()
    os.chdir(job["cwd"])
    for fd, stream in zip((1, 2), STREAMS):
        os.dup2(os.open(f"{job['tool']}.{stream}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
    os.environ.clear()
    os.environ.update(job["env"])
    tempfile.tempdir = None  # TMPDIR is the job's, not the one this process started with
    try:
        code = tools[job["tool"]](job["argv"])
    except SystemExit as stop:  # onnx2tf reports its failures with sys.exit(1)
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def _onnx2tf(argv: list[str]) -> int:
    """onnx2tf's own ``main``, as its command runs it."""
    from onnx2tf import main as onnx2tf_main

    sys.argv = ["onnx2tf", *argv]
    onnx2tf_main()
    return 0


def _answer(channel: int, message: dict) -> None:
    os.write(channel, (json.dumps(message) + "\n").encode())


def main() -> int:
    # The replies get a descriptor of their own and standard output goes nowhere: a line an import or a tool
    # prints can never be taken for a reply.
    channel = os.dup(1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    import onnx2tf  # noqa: F401  the slow imports, once
    import onnx_simplify
    import onnxsim  # noqa: F401

    tools = {"onnx2tf": _onnx2tf, "simplify": onnx_simplify.main}
    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            os.close(channel)  # the parent sees the end of the replies when this process dies, child or not
            os._exit(_run_tool(job, tools))
        _answer(channel, {"pid": pid})
        _, status = os.waitpid(pid, 0)
        _answer(channel, {"code": os.waitstatus_to_exitcode(status)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
