"""Foreign models: dynamic-shape ONNX (how most exported depth networks ship) in bench and eval."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from mobiledepth.cli import app
from mobiledepth.errors import MobileDepthError
from mobiledepth.runtime.predictors import fixed_shape

runner = CliRunner()


class TinyNHWC(torch.nn.Module):
    """A custom network unlike ours: NHWC input in 0..255, one conv, output 1 x H x W x 1."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 1, 3, padding=1)

    def forward(self, x):
        return self.conv(x.permute(0, 3, 1, 2) / 255.0).permute(0, 2, 3, 1)


@pytest.mark.parametrize(
    "shape, hw, expected",
    [
        ([1, 3, "H", "W"], (64, 96), [1, 3, 64, 96]),
        (["N", 3, "height", "width"], (32, 32), [1, 3, 32, 32]),
        (["batch", "H", "W", 3], (64, 96), [1, 64, 96, 3]),
        ([1, 3, 128, "W"], (64, 96), [1, 3, 128, 96]),  # a fixed side stays as the file says
        ([1, 3, 64, 96], None, [1, 3, 64, 96]),
    ],
)
def test_fixed_shape(shape, hw, expected):
    assert fixed_shape(Path("m.onnx"), shape, hw) == expected


def test_fixed_shape_without_a_size_takes_the_house_default_and_bounds_every_side():
    from mobiledepth.inputs import DEFAULT_INPUT

    assert fixed_shape(Path("m.onnx"), [1, 3, "H", "W"], None) == [1, 3, *DEFAULT_INPUT.size]
    with pytest.raises(MobileDepthError) as err:  # a declared 100000-pixel side is refused before any allocation
        fixed_shape(Path("m.onnx"), [1, 3, 100000, 100000], None)
    assert str(err.value) == (
        "m.onnx: input shape [1, 3, 100000, 100000] is not one RGB image of at most 4096x4096 pixels (batch 1, 3 "
        "channels)"
    )


@pytest.fixture(scope="module")
def dynamic_nhwc(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("foreign") / "tiny_nhwc.onnx"
    torch.onnx.export(
        TinyNHWC().eval(),
        (torch.zeros(1, 48, 64, 3),),
        str(path),
        input_names=["image"],
        output_names=["depth"],
        dynamic_axes={"image": {0: "n", 1: "h", 2: "w"}},
        dynamo=False,
    )
    return path


def test_dynamic_onnx_benches_and_evaluates_at_the_given_size(dynamic_nhwc, synth_dir, tmp_path):
    bench = runner.invoke(
        app, ["bench", str(dynamic_nhwc), "--size", "64x96", "--runs", "3", "--json", str(tmp_path / "b.json")]
    )
    assert bench.exit_code == 0, bench.output
    rec = json.loads((tmp_path / "b.json").read_text())
    assert rec["latency_ms"]["median"] > 0 and rec["model"]["format"] == "onnx"
    ev = runner.invoke(
        app,
        [
            "eval",
            str(dynamic_nhwc),
            "--data",
            str(synth_dir),
            "--size",
            "64x96",
            "--pixel-scale",
            "255",
            "--json",
            str(tmp_path / "e.json"),
        ],
    )
    assert ev.exit_code == 0, ev.output
    e = json.loads((tmp_path / "e.json").read_text())
    assert e["input_hw"] == [64, 96] and 0.0 <= e["whdr"] <= 1.0 and e["dataset"]["pairs"] > 0


def test_missing_extra_names_the_extra():
    from mobiledepth.cli import missing_extra

    assert missing_extra(ModuleNotFoundError("No module named 'onnx2tf'", name="onnx2tf")) == (
        "this needs the 'convert' extra (module onnx2tf is missing): pip install 'mobiledepth[convert]'"
    )
    assert missing_extra(ModuleNotFoundError("x", name="torch_pruning.pruner")).endswith(
        "pip install 'mobiledepth[prune]'"
    )
    assert missing_extra(ModuleNotFoundError("x", name="numpy")) is None  # not an extra: a real bug, traceback kept


def _built_wheel(out: Path) -> Path:
    """``pip wheel`` of this checkout: the registry ships inside it, the test doubles stay out."""
    import zipfile

    repo = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(repo)]
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    [wheel] = out.glob("mobiledepth-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "android_bench/data/devices.json" in names and "mobiledepth/api.py" in names
    assert not any(n.startswith(("phone_emulator/", "tests/")) for n in names)
    return wheel


def _fresh_venv(wheel: Path, fresh: Path) -> Path:
    """A new venv holding only the wheel; its dependencies come from the project's .venv through a path
    entry (nested .pth files, such as the editable install's, stay off). Returns its site-packages."""
    import sysconfig

    subprocess.run([sys.executable, "-m", "venv", str(fresh)], check=True, timeout=300)
    install = [str(fresh / "bin" / "pip"), "install", "-q", "--no-deps", str(wheel)]
    subprocess.run(install, check=True, capture_output=True, timeout=300)
    site = next((fresh / "lib").glob("python*/site-packages"))
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return site


@pytest.mark.slow
@pytest.mark.long(33)
def test_wheel_installs_and_runs_outside_the_repo(tmp_path):
    """The built wheel, in a fresh venv, run from an unrelated folder: devices (the registry ships in the
    wheel), init, convert and bench. Dependencies come from the project's .venv through a path entry,
    so nothing is downloaded but the build backend, and the repo's own sources are not on the path."""
    import shutil

    from android_bench import adb

    fresh = tmp_path / "fresh"
    site = _fresh_venv(_built_wheel(tmp_path / "dist"), fresh)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {
        "PATH": f"{fresh / 'bin'}:{Path(shutil.which('adb')).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "MOBILEDEPTH_CACHE": str(tmp_path / "cache"),
    }

    def run(*args: str) -> str:
        done = subprocess.run(
            [str(fresh / "bin" / "mobiledepth"), *args], cwd=work, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    where = [str(fresh / "bin" / "python"), "-c", "import mobiledepth; print(mobiledepth.__file__)"]
    assert subprocess.run(where, cwd=work, env=env, capture_output=True, text=True, check=True).stdout.startswith(
        str(site)
    )  # the wheel's copy, not the repo's
    port = adb.free_local_port()
    adb.start_server(port)
    try:
        assert "no devices connected" in run("devices", "--adb-port", str(port)).lower()
    finally:
        adb.kill_server(port)
    run("init", "mobiledepth-small", "-o", "small.pt", "--seed", "1")
    run("convert", "small.pt", "--precision", "fp32", "--size", "64x96", "-o", "out")
    out = run("bench", "out/small_64x96_fp32.tflite", "--runs", "3")
    assert "small_64x96_fp32.tflite" in out


def test_public_api_is_lazy_and_complete():
    import subprocess
    import sys

    code = (
        "import sys, mobiledepth as md; assert 'torch' not in sys.modules; "
        "names = [n for n in md.__all__ if not callable(getattr(md, n))]; print(names)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_api_names_are_the_cli_names_with_real_signatures():
    """help(md.convert) shows the function, not a module: real parameters, a docstring, the CLI's names."""
    import inspect

    import mobiledepth as md
    from mobiledepth.cli import app

    commands = {c.name or c.callback.__name__ for c in app.registered_commands}
    for name in ("convert", "bench", "predict", "profile", "report", "prune"):
        assert name in commands and inspect.isfunction(getattr(md, name)), name
    assert "eval" in commands and inspect.isfunction(md.evaluate)
    assert list(inspect.signature(md.convert).parameters) == ["model", "out_dir", "options", "progress"]
    assert md.convert.__doc__.startswith("Convert a model to ONNX and TFLite files")
    for name in ("ConvertOptions", "BenchRequest", "Timing", "PhoneOptions", "EvalOptions", "Preprocess", "TaskMetric",
                 "BenchRecord", "ConvertReport", "InputSpec"):  # fmt: skip
        assert inspect.isclass(getattr(md, name)), name


def test_api_calls_reach_the_library(dynamic_nhwc, tmp_path):
    import numpy as np

    import mobiledepth as md
    from mobiledepth.runtime.predictors import Preprocess

    model = md.load(dynamic_nhwc, (32, 48), preprocess=Preprocess(pixel_scale=255.0))
    depth = model.predict(np.full((32, 48, 3), 0.5, np.float32))
    assert depth.shape == (32, 48)
    [record] = md.bench(md.BenchRequest((dynamic_nhwc,), timing=md.Timing(runs=3), size=(32, 48))).records
    assert record.record == "bench" and record.central_ms > 0
    [row] = md.report([record])
    assert row.model == "tiny_nhwc" and row.median_ms == record.central_ms


class TinyUNet(torch.nn.Module):
    """A custom depth network unlike ours: ImageNet normalisation expected OUTSIDE the graph, a skip
    connection, and a tuple output (depth first, features second)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.down = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, stride=2, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(8, 16, 3, padding=1),
            torch.nn.ReLU(),
        )
        self.up = torch.nn.Sequential(
            torch.nn.Upsample(scale_factor=2, mode="bilinear"), torch.nn.Conv2d(16, 8, 3, padding=1), torch.nn.ReLU()
        )
        self.head = torch.nn.Conv2d(11, 1, 1)

    def forward(self, x):
        y = self.up(self.down(x))
        return self.head(torch.cat([y, x], 1)), y


IMAGENET = ["--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225"]


@pytest.fixture(scope="module")
def unet_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("unet")
    net, x = TinyUNet().eval(), torch.rand(1, 3, 64, 96)
    files = {
        "torchscript": folder / "unet_ts.pt",
        "export": folder / "unet.pt2",
        "onnx": folder / "unet_dyn.onnx",
        "state_dict": folder / "unet_state.pt",
    }
    torch.jit.save(torch.jit.trace(net, x), str(files["torchscript"]))
    torch.export.save(torch.export.export(net, (x,)), str(files["export"]))
    torch.onnx.export(
        net,
        (x,),
        str(files["onnx"]),
        input_names=["input"],
        output_names=["depth", "features"],
        dynamic_axes={"input": {0: "n", 2: "h", 3: "w"}},
        dynamo=False,
    )
    torch.save(net.state_dict(), files["state_dict"])
    return files


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["torchscript", "export", "onnx"])
def test_convert_foreign_model_files(kind, unet_files, synth_dir, tmp_path):
    precisions = "fp32,int8" if kind == "onnx" else "fp32"
    out = tmp_path / "out"
    args = ["convert", str(unet_files[kind]), "--precision", precisions, "--size", "64x96", "-o", str(out), "--calib",
            str(synth_dir), "--parity-data", str(synth_dir), *IMAGENET]  # fmt: skip
    # Two outputs, the second 8 feature channels: the depth task judges maps, so it names them before writing
    refused = runner.invoke(app, args)
    names = "0: depth [1, 64, 96], 1: features [8, 64, 96]" if kind == "onnx" else (
        "0: output_0 [1, 64, 96], 1: output_1 [8, 64, 96]")  # fmt: skip
    second = "features" if kind == "onnx" else "output_1"
    assert refused.exit_code == 1 and refused.output.strip() == (
        f"error: {unet_files[kind]}: output {second} has shape [8, 64, 96], not one map, and the depth task judges "
        f"maps; choose single-map outputs with --output NAME|INDEX ({names}) or use --task generic"
    )
    assert not out.exists() or not any(out.iterdir())  # nothing written
    result = runner.invoke(app, [*args, "--outputs", "0"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "convert_report.json").read_text())
    assert report["source"]["kind"] == kind
    assert report["input"]["preprocess"] == {
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
        "pixel_scale": 1.0,
    }
    fp32 = next(f for f in report["files"] if f["precision"] == "fp32" and f["format"] == "tflite")
    parity = fp32["parity"]["outputs"][0]  # parity against the source, preprocessing applied
    assert parity["rel_l2"] < 1e-4 and parity["max_abs_over_range"] < 1e-4 and fp32["status"] == "ok"
    assert fp32["input"]["mean"] == [0.485, 0.456, 0.406]  # the contract says what the file takes
    if kind == "onnx":
        int8 = next(f for f in report["files"] if f["precision"] == "int8")
        assert int8["parity"]["outputs"][0]["rel_l2"] < 0.1
        from mobiledepth.runtime.predictors import load_predictor

        tfl = load_predictor(int8["path"])
        assert tfl.input_hw == (64, 96)  # one input, one output (the depth map: the features output was left out)
        assert len(tfl.interpreter.get_output_details()) == 1


@pytest.mark.slow
def test_convert_nn_module_through_the_python_api(synth_dir, tmp_path):
    import mobiledepth as md
    from mobiledepth.runtime.predictors import Preprocess

    options = md.ConvertOptions(
        precisions=("fp32",),
        size=(64, 96),
        calib=synth_dir,
        parity_data=synth_dir,
        preprocess=Preprocess(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),
        outputs=("0",),
    )
    report = md.convert(TinyUNet(), tmp_path / "out", options)
    assert report.source.kind == "module" and report.source.params == sum(p.numel() for p in TinyUNet().parameters())
    assert [f.parity.outputs[0].rel_l2 < 1e-4 for f in report.files] == [True, True]
    assert (tmp_path / "out" / "tinyunet_64x96_fp32.tflite").is_file()


def test_convert_refuses_what_it_cannot_read_in_one_line(unet_files, tmp_path):
    state = unet_files["state_dict"]
    result = runner.invoke(app, ["convert", str(state), "-o", str(tmp_path / "o")])
    assert result.exit_code == 1 and result.output.strip() == (
        f"error: {state}: a PyTorch file but not a mobiledepth checkpoint (a state dict or pickled module needs its "
        "Python "
        "class): load it in Python and call mobiledepth.convert(module, out_dir, ConvertOptions(size=(H, W))), "
        "or save "
        "it as TorchScript, torch.export (.pt2) or ONNX"
    )
    junk = tmp_path / "weights.bin"
    junk.write_bytes(b"\x00\x01garbage")
    result = runner.invoke(app, ["convert", str(junk), "-o", str(tmp_path / "o")])
    assert result.exit_code == 1 and result.output.strip().startswith(
        f"error: {junk}: not a model this tool reads (neither a zip archive nor ONNX; starts b'\\x00\\x01garbage'); "
        "accepted:"
    )


class SkipNet(torch.nn.Module):
    """Two convolutions joined by a concatenation and a residual add: channels coupled across layers."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.a = torch.nn.Conv2d(3, 16, 3, padding=1)
        self.b = torch.nn.Conv2d(16, 16, 3, padding=1)
        self.c = torch.nn.Conv2d(32, 8, 3, padding=1)
        self.head = torch.nn.Conv2d(8, 1, 1)

    def forward(self, x):
        a = torch.relu(self.a(x))
        b = torch.relu(self.b(a)) + a
        return self.head(torch.relu(self.c(torch.cat([a, b], 1))))


def test_dependency_graph_groups_and_coupled_pruning():
    from mobiledepth.pruning.channels import conv_groups, pruned_copy

    net, x = SkipNet().eval(), torch.zeros(1, 3, 32, 48)
    groups = dict(conv_groups(net, x))
    assert groups == {"a": 16, "b": 16, "c": 8}  # the 1-channel head is never a group
    smaller = pruned_copy(net, x, "a", 4)
    # a's 4 channels leave a, b's input, b's output (the residual add couples them) and both halves of c's input
    assert (smaller.a.out_channels, smaller.b.in_channels, smaller.b.out_channels, smaller.c.in_channels) == (
        12,
        12,
        12,
        24,
    )
    assert smaller(x).shape == (1, 1, 32, 48) and net.a.out_channels == 16  # the original is untouched


class TwoHeads(torch.nn.Module):
    """A small fully convolutional network with two outputs: a 4-class map and a 1-channel map."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = torch.nn.Sequential(torch.nn.Conv2d(3, 32, 3, padding=1), torch.nn.ReLU(),
                                        torch.nn.Conv2d(32, 32, 3, padding=1), torch.nn.ReLU())  # fmt: skip
        self.classes = torch.nn.Conv2d(32, 4, 1)
        self.score = torch.nn.Conv2d(32, 1, 1)

    def forward(self, x):
        y = self.body(x)
        return self.classes(y), torch.sigmoid(self.score(y))


def test_output_layers_of_any_module_are_never_pruned():
    """Torch-Pruning would cut a classification conv's channels like any other (4 -> 3 classes): the layers
    that produce an output are found by trying and frozen; a typo in freeze is one line."""
    from mobiledepth.pruning.channels import GraphChannels

    net, x = TwoHeads().eval(), torch.zeros(1, 3, 32, 32)
    source = GraphChannels(x)
    assert {g.name for g in source.groups(net)} == {"body.0", "body.2", "classes"}
    assert source.frozen(net, (), "TwoHeads") == {"classes"}  # score (1 channel) is never a group
    assert source.frozen(net, ("body.0",), "TwoHeads") == {"classes", "body.0"}
    with pytest.raises(MobileDepthError) as err:
        source.frozen(net, ("body.9",), "TwoHeads")
    assert str(err.value) == "freeze 'body.9': no such module in TwoHeads; prunable convs: body.0, body.2, classes"


@pytest.mark.slow
def test_prune_any_module_reaches_a_paired_target(tmp_path):
    """The same NetAdapt engine as `mobiledepth prune`, on a module: Torch-Pruning's groups, the caller's
    train_step and score, ONNX Runtime timing on this host; the typed history it writes."""
    import mobiledepth as md

    net, x = SkipNet().eval(), torch.zeros(1, 3, 64, 96)
    probe = torch.rand(4, 3, 64, 96, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        reference = net(probe)

    def evaluate(model):  # distance to the unpruned output: lower is better
        return float((model(probe) - reference).abs().mean())

    options = md.PruneOptions(target_ratio=0.85, initial_ratio=0.3, max_iterations=3, short_steps=0, long_steps=0,
                              max_proposals=3, rounds=8, confirmations=1)  # fmt: skip
    result = md.prune(net, options, tmp_path / "run", x, lambda model: None, evaluate, log=lambda m: None)
    history = result.history
    assert history.iterations and all(it.verification.step.high < 1.0 for it in history.iterations)
    assert history.base.params > history.iterations[-1].params and history.base.whdr == 0.0
    assert history.status in ("reached", "not confirmed", "unreachable")
    if history.status == "reached":
        assert history.confirmation.ratio.high <= 0.85
    saved = json.loads((tmp_path / "run" / "history.json").read_text())
    assert saved["iterations"][0]["group"] in ("a", "b", "c") and saved["measurer"]["runtime"] == "onnxruntime"
    assert result.model(x).shape == (1, 1, 64, 96) and "head" not in {it.group for it in history.iterations}


@pytest.mark.parametrize("kind", ["torchscript", "export"])
def test_foreign_torch_files_bench_and_evaluate(kind, unet_files, synth_dir, tmp_path):
    """TorchScript and torch.export files run directly (PyTorch) in bench, eval and predict, preprocessing declared."""
    path = str(unet_files[kind])
    bench = runner.invoke(app, ["bench", path, "--size", "64x96", "--runs", "3", "--json", str(tmp_path / "b.json")])
    assert bench.exit_code == 0, bench.output
    rec = json.loads((tmp_path / "b.json").read_text())
    assert rec["delegate"] == "pytorch-cpu" and rec["model"]["params"] == sum(
        p.numel() for p in TinyUNet().parameters()
    )
    ev = runner.invoke(app, ["eval", path, "--data", str(synth_dir), "--size", "64x96", *IMAGENET,
                             "--json", str(tmp_path / "e.json")])  # fmt: skip
    assert ev.exit_code == 0, ev.output
    assert 0.0 <= json.loads((tmp_path / "e.json").read_text())["whdr"] <= 1.0
    from mobiledepth.runtime.predictors import Preprocess, load_predictor

    pre = Preprocess(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    image = np.random.default_rng(0).random((64, 96, 3), dtype=np.float32)
    expected = TinyUNet().eval()(torch.from_numpy(pre.apply(image[None]).transpose(0, 3, 1, 2).copy()))[0]
    got = load_predictor(path, (64, 96), pre).predict(image)
    assert np.allclose(got, expected[0, 0].detach().numpy(), atol=1e-5)


def test_tflite_with_dynamic_dims_is_sized_by_size(tmp_path):
    """A TFLite file whose input is [1, -1, -1, 3] (written by TensorFlow's own converter) runs at --size."""
    import tensorflow as tf

    kernel = tf.constant(np.random.default_rng(0).normal(size=(3, 3, 3, 1)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32)])
    def depth(x):
        return tf.nn.conv2d(x, kernel, strides=1, padding="SAME")

    converter = tf.lite.TFLiteConverter.from_concrete_functions([depth.get_concrete_function()], depth)
    path = tmp_path / "dynamic.tflite"
    path.write_bytes(converter.convert())
    from mobiledepth.runtime.predictors import load_predictor

    predictor = load_predictor(path, (48, 80))
    assert predictor.input_hw == (48, 80) and predictor.predict(np.zeros((48, 80, 3), np.float32)).shape == (48, 80)
    result = runner.invoke(
        app, ["bench", str(path), "--size", "64x96", "--runs", "3", "--json", str(tmp_path / "b.json")]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "b.json").read_text())["latency_ms"]["median"] > 0


@pytest.mark.slow
@pytest.mark.long(37)
def test_netadapt_on_two_ray_workers_gives_the_serial_history(tmp_path):
    """--workers 2: an iteration's proposals fine-tuned and scored as Ray tasks (one thread each) give the
    serial run's scores, so the same choices; latency verification stays serial in the driver."""
    import mobiledepth as md

    x = torch.zeros(1, 3, 64, 96)
    probe = torch.rand(4, 3, 64, 96, generator=torch.Generator().manual_seed(1))

    def run(workers: int):
        net = SkipNet().eval()
        with torch.no_grad():
            reference = net(probe)

        def step(model):  # one SGD step towards the unpruned output: fine-tuning that changes the scores
            loss = (model(probe) - reference).pow(2).mean()
            model.zero_grad()
            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= 1e-2 * p.grad

        options = md.PruneOptions(target_ratio=0.85, initial_ratio=0.3, max_iterations=1, short_steps=3,
                                  long_steps=0, max_proposals=3, rounds=8, confirmations=1, workers=workers,
                                  worker_threads=1)  # fmt: skip
        evaluate = lambda model: float((model(probe) - reference).abs().mean())  # noqa: E731
        return md.prune(net, options, tmp_path / f"w{workers}", x, step, evaluate, log=lambda m: None).history

    serial, parallel = run(1), run(2)
    assert serial.iterations and parallel.iterations
    first, second = serial.iterations[0], parallel.iterations[0]
    scores = lambda it: [(p.group, p.width_to, round(p.whdr, 6)) for p in it.proposals]  # noqa: E731
    assert scores(first) == scores(second) and len(first.proposals) >= 2
    # the same ranking, so the same choice: the best-ranked candidate the paired verification did not reject (a
    # rejection is a latency measurement, which this shared 2-core host may swing; the scores may not differ)
    for it in (first, second):
        rejected = {(r.group, r.width_to) for r in it.rejected}
        ranked = sorted(it.proposals, key=lambda p: p.score)
        best = next(p for p in ranked if (p.group, p.width_to) not in rejected)
        assert (it.group, it.width_to) == (best.group, best.width_to)
    if not first.rejected and not second.rejected:
        assert (first.group, first.width_to, first.whdr) == (second.group, second.width_to, second.whdr)
    assert parallel.options.workers == 2
