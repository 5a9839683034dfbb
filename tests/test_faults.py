"""Bad input and faults, as real processes: one line naming the file and the cause, exit 1, no
traceback, no scratch left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def run(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mobiledepth", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_missing_files_and_folders(tmp_path):
    assert (
        one_error_line(run("bench", str(tmp_path / "missing.tflite")))
        == f"error: {tmp_path / 'missing.tflite'}: no such model file"
    )
    assert (
        one_error_line(run("eval", str(tmp_path / "missing.onnx")))
        == f"error: {tmp_path / 'missing.onnx'}: no such model file"
    )
    folder = tmp_path / "x.tflite"
    folder.mkdir()
    assert one_error_line(run("bench", str(folder))) == f"error: {folder}: is a folder, not a model file"


def test_markup_in_names_is_printed_literally(tmp_path):
    assert one_error_line(run("info", "x[/]y.pt")) == "error: x[/]y.pt: no such model file"
    assert one_error_line(run("info", "x[bold]y.pt")) == "error: x[bold]y.pt: no such model file"


def test_bad_diw_values(tmp_path, synth_dir):
    image = next((synth_dir / "images").iterdir())
    csv = tmp_path / "DIW_test.csv"
    csv.write_text(f"{image}\ninf,1,1,2,>,64,64\n")
    assert one_error_line(run("eval", "models/mobiledepth-base.pt", "--data", str(csv))) == (
        f"error: {csv}:2: non-numeric or non-finite coordinate or size in 'inf,1,1,2,>,64,64'"
    )
    csv.write_text(f"{image}\n1,1,1,2,>,1000000,1000000\n")
    assert one_error_line(run("eval", "models/mobiledepth-base.pt", "--data", str(csv))) == (
        f"error: {csv}:2: image size 1000000x1000000 exceeds 16384 pixels per side"
    )


def test_sizes_and_arguments_are_checked_first():
    assert one_error_line(run("info", "models/mobiledepth-base.pt", "--size", "8192x8192")) == (
        "error: --size '8192x8192': sides are capped at 4096 pixels"
    )
    bench = ("bench", "models/mobiledepth-base.pt")
    assert one_error_line(run(*bench, "--runs", "0")) == "error: --runs 0: must be between 1 and 1000000"
    cores = len(os.sched_getaffinity(0))
    assert one_error_line(run(*bench, "--threads", "-1")) == f"error: --threads -1: must be between 1 and {cores}"
    assert one_error_line(run(*bench, "--threads", "10000")) == f"error: --threads 10000: must be between 1 and {cores}"
    assert one_error_line(run(*bench, "models/mobiledepth-base.pt", "--paired", "--rounds", "1")) == (
        "error: --rounds 1: must be between 2 and 10000"
    )
    assert one_error_line(run(*bench, "models/mobiledepth-base.pt", "--paired", "--rounds", "1000000000")) == (
        "error: --rounds 1000000000: must be between 2 and 10000"
    )
    assert one_error_line(run(*bench, "--rounds", "5")) == (
        "error: --rounds counts the rounds of a paired run: give --paired too"
    )


def test_report_rejects_incomplete_records_and_bad_plot_names(tmp_path):
    rec = tmp_path / "r.json"
    rec.write_text(json.dumps({"record": "bench"}))
    assert one_error_line(run("report", str(rec))) == f"error: {rec}: bench record: model: missing"
    rec.write_text(json.dumps({"record": "eval", "model": {"sha256": "ab"}, "whdr": "low"}))
    assert one_error_line(run("report", str(rec))) == f"error: {rec}: eval record: model.path: missing"
    model = {"path": "m.tflite", "name": "m", "format": "tflite", "precision": "fp32", "sha256": "ab"}
    rec.write_text(json.dumps({"record": "eval", "model": model, "whdr": "low"}))
    assert one_error_line(run("report", str(rec))) == f"error: {rec}: eval record: whdr: expected float, got a string"
    assert one_error_line(run("report", str(rec), "--plot", str(tmp_path / "x.txt"))) == (
        f"error: {tmp_path / 'x.txt'}: --plot writes .png, .svg or .pdf, not .txt"
    )


def _mount_tmpfs(path: Path, options: str) -> bool:
    path.mkdir()
    if os.geteuid() != 0:
        return False
    return (
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True).returncode == 0
    )


def test_disk_full_and_read_only_folder(tmp_path):
    full, ro = tmp_path / "full", tmp_path / "ro"
    if not (_mount_tmpfs(full, "size=64k") and _mount_tmpfs(ro, "ro,size=64k")):
        pytest.skip("needs root to mount a small tmpfs")
    try:
        line = one_error_line(run("data", "synth", "-o", str(full / "data"), "--n", "6"))
        assert line.endswith(": no space left on the disk") and str(full) in line
        line = one_error_line(run("data", "synth", "-o", str(ro / "data"), "--n", "2"))
        assert line.endswith(": read-only file system") and str(ro) in line
    finally:
        subprocess.run(["umount", str(full)])
        subprocess.run(["umount", str(ro)])


@pytest.mark.slow
def test_convert_bench_train_on_a_full_or_read_only_disk(tmp_path, small_ckpt, small_converted, synth_dir):
    """convert onto a full disk, bench --json and train into a read-only folder: one line naming the file,
    exit 1, and nothing left under a final name."""
    full, ro = tmp_path / "full", tmp_path / "ro"
    if not (_mount_tmpfs(full, "size=256k") and _mount_tmpfs(ro, "ro,size=64k")):
        pytest.skip("needs root to mount a small tmpfs")
    try:
        line = one_error_line(
            run("convert", str(small_ckpt), "--precision", "fp32", "--size", "64x96", "-o", str(full))
        )
        assert line.endswith(": no space left on the disk") and str(full) in line
        assert not [p.name for p in full.iterdir() if p.suffix in (".onnx", ".tflite", ".json")]  # no partial file
        tfl = small_converted[0] / "small_64x96_int8.tflite"
        line = one_error_line(run("bench", str(tfl), "--runs", "2", "--json", str(ro / "b.json")))
        assert line == f"error: {ro / 'b.json'}: read-only file system"
        cfg = tmp_path / "c.toml"
        cfg.write_text(f'[model]\nvariant = "mobiledepth-small"\n[run]\nout = "{ro / "run"}"\n[[stage]]\nname = "s"\n'
                       f'data = "synth"\ntrain = "{synth_dir}"\nsize = [64, 96]\nbatch = 4\nepochs = 1\n')  # fmt: skip
        line = one_error_line(run("train", "--config", str(cfg), "--quiet"))
        assert line.endswith(": read-only file system") and str(ro) in line
    finally:
        subprocess.run(["umount", str(full)])
        subprocess.run(["umount", str(ro)])


@pytest.mark.slow
def test_sigterm_during_convert_leaves_no_scratch_and_no_child(tmp_path, small_ckpt, synth_dir):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch))
    cmd = [
        sys.executable,
        "-m",
        "mobiledepth",
        "convert",
        str(small_ckpt),
        "-o",
        str(tmp_path / "out"),
        "--size",
        "64x96",
        "--calib",
        str(synth_dir),
        "--parity-data",
        str(synth_dir),
        "--precision",
        "fp32,int8",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not list(scratch.glob("mobiledepth-onnx2tf-*/model.onnx")):
        time.sleep(0.2)
    assert list(scratch.glob("mobiledepth-onnx2tf-*")), "onnx2tf never started"
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    time.sleep(1.0)
    assert not list(scratch.glob("mobiledepth-onnx2tf-*"))
    # the tools run in children forked from `python .../onnx2tf_zygote.py`, in the scratch folder (the cwd checked)
    leftover = subprocess.run(["pgrep", "-f", "onnx2tf"], capture_output=True, text=True).stdout.split()
    assert not [
        pid for pid in leftover if Path(f"/proc/{pid}/cwd").exists() and str(scratch) in os.readlink(f"/proc/{pid}/cwd")
    ]


@pytest.mark.slow
def test_scratch_of_a_conversion_killed_9_is_swept_by_the_next(tmp_path, small_ckpt):
    """kill -9 leaves a conversion's scratch folder (nothing runs to remove it): the next conversion removes it,
    and one of a live process is left alone."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch))
    cmd = [sys.executable, "-m", "mobiledepth", "convert", str(small_ckpt), "--size", "64x96", "--precision", "fp32"]
    proc = subprocess.Popen([*cmd, "-o", str(tmp_path / "a")], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 120
    while time.time() < deadline and not list(scratch.glob("mobiledepth-onnx2tf-*/model.onnx")):
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    [orphan] = scratch.glob("mobiledepth-onnx2tf-*")
    assert orphan.name.startswith(f"mobiledepth-onnx2tf-{proc.pid}-")
    live = subprocess.Popen(["sleep", "60"])
    try:
        running = scratch / f"mobiledepth-onnx2tf-{live.pid}-x"
        running.mkdir()
        done = subprocess.run([*cmd, "-o", str(tmp_path / "b")], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert list(scratch.glob("mobiledepth-onnx2tf-*")) == [running]
    finally:
        live.kill()
        live.wait()


@pytest.mark.parametrize(
    "line,message",
    [
        ('epochs = "two"', "epochs = 'two' is not of type int"),
        ("batch = 0", "batch must be a positive finite number, got 0"),
        ('lr = "fast"', "lr = 'fast' is not of type float"),
        ('size = "64x64"', "size = '64x64' is not of type tuple[int, int]"),
    ],
)
def test_train_config_is_validated_before_any_work(tmp_path, line, message):
    config = tmp_path / "c.toml"
    config.write_text(f'[[stage]]\nname = "s"\ndata = "synth"\ntrain = "{tmp_path}"\n{line}\n')
    assert one_error_line(run("train", "--config", str(config))) == f"error: {config}: stage 1: {message}"


def test_train_config_stage_must_be_tables(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("stage = 5\n")
    assert (
        one_error_line(run("train", "--config", str(config)))
        == f"error: {config}: 'stage' must be [[stage]] tables, got 5"
    )


def test_benchmark_binary_pin(tmp_path):
    import hashlib

    from android_bench.binary import check_pin
    from android_bench.errors import BenchError

    binary = tmp_path / "benchmark_model"
    binary.write_bytes(b"\x7fELF not really")
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()
    assert check_pin(binary, None) == digest and check_pin(binary, digest.upper()) == digest
    with pytest.raises(BenchError) as err:
        check_pin(binary, "0" * 64)
    assert str(err.value) == f"{binary}: sha256 {digest} does not match the pinned {'0' * 64}"


def test_unexpected_exception_is_one_line_unless_debugging(tmp_path, monkeypatch):
    """A bug (not a user error) prints one line naming the exception; MOBILEDEPTH_DEBUG=1 keeps the traceback."""
    from typer.testing import CliRunner

    import mobiledepth.reporting.table as table
    from mobiledepth.cli import app

    rec = tmp_path / "bench.json"
    model = {"path": "m.tflite", "name": "m", "format": "tflite", "precision": "fp32", "sha256": "a"}
    rec.write_text(json.dumps({"record": "eval", "model": model, "whdr": 0.2, "wrong_pairs": 1, "input_hw": [8, 8],
                               "dataset": {"csv": "DIW_test.csv", "images": 1, "pairs": 5}}))  # fmt: skip

    def broken(records):
        raise ZeroDivisionError("float division by zero\nsecond line")

    monkeypatch.setattr(table, "build_rows", broken)
    result = CliRunner().invoke(app, ["report", str(rec)])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: unexpected ZeroDivisionError: float division by zero (a bug; MOBILEDEPTH_DEBUG=1 shows the traceback)"
    )
    monkeypatch.setenv("MOBILEDEPTH_DEBUG", "1")
    debug = CliRunner().invoke(app, ["report", str(rec)])
    assert isinstance(debug.exception, ZeroDivisionError)


def test_foreign_pickle_is_one_quiet_line(tmp_path):
    """A pickle with objects in it: refused by safe loading, no torch warning printed before the line."""
    import pickle

    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"a": 1}, protocol=4))
    line = one_error_line(run("info", str(path)))
    assert line == (f"error: {path}: not a mobiledepth checkpoint (a pickle that safe loading refuses: it holds code "
                    "or objects, not tensors only; nothing from it was run)")  # fmt: skip
