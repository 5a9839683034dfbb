"""Hostile cases, round 2: crafted model files that must run nothing, inputs that must be read right or
refused, numbers that must be valid before they are written, one owner per folder, messages that say
what happened, and options checked at the edge. Each case asserts the exact outcome: one ``error:`` line
naming the file and the cause, exit 1, never the ``(a bug)`` boundary, nothing half-written."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from mobiledepth.cli import app
from mobiledepth.errors import MobileDepthError

runner = CliRunner()


def error_line(args: list, expected: str | None = None, contains: str | None = None) -> str:
    """Run the CLI in-process; exactly one output line, ``error: ...``, exit 1, not a bug line."""
    result = runner.invoke(app, [str(a) for a in args])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "(a bug" not in result.output, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    if expected is not None:
        assert lines[0] == f"error: {expected}"
    if contains is not None:
        assert contains in lines[0], lines[0]
    return lines[0]


# ---- 1. no code runs from a model file ----------------------------------------------------------------------
class _Marker:
    """Unpickling this creates a file: the proof that a loader ran code it found in a model file."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def _program(path: Path) -> Path:
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 1, 1))
    torch.export.save(torch.export.export(net.eval(), (torch.zeros(1, 3, 32, 48),)), str(path))
    return path


def _rewrite(path: Path, replace: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path) as src:
        items = [(info, src.read(info)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w") as out:
        for info, data in items:
            key = next((k for k in replace if info.filename.endswith(k)), None)
            out.writestr(info, replace[key] if key else data)


def crafted_pt2(tmp_path: Path, where: str, marker: Path) -> Path:
    """A real torch.export program with code planted where torch.export.load unpickles without restriction:
    its sample inputs (a torch.save zip), a weight flagged ``use_pickle`` (a bare protocol-0 pickle, which a
    check of pickle headers alone would miss) or an opaque constant (``pickle.loads``)."""
    path = _program(tmp_path / f"{where}.pt2")
    buffer = io.BytesIO()
    torch.save(_Marker(marker), buffer)
    bare = pickle.dumps(_Marker(marker), protocol=0)
    with zipfile.ZipFile(path) as z:
        weights = json.loads(z.read(next(n for n in z.namelist() if n.endswith("model_weights_config.json"))))
    if where == "sample_inputs":
        _rewrite(path, {"sample_inputs/model.pt": buffer.getvalue()})
    elif where == "pickled_weight":
        first = next(iter(weights["config"].values()))
        first["use_pickle"] = True
        _rewrite(path, {"model_weights_config.json": json.dumps(weights).encode(), first["path_name"]: bare})
    else:
        constants = {"config": {"c": {"path_name": "opaque_obj_0", "is_param": False, "use_pickle": True}}}
        _rewrite(path, {"model_constants_config.json": json.dumps(constants).encode()})
        with zipfile.ZipFile(path, "a") as z:
            prefix = next(n for n in z.namelist() if n.endswith("model_constants_config.json")).rsplit("/", 1)[0]
            z.writestr(f"{prefix}/opaque_obj_0", bare)
    return path


@pytest.mark.parametrize("where", ["sample_inputs", "pickled_weight", "opaque_constant"])
def test_crafted_pt2_runs_nothing_in_bench_eval_or_convert(where, tmp_path, synth_dir):
    marker = tmp_path / "pwned"
    path = crafted_pt2(tmp_path, where, marker)
    for args in (["bench", path, "--runs", "2"], ["eval", path, "--data", synth_dir], ["info", path]):
        error_line(args, contains=str(path))
        assert not marker.exists(), f"{args[0]} ran code planted in {where}"


def test_crafted_checkpoint_and_teacher_run_nothing(tmp_path):
    from mobiledepth.model.checkpoint import load_checkpoint

    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": "mobiledepth-checkpoint", "config": _Marker(marker)}, path)
    with pytest.raises(MobileDepthError, match=r"evil\.pt"):
        load_checkpoint(path)
    error_line(["info", path], contains="evil.pt")
    assert not marker.exists()


# ---- 2. inputs read right or refused ------------------------------------------------------------------------
def _picture() -> np.ndarray:
    y, x = np.mgrid[0:48, 0:64]
    return np.stack([x * 4, y * 5, (x + y) * 2], axis=2).astype(np.uint8)


def test_images_read_as_the_camera_saw_them(tmp_path):
    from mobiledepth.data.images import image_size, load_rgb

    rgb = _picture()
    gray8 = rgb[..., 1]
    Image.fromarray(gray8).save(tmp_path / "g8.png")
    Image.fromarray(gray8.astype(np.uint16) * 257).save(tmp_path / "g16.png")  # the same picture at 16 bits
    assert np.abs(load_rgb(tmp_path / "g16.png") - load_rgb(tmp_path / "g8.png")).max() < 1 / 255
    assert load_rgb(tmp_path / "g16.png").mean() < 0.9  # read all white before
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=256).save(tmp_path / "p.png")
    assert np.abs(load_rgb(tmp_path / "p.png") - rgb / 255.0).mean() < 0.03
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: "rotate 90 CW to display"
    Image.fromarray(rgb).save(tmp_path / "sideways.jpg", exif=exif, quality=95)
    shown = load_rgb(tmp_path / "sideways.jpg")
    assert shown.shape == (64, 48, 3) and image_size(tmp_path / "sideways.jpg") == (48, 64)
    assert np.abs(shown - np.rot90(rgb, -1) / 255.0).mean() < 0.03
    bomb = tmp_path / "bomb.png"
    Image.new("1", (9000, 9000)).save(bomb)
    with pytest.raises(MobileDepthError, match=r"bomb\.png: image of 9000x9000 pixels exceeds 64,000,000"):
        load_rgb(bomb)


def test_diw_csv_bom_and_declared_size(tmp_path):
    from mobiledepth.data.diw import read_diw_csv

    Image.fromarray(_picture()).save(tmp_path / "a.png")
    csv = tmp_path / "DIW_test.csv"
    csv.write_bytes("\ufeffa.png\n1,1,2,2,>,64,48\n".encode())
    (entry,) = read_diw_csv(csv)
    assert entry.path == (tmp_path / "a.png").resolve()  # not '\ufeffa.png'
    csv.write_text("a.png\n1,1,2,2,>,128,96\n")
    with pytest.raises(MobileDepthError) as err:
        read_diw_csv(csv)
    assert str(err.value) == f"{csv}:2: declares 128x96 for a.png, but the image is 64x48 (EXIF rotation applied)"


def test_declared_shapes_and_channels_bounded_before_allocation(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    side = [1, 3, 100000, 100000]
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "huge",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, side)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, side)])  # fmt: skip
    huge = tmp_path / "huge.onnx"
    onnx.save(helper.make_model(graph), huge)
    error_line(["bench", huge, "--runs", "2"], contains="100000")
    empty = tmp_path / "no_outputs.onnx"
    graph = helper.make_graph([], "none", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])], [])
    onnx.save(helper.make_model(graph), empty)
    error_line(["bench", empty, "--runs", "2"], contains="no output")
    from mobiledepth.model import init_checkpoint

    ckpt = init_checkpoint("mobiledepth-small", tmp_path / "s.pt", seed=0)
    payload = torch.load(ckpt, weights_only=True)
    payload["config"]["encoder"]["stem_channels"] = 10**8
    torch.save(payload, tmp_path / "wide.pt")
    error_line(["info", tmp_path / "wide.pt"], contains="wide.pt")


# ---- 3. every number valid before it is written -------------------------------------------------------------
def test_phone_timings_that_cannot_be_are_refused(tmp_path):
    from android_bench.stats import TimingError, check_timings

    for bad in ([4.0, -4.0, 3.0], [float("nan"), 1.0], [float("inf")]):
        with pytest.raises(TimingError):
            check_timings(bad, "benchmark_model")
    log = tmp_path / "run.log"
    log.write_text("INFO: count=50 first=-4000 curr=-4000 min=-4000 max=-4000 avg=-4000 std=0\n"
                   "INFO: Inference timings in us: Init: 100, First inference: -4000, Warmup (avg): -4000, "
                   "Inference (avg): -4000\n")  # fmt: skip
    error_line(["bench", "--from-log", log, "--device", "S21"], contains=str(log))


def test_no_writer_puts_nan_in_json(tmp_path):
    from mobiledepth.fileio import write_json

    with pytest.raises(MobileDepthError, match=r"x\.json"):
        write_json(tmp_path / "x.json", {"median_ms": float("nan")})
    assert not (tmp_path / "x.json").exists()


def test_training_stops_at_the_first_non_finite_loss(tmp_path, synth_dir):
    config = tmp_path / "c.toml"
    config.write_text(f'[model]\nvariant = "mobiledepth-small"\n[run]\nout = "{tmp_path / "run"}"\nlog_every = 1\n'
                      f'[[stage]]\nname = "a"\ndata = "synth"\ntrain = "{synth_dir}"\nepochs = 1\nbatch = 4\n'
                      "lr = 1e30\nsize = [64, 96]\n")  # fmt: skip
    line = error_line(["train", "--config", config, "--quiet"], contains="stage a: the loss became")
    assert str(tmp_path / "run") in line and not (tmp_path / "run" / "final.pt").exists()


@pytest.mark.parametrize(
    "run_table, message",
    [("log_every = 0", "log_every must be at least 1, got 0"), ("threads = -1", "threads must be in 1.."),
     ("workers = -1", "workers (data loader processes) must be between 0 and 64, got -1")],
)  # fmt: skip
def test_training_run_table_ranges(tmp_path, synth_dir, run_table, message):
    config = tmp_path / "c.toml"
    config.write_text(f'[run]\n{run_table}\n[[stage]]\nname = "a"\ndata = "synth"\ntrain = "{synth_dir}"\n')
    error_line(["train", "--config", config], contains=f"{config}: [run]: {message}")


# ---- 4. one owner per output folder and cache entry ---------------------------------------------------------
def _hold(folder: Path, what: str) -> subprocess.Popen:
    """Another process holding ``folder`` as a running command would."""
    code = (f"import time, sys; from mobiledepth.locks import FolderLock\nwith FolderLock({str(folder)!r}, {what!r}):"
            "\n    print('held', flush=True); time.sleep(60)")  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_command_into_a_running_ones_folder_is_refused(tmp_path, small_ckpt, synth_dir):
    for what, args in (
        ("train", ["train", "--config", "configs/synth_demo.toml", "--out", tmp_path / "train"]),
        ("convert", ["convert", small_ckpt, "-o", tmp_path / "convert", "--precision", "fp32"]),
        ("prune", ["prune", small_ckpt, "-o", tmp_path / "prune", "--data", synth_dir, "--target-ratio", "0.9"]),
    ):
        folder = Path(args[args.index("--out") + 1] if "--out" in args else args[args.index("-o") + 1])
        holder = _hold(folder, what)
        try:
            line = error_line(args, contains=f"{folder}: in use by mobiledepth {what} (pid {holder.pid}")
            assert line.endswith("wait for it to finish, or choose another folder")
        finally:
            holder.kill()
            holder.wait()
    # a killed owner's lock dies with it: the folder is free at once
    from mobiledepth.locks import FolderLock

    with FolderLock(tmp_path / "convert", "convert"):
        pass


def test_two_first_uses_of_the_sample_cache_both_succeed(tmp_path):
    env = {**os.environ, "MOBILEDEPTH_CACHE": str(tmp_path / "cache")}
    code = "from mobiledepth.data.sample import default_sample_dir; print(default_sample_dir())"
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]  # fmt: skip
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert outs[0][0] == outs[1][0] and not list((tmp_path / "cache").glob(".*partial"))


# ---- 5. messages that say what happened ---------------------------------------------------------------------
def test_control_characters_in_names_cannot_forge_lines(tmp_path):
    name = tmp_path / "a\nerror: all fine\x1b[2J.tflite"
    line = error_line(["bench", name])
    assert "\\n" in line and "\\x1b" in line


def test_non_utf8_file_name_is_one_line(tmp_path, small_converted):
    out, _ = small_converted
    odd = Path(os.fsdecode(bytes(tmp_path) + b"/m\xff.tflite"))
    odd.write_bytes((out / "small_64x96_fp32.tflite").read_bytes())
    result = subprocess.run([sys.executable, "-m", "mobiledepth", "bench", odd, "--runs", "2", "--json",
                             tmp_path / "b.json"], capture_output=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "m\\udcff.tflite" in (tmp_path / "b.json").read_text()  # the name kept, escaped in strict JSON
    assert json.loads((tmp_path / "b.json").read_text())["model"]["path"].endswith(".tflite")


def test_nan_weights_are_named_not_blamed_on_the_conversion(tmp_path):
    from mobiledepth.model import init_checkpoint
    from mobiledepth.model.checkpoint import load_checkpoint, save_checkpoint

    ckpt = init_checkpoint("mobiledepth-small", tmp_path / "s.pt", seed=0)
    model = load_checkpoint(ckpt).build()
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    save_checkpoint(tmp_path / "nan.pt", model, {"trained": True})
    error_line(["convert", tmp_path / "nan.pt", "-o", tmp_path / "out", "--precision", "fp32"],
               contains="not finite")  # fmt: skip
    assert not list((tmp_path / "out").glob("*.onnx"))


# ---- 6. options checked at the edge -------------------------------------------------------------------------
PRUNE = ["prune", "{ckpt}", "-o", "{tmp}/p", "--data", "{data}"]


@pytest.mark.parametrize(
    "args, message",
    [
        ([*PRUNE, "--target-ms", "0"], "--target-ms 0.0: a latency"),
        ([*PRUNE, "--target-ms", "-5"], "--target-ms -5.0: a latency"),
        ([*PRUNE, "--target-ratio", "1.5"], "--target-ratio 1.5: a share"),
        ([*PRUNE, "--target-ratio", "0.8", "--workers", "-1"], "--workers -1: must be in [1, 1024]"),
        (["bench", "{ckpt}", "--threads", "10000"], "--threads 10000"),
        (["bench", "{ckpt}", "{ckpt}", "--paired", "--rounds", "1000000000"], "--rounds 1000000000"),
        (["bench", "--from-log", "{ckpt}", "--paired"], "--from-log reads saved runs; --paired times files"),
        (["convert", "{ckpt}", "-o", "{tmp}/c", "--n-calib", "0"], "--n-calib 0"),
    ],
)  # fmt: skip
def test_absurd_options_are_refused_before_any_work(args, message, tmp_path, small_ckpt, synth_dir):
    filled = [a.format(ckpt=small_ckpt, tmp=tmp_path, data=synth_dir) for a in args]
    error_line(filled, contains=message)
    assert not (tmp_path / "p").exists() and not list(tmp_path.glob("c/*.onnx"))


def test_phone_that_lies_markup_model_nan_sensor_full_storage(tmp_path, small_converted):
    """A model string holding markup is printed as it is; a battery sensor printing 'nan' is no reading (no
    wait for the thermal timeout, no NaN in the record); a full /data/local/tmp fails the push with adbd's own
    reason."""
    import shutil

    from android_bench import adb
    from phone_emulator import EmulatedPhone, galaxy_s21
    from phone_emulator.benchmark_tool import BINARY_MARKER

    assert shutil.which("adb")
    port = adb.free_local_port()
    adb.start_server(port)
    phone = EmulatedPhone(galaxy_s21()).start()
    binary = tmp_path / "benchmark_model"
    binary.write_bytes(BINARY_MARKER + b"\n")
    out, _ = small_converted
    args = ["bench", str(out / "small_64x96_fp32.tflite"), "--device", phone.serial, "--adb-port", str(port),
            "--benchmark-binary", str(binary), "--runs", "3", "--thermal-timeout", "60"]  # fmt: skip
    try:
        adb.connect(adb.client(port=port, start=False), phone.serial)
        time.sleep(0.5)
        phone.profile.props["ro.product.model"] = "SM-[/]G99[bold]"  # markup in what a phone says of itself
        listed = runner.invoke(app, ["devices", "--adb-port", str(port)])
        assert listed.exit_code == 0 and "SM-[/]G99[bold]" in listed.output, listed.output
        phone.thermal.set(float("nan"))
        started = time.monotonic()
        result = runner.invoke(app, [*args, "--json", str(tmp_path / "b.json")])
        assert result.exit_code == 0 and time.monotonic() - started < 30, result.output
        assert "SM-[/]G99[bold]" in result.output
        (record,) = json.loads((tmp_path / "b.json").read_text(), parse_constant=_refuse)  # strict: no NaN
        (repeat,) = record["phone"]["repeats"]
        assert repeat["temperature_before"]["battery_c"] is None and not repeat["thermal_timeout"]
        phone.thermal.set(30.0)
        phone.profile.faults.storage_full = True
        (tmp_path / "other.tflite").write_bytes((out / "small_64x96_int8.tflite").read_bytes())
        args[1] = str(tmp_path / "other.tflite")
        line = error_line(args)
        assert "No space left on device" in line and "other.tflite" in line
    finally:
        phone.stop()
        adb.kill_server(port)


def _refuse(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def test_damaged_prune_history_is_one_line_on_resume(tmp_path, small_ckpt, synth_dir):
    out = tmp_path / "prune"
    out.mkdir()
    (out / "history.json").write_text('{"checkpoint": "s.pt", "opt')
    line = error_line(["prune", small_ckpt, "-o", out, "--data", synth_dir, "--target-ratio", "0.9", "--resume"])
    assert line.startswith(f"error: {out / 'history.json'}: damaged (JSONDecodeError") and "cannot resume" in line
