"""Run onnx2tf hermetically: no network, our own calibration images, logs kept.

onnx2tf downloads a sample calibration file when every input is an NHWC image unless a file of that
name is in its working directory; we put one there, made from our own images, so no step touches the
network. onnx2tf's own simplification (three ``onnxsim`` commands, each importing onnx-simplifier afresh)
is replaced by the same three passes in one child process (:mod:`.onnx_simplify`) and ``--not_use_onnxsim``:
the same files, half the conversion time on our model. Both children are forked from a process that imported
onnx2tf and onnx-simplifier once (:mod:`.onnx2tf_process`): their 7 s of imports are paid once per mobiledepth
process, not per conversion. The interpreter's bin folder goes first on PATH for any tool onnx2tf runs by
name.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.images import resize_rgb
from ..errors import MobileDepthError
from . import onnx2tf_process
from .onnx_rewrites import RewriteResult, write_for_tflite
from .precisions import PRECISIONS

SAMPLE_NAME = "calibration_image_sample_data_20x128x128x3_float32.npy"
SCRATCH_PREFIX = "mobiledepth-onnx2tf-"  # then the converting process's id

# onnx2tf also writes two int16-activation variants; they are not kept: XNNPACK does not accelerate
# them (hundreds of ms on a desktop CPU), so they are no choice for a phone.
OUTPUTS = {name: p.onnx2tf_suffix for name, p in PRECISIONS.items()}


@dataclass
class Onnx2TfResult:
    files: dict[str, Path]  # precision -> file in the work folder
    log: str
    workdir: Path
    rewrites: RewriteResult = RewriteResult({})  # exact graph rewrites made on the copy onnx2tf converted


def onnx2tf_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("onnx2tf")
    except metadata.PackageNotFoundError:
        return "not installed"


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def _onnx2tf_args(calibration: np.ndarray | None, input_name: str, mean: tuple, std: tuple) -> list[str]:
    args = ["-i", "model.onnx", "-o", "out", "-n", "--not_use_onnxsim"]
    if calibration is not None:
        # The model normalises internally, so onnx2tf must feed [0, 1] images unchanged (mean 0, std 1).
        args += ["-oiqt", "-cind", input_name, "calibration.npy", _nested(mean), _nested(std)]
    return args


def _run_in(
    workdir: Path,
    onnx_path: Path,
    calibration: np.ndarray | None,
    input_name: str,
    timeout: float,
    mean: tuple[float, ...] = (0.0, 0.0, 0.0),
    std: tuple[float, ...] = (1.0, 1.0, 1.0),
) -> tuple[subprocess.CompletedProcess, RewriteResult]:
    env = _child_env()
    started = time.monotonic()
    onnx2tf_process.warm(env)  # its imports run beside the rewrite
    sample = calibration if calibration is not None else np.zeros((1, 128, 128, 3), np.float32)
    sample20 = np.stack([resize_rgb(sample[i % len(sample)], 128, 128) for i in range(20)]).astype(np.float32)
    np.save(workdir / SAMPLE_NAME, sample20)
    rewrites = write_for_tflite(onnx_path, workdir / "model.onnx")
    if calibration is not None:
        np.save(workdir / "calibration.npy", calibration.astype(np.float32))
    try:
        first = onnx2tf_process.run("simplify", workdir, ["model.onnx"], env, timeout)
        left = max(1.0, timeout - (time.monotonic() - started))
        proc = onnx2tf_process.run("onnx2tf", workdir, _onnx2tf_args(calibration, input_name, mean, std), env, left)
    except TimeoutError:
        raise MobileDepthError(f"{onnx_path}: onnx2tf did not finish within {timeout:.0f} s") from None
    if first.returncode != 0:  # a native crash in onnx-simplifier: onnx2tf converted the model as it was
        proc.stdout = f"onnxsim exited {first.returncode}; converted unsimplified\n" + proc.stdout
    proc.stdout = first.stdout + first.stderr[-2000:] + proc.stdout
    return proc, rewrites


def _nested(values: tuple[float, ...]) -> str:
    """onnx2tf's per-channel mean/std argument: '[[[[0.0,0.0,0.0]]]]'."""
    return "[[[[" + ",".join(f"{float(v)!r}" for v in values) + "]]]]"


def sweep_orphaned_scratch(root: Path) -> list[Path]:
    """Remove the scratch folders in ``root`` of conversions whose process is gone: a kill -9 leaves its folder
    (nothing runs to remove it) and each holds the model and the calibration images. A folder names its
    process; one of a live process, another user's, or one without a process id is left alone."""
    removed = []
    for folder in root.glob(f"{SCRATCH_PREFIX}*"):
        pid = folder.name[len(SCRATCH_PREFIX) :].split("-", 1)[0]
        try:
            mine = folder.is_dir() and folder.stat().st_uid == os.getuid()
        except OSError:
            continue
        if mine and pid.isdigit() and not onnx2tf_process.process_running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def run_onnx2tf(
    onnx_path: Path,
    calibration: np.ndarray | None,
    input_name: str,
    timeout: float = 1800,
    mean: tuple[float, ...] = (0.0, 0.0, 0.0),
    std: tuple[float, ...] = (1.0, 1.0, 1.0),
) -> Onnx2TfResult:
    """Convert; ``calibration`` (N x H x W x 3 float32, pixels * pixel_scale) turns on integer quantisation,
    and onnx2tf normalises it with ``mean``/``std`` as the model's own input would be."""
    sweep_orphaned_scratch(Path(tempfile.gettempdir()))
    workdir = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
    try:
        proc, rewrites = _run_in(workdir, onnx_path, calibration, input_name, timeout, mean, std)
    except BaseException:  # Ctrl-C, SIGTERM (raised as SystemExit by the CLI), timeout: no scratch left behind
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    log = proc.stdout + proc.stderr
    files = {p: workdir / "out" / f"model{suffix}" for p, suffix in OUTPUTS.items()}
    files = {p: f for p, f in files.items() if f.is_file()}
    if proc.returncode != 0 or "fp32" not in files:
        shutil.rmtree(workdir, ignore_errors=True)
        tail = " | ".join(line.strip() for line in log.strip().splitlines()[-3:])
        raise MobileDepthError(f"{onnx_path}: onnx2tf failed (exit {proc.returncode}): {tail[:400]}")
    return Onnx2TfResult(files=files, log=log, workdir=workdir, rewrites=rewrites)
