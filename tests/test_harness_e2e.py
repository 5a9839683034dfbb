"""android_bench end to end: Debian's real adb server, emulated phones speaking the ADB protocol,
and the `mobiledepth bench --device ...` / `mobiledepth devices` commands."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from android_bench import adb
from android_bench.devices import DeviceInfo, load_registry, resolve
from android_bench.errors import BenchError
from mobiledepth.cli import app
from phone_emulator import EmulatedPhone, galaxy_s10_plus, galaxy_s21
from phone_emulator.benchmark_tool import BINARY_MARKER

pytestmark = pytest.mark.slow
runner = CliRunner()
FAST = ["--runs", "5", "--warmup", "1", "--warmup-seconds", "0.05", "--min-seconds", "0.05"]


@pytest.fixture(scope="module")
def adb_port():
    assert shutil.which("adb"), "Debian's adb must be installed (make setup does it)"
    port = adb.free_local_port()
    adb.start_server(port)
    yield port
    adb.kill_server(port)


def attach(port: int, phone: EmulatedPhone) -> EmulatedPhone:
    adb.connect(adb.client(port=port, start=False), phone.serial)
    for _ in range(50):  # wait until the server has completed the CNXN handshake
        states = {e.serial: e.state for e in adb.client(port=port, start=False).list()}
        if states.get(phone.serial) == "device":
            return phone
        time.sleep(0.1)
    raise AssertionError(f"{phone.serial} never became 'device': {states}")


def cool_profile(profile):
    profile.heat_c_per_s, profile.cool_tau_s = 0.05, 1.0
    return profile


@pytest.fixture(scope="module")
def phones(adb_port):
    s21 = attach(adb_port, EmulatedPhone(cool_profile(galaxy_s21())).start())  # GPU/NNAPI: the real tool's failure path
    s10 = attach(adb_port, EmulatedPhone(cool_profile(galaxy_s10_plus(gpu="full", nnapi="partial"))).start())
    yield {"S21": s21, "S10+": s10}
    s21.stop()
    s10.stop()


@pytest.fixture(autouse=True)
def _reset_faults(request):
    yield
    if "phones" in request.fixturenames:
        for phone in request.getfixturevalue("phones").values():
            phone.profile.faults.__init__()


@pytest.fixture(scope="module")
def binary(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bin") / "benchmark_model"
    path.write_bytes(BINARY_MARKER + b"\n")
    return path


def bench(args, adb_port, binary, json_path=None):
    cmd = ["bench", *map(str, args), "--adb-port", str(adb_port), "--benchmark-binary", str(binary), *FAST]
    if json_path:
        cmd += ["--json", str(json_path)]
    return runner.invoke(app, cmd)


def test_devices_lists_connected_phones(adb_port, phones):
    result = runner.invoke(app, ["devices", "--adb-port", str(adb_port)])
    assert result.exit_code == 0, result.output
    for text in ("SM-G991B", "Exynos 2100", "14 (SDK 34)", "arm64-v8a", "SM-G975F", "Exynos 9820", "S10+"):
        assert text in result.output


def test_cpu_run_end_to_end_and_report_beside_host(adb_port, phones, binary, small_converted, tmp_path):
    out, _ = small_converted
    model = out / "small_64x96_int8.tflite"
    result = bench(
        [model, "--device", "S21", "--delegate", "cpu", "--affinity", "f0", "--op-profiling"],
        adb_port,
        binary,
        tmp_path / "phone.json",
    )
    assert result.exit_code == 0, result.output
    [rec] = json.loads((tmp_path / "phone.json").read_text())
    assert rec["device"] == {
        "name": "S21",
        "serial": phones["S21"].serial,
        "model": "SM-G991B",
        "manufacturer": "samsung",
        "soc": "Exynos 2100",
        "os": "Android 14 (SDK 34)",
        "abi": "arm64-v8a",
        "cores": None,
        "emulated": True,  # the emulated phone says so (ro.kernel.qemu=1), as Android's emulator does
    }
    phone = rec["phone"]
    assert (rec["status"], rec["delegate"], phone["options"]["affinity"], rec["timing"]["threads"]) == (
        "ok", "cpu", "f0", 4)  # fmt: skip
    assert rec["model"]["precision"] == "int8" and rec["model"]["params"] > 0  # completed from convert_report.json
    lat = rec["latency_ms"]
    assert (
        lat["count"] >= 5
        and lat["min"] <= lat["median"] <= lat["max"]
        and rec["fps"] == pytest.approx(1000 / lat["median"])
    )
    assert rec["init_ms"] > 0 and rec["memory"]["overall_mb"] is not None
    assert {o["node_type"] for o in phone["op_profile"]} >= {"CONV_2D", "DEPTHWISE_CONV_2D"}
    before, after = phone["repeats"][0]["temperature_before"], phone["repeats"][-1]["temperature_after"]
    assert 20 < before["max_c"] < 60 and "battery" in after["zones"]
    # push once: the binary's md5 now matches on the device, so a second run does not push it
    again = bench([model, "--device", "S21"], adb_port, binary, tmp_path / "again.json")
    assert again.exit_code == 0, again.output
    assert json.loads((tmp_path / "again.json").read_text())[0]["phone"]["binary"]["pushed"] is False
    # phone and host rows side by side
    host = runner.invoke(app, ["bench", str(model), "--runs", "3", "--json", str(tmp_path / "host.json")])
    assert host.exit_code == 0, host.output
    rep = runner.invoke(
        app,
        ["report", str(tmp_path / "phone.json"), str(tmp_path / "host.json"), "--json", str(tmp_path / "rows.json")],
    )
    assert rep.exit_code == 0, rep.output
    rows = json.loads((tmp_path / "rows.json").read_text())
    assert {r["device"] for r in rows} == {"host", "S21 (SM-G991B) (emulated)"} and {r["delegate"] for r in rows} == {
        "cpu",
        "xnnpack",
    }


def test_profile_on_phone_gives_per_layer_table(adb_port, phones, binary, small_converted, tmp_path):
    """`mobiledepth profile --device` over the real adb server: the Run Order rows become layers."""
    model = small_converted[0] / "small_64x96_int8.tflite"
    result = runner.invoke(
        app,
        [
            "profile",
            str(model),
            "--device",
            "S21",
            "--no-xnnpack",
            "--runs",
            "5",
            "--adb-port",
            str(adb_port),
            "--benchmark-binary",
            str(binary),
            "--json",
            str(tmp_path / "p.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    [prof] = json.loads((tmp_path / "p.json").read_text())
    assert prof["record"] == "profile" and prof["device"] == "S21 (SM-G991B) (emulated)"
    assert prof["runtime"] == "benchmark_model (cpu)"
    ops = {layer["op"] for layer in prof["layers"]}
    assert {"CONV_2D", "DEPTHWISE_CONV_2D"} <= ops
    total = sum(layer["ms"] for layer in prof["layers"])
    # The emulated tool splits its measured average over the nodes, as the real profiler reports averages:
    # the layers add up to the runs' mean (rounding of the printed 3 decimals only).
    assert total == pytest.approx(prof["end_to_end_ms"], rel=0.01)
    assert any(layer["module"] for layer in prof["layers"])  # tensor names keep the exported module path


def test_phone_without_shell_v2_runs_over_the_legacy_shell(adb_port, binary, small_converted, tmp_path):
    """An adbd that refuses 'shell,v2:' (before Android 7): properties, push checks and the run itself go
    over the raw shell, the exit status read from an echoed marker; a failing run still fails."""
    profile = cool_profile(galaxy_s21())
    profile.shell_v2 = False  # a Nexus 5 on Android 6: adbd without shell v2, and a model no alias matches
    profile.props.update(
        {"ro.product.model": "Nexus 5", "ro.build.version.release": "6.0.1", "ro.build.version.sdk": "23"}
    )
    phone = attach(adb_port, EmulatedPhone(profile).start())
    try:
        listed = runner.invoke(app, ["devices", "--adb-port", str(adb_port)])
        assert listed.exit_code == 0 and phone.serial in listed.output and "Nexus 5" in listed.output
        model = small_converted[0] / "small_64x96_int8.tflite"
        result = bench([model, "--device", phone.serial], adb_port, binary, tmp_path / "legacy.json")
        assert result.exit_code == 0, result.output
        [rec] = json.loads((tmp_path / "legacy.json").read_text())
        assert rec["device"]["model"] == "Nexus 5" and rec["device"]["os"] == "Android 6.0.1 (SDK 23)"
        assert rec["latency_ms"]["median"] > 0
        corrupt = tmp_path / "corrupt.tflite"
        corrupt.write_bytes(b"not a flatbuffer")
        bad = bench([corrupt, "--device", phone.serial], adb_port, binary)
        assert bad.exit_code == 1 and "benchmark_model failed on corrupt.tflite (exit 1)" in bad.output
    finally:
        phone.stop()
        subprocess.run(
            [adb.adb_path(), "-P", str(adb_port), "disconnect", phone.serial], capture_output=True, timeout=30
        )


def test_paired_on_a_phone_alternates_files_and_reports_ratios(adb_port, phones, binary, small_converted, tmp_path):
    out = small_converted[0]
    files = [out / "small_64x96_fp32.tflite", out / "small_64x96_int8.tflite"]
    result = bench(
        [*files, "--device", "S10+", "--paired", "--rounds", "3"], adb_port, binary, tmp_path / "paired.json"
    )
    assert result.exit_code == 0, result.output
    fp32, int8 = json.loads((tmp_path / "paired.json").read_text())
    assert fp32["paired"]["baseline"] == str(files[0]) and fp32["paired"]["ratio_to_baseline"] is None
    assert len(int8["paired"]["round_medians_ms"]) == 3 and int8["device"]["name"] == "S10+"
    r = int8["paired"]["ratio_to_baseline"]
    assert r["low"] <= r["median"] <= r["high"] and r["median"] == pytest.approx(
        sorted(b / a for a, b in zip(fp32["paired"]["round_medians_ms"], int8["paired"]["round_medians_ms"]))[1]
    )
    assert int8["latency_ms"]["median"] == pytest.approx(sorted(int8["paired"]["round_medians_ms"])[1])
    # the runs alternated, order flipped every round: fp32 int8 | int8 fp32 | fp32 int8
    ran = [c for c in phones["S10+"].state.history if "--graph=" in c]
    graphs = [c.split("--graph=")[1].split()[0] for c in ran][-6:]
    assert [g.endswith("fp32.tflite") for g in graphs] == [True, False, False, True, True, False]
    # the report states the comparison: the baseline row and the other file's ratio with its interval
    from mobiledepth.records import load_records
    from mobiledepth.reporting.table import build_rows

    base_row, int8_row = build_rows(load_records([tmp_path / "paired.json"]))
    assert base_row.note == "untrained, emulated phone, paired baseline (3 rounds)" and base_row.paired_ratio is None
    assert (int8_row.paired_ratio, int8_row.paired_low, int8_row.paired_high) == (r["median"], r["low"], r["high"])
    assert int8_row.note == (  # the test model is untrained: the report says so first
        f"untrained, emulated phone, paired: {r['median']:.3f}x small_64x96_fp32.tflite "
        f"[{r['low']:.3f}-{r['high']:.3f}], 3 rounds"
    )


def test_gpu_on_phone_without_gpu_is_a_clear_delegate_failure(adb_port, phones, binary, small_converted, tmp_path):
    model = small_converted[0] / "small_64x96_fp16.tflite"
    result = bench([model, "--device", "S21", "--delegate", "gpu"], adb_port, binary, tmp_path / "gpu.json")
    assert result.exit_code == 1
    assert (
        "GPU delegate NOT applied" in result.output
        and "GPU acceleration is unsupported on this platform" in result.output
    )
    [rec] = json.loads((tmp_path / "gpu.json").read_text())
    assert rec["status"] == "delegate-not-applied" and rec["phone"]["delegation"]["applied"] is False
    rep = runner.invoke(app, ["report", str(tmp_path / "gpu.json"), "--json", str(tmp_path / "rows.json")])
    assert rep.exit_code == 0, rep.output
    assert json.loads((tmp_path / "rows.json").read_text())[0]["note"].endswith("delegate NOT applied (CPU timings)")


def test_gpu_and_nnapi_on_a_phone_that_has_them(adb_port, phones, binary, small_converted, tmp_path):
    model = small_converted[0] / "small_64x96_fp16.tflite"
    result = bench(
        [model, "--device", "S10+", "--delegate", "gpu", "--gpu-fp32"], adb_port, binary, tmp_path / "g.json"
    )
    assert result.exit_code == 0, result.output
    [rec] = json.loads((tmp_path / "g.json").read_text())
    d = rec["phone"]["delegation"]
    assert (rec["status"], d["applied"], d["mode"], d["coverage"]) == ("ok", True, "full", 1.0)
    assert d["delegated_nodes"] == d["total_nodes"] > 20 and rec["phone"]["options"]["gpu_precision_loss"] is False
    partial = bench([model, "--device", "S10+", "--delegate", "nnapi"], adb_port, binary, tmp_path / "n.json")
    assert partial.exit_code == 0 and "NNAPI delegate took" in partial.output
    assert json.loads((tmp_path / "n.json").read_text())[0]["status"] == "delegate-partial"
    strict = bench([model, "--device", "S10+", "--delegate", "nnapi", "--require-full-delegation"], adb_port, binary)
    assert strict.exit_code == 1 and "Disallowed CPU fallback detected" in strict.output


def test_hostile_model_names_are_quoted(adb_port, phones, binary, small_converted, tmp_path):
    phone = phones["S21"]
    canary = phone.root / "data" / "local" / "tmp" / "canary"
    canary.write_text("still here")
    for name in ("a b;rm -rf x.tflite", "x;rm -rf data;y.tflite", "$(rm -rf data)'q.tflite"):
        model = tmp_path / name
        shutil.copy(small_converted[0] / "small_64x96_int8.tflite", model)
        result = bench([model, "--device", "S21"], adb_port, binary, tmp_path / "h.json")
        assert result.exit_code == 0, result.output
    assert canary.read_text() == "still here"
    pushed = sorted(p.name for p in (phone.root / "data/local/tmp/mobiledepth/models").iterdir())
    assert any(p.endswith("-a b;rm -rf x.tflite") for p in pushed)


def test_thermal_guard_waits_for_cool_down(adb_port, phones, binary, small_converted, tmp_path):
    phone = phones["S21"]
    phone.thermal.set(46.0)  # cool_tau 1 s: below 40 °C after about 2.2 s
    result = bench(
        [small_converted[0] / "small_64x96_int8.tflite", "--device", "S21", "--max-temp", "40"],
        adb_port,
        binary,
        tmp_path / "t.json",
    )
    assert result.exit_code == 0, result.output
    rep = json.loads((tmp_path / "t.json").read_text())[0]["phone"]["repeats"][0]
    assert rep["waited_to_cool_s"] > 1.0 and rep["temperature_before"]["max_c"] < 40 and rep["thermal_timeout"] is False


def test_faults_give_clear_errors_and_keep_measured_results(adb_port, phones, binary, small_converted, tmp_path):
    good = small_converted[0] / "small_64x96_int8.tflite"
    corrupt = tmp_path / "corrupt.tflite"
    corrupt.write_bytes(good.read_bytes()[:2000])
    result = bench([good, corrupt, "--device", "S21"], adb_port, binary, tmp_path / "keep.json")
    assert result.exit_code == 1
    assert (
        "benchmark_model failed on corrupt.tflite (exit 1): The model is not a valid Flatbuffer buffer" in result.output
    )
    assert [Path(r["model"]["path"]).name for r in json.loads((tmp_path / "keep.json").read_text())] == [
        "small_64x96_int8.tflite"
    ]

    phones["S21"].profile.faults.crash_benchmark = True
    crash = bench([good, "--device", "S21"], adb_port, binary)
    assert (
        crash.exit_code == 1
        and "benchmark_model crashed (SIGSEGV, exit 139) running small_64x96_int8.tflite" in crash.output
    )
    phones["S21"].profile.faults.crash_benchmark = False

    phones["S21"].profile.faults.hang_benchmark_s = 60
    import threading

    someone_else = threading.Event()  # another user's benchmark_model on a shared lab phone
    with phones["S21"].state.lock:
        phones["S21"].state.running[99] = (
            "/data/local/tmp/theirs/benchmark_model --graph=/data/local/tmp/theirs/m.tflite",
            someone_else,
        )
    t0 = time.monotonic()
    hang = bench([good, "--device", "S21", "--run-timeout", "3"], adb_port, binary)
    assert hang.exit_code == 1 and "run exceeded its timeout of 3 s and was killed" in hang.output
    assert time.monotonic() - t0 < 30
    time.sleep(0.5)
    # pkill -f matched our run's --benchmark_name only: ours is gone, theirs still runs
    assert list(phones["S21"].state.running) == [99] and not someone_else.is_set()
    with phones["S21"].state.lock:
        phones["S21"].state.running.pop(99)


def test_several_phones_in_parallel_one_failing(adb_port, phones, binary, small_converted, tmp_path):
    phones["S10+"].profile.faults.crash_benchmark = True
    model = small_converted[0] / "small_64x96_int8.tflite"
    result = bench([model, "--device", "S21,S10+"], adb_port, binary, tmp_path / "multi.json")
    assert result.exit_code == 1 and f"{phones['S10+'].serial}: benchmark_model crashed" in result.output
    assert [r["device"]["name"] for r in json.loads((tmp_path / "multi.json").read_text())] == ["S21"]
    phones["S10+"].profile.faults.crash_benchmark = False
    both = bench([model, "--device", "all"], adb_port, binary, tmp_path / "all.json")
    assert both.exit_code == 0, both.output
    assert sorted(r["device"]["model"] for r in json.loads((tmp_path / "all.json").read_text())) == [
        "SM-G975F",
        "SM-G991B",
    ]


def test_disconnect_mid_run(adb_port, binary, small_converted):
    phone = attach(adb_port, EmulatedPhone(cool_profile(galaxy_s21())).start())
    try:
        phone.profile.faults.disconnect_during_benchmark = True
        result = bench([small_converted[0] / "small_64x96_int8.tflite", "--device", phone.serial], adb_port, binary)
        assert result.exit_code == 1 and f"{phone.serial}: connection lost during the run" in result.output
    finally:
        phone.stop()
        subprocess.run(["adb", "-P", str(adb_port), "disconnect", phone.serial], capture_output=True)


def test_device_resolution_errors():
    registry = load_registry()
    s21 = DeviceInfo("R5CR1", "device", model="SM-G991B")
    s21b = DeviceInfo("R5CR2", "device", model="SM-G991U")
    pixel = DeviceInfo("3A1", "device", model="Pixel 8")
    unauthorized = DeviceInfo("X99", "unauthorized")
    offline = DeviceInfo("10.0.0.9:5555", "offline")
    assert [d.serial for d in resolve("S21", [s21, pixel], registry)] == ["R5CR1"]
    assert [d.serial for d in resolve("3A1,S21", [s21, pixel], registry)] == ["3A1", "R5CR1"]
    with pytest.raises(
        BenchError,
        match=(
            r"--device S21: 2 matching devices; pick one by serial; connected: R5CR1 \(SM-G991B\), R5CR2 "
            r"\(SM-G991U\)"
        ),
    ):
        resolve("S21", [s21, s21b], registry)
    with pytest.raises(
        BenchError,
        match=(
            r"--device S10\+: no connected Samsung Galaxy S10\+ .* \(1 device\(s\) offline or unauthorized\); "
            r"connected: R5CR1 \(SM-G991B\), X99 \(unauthorized\)"
        ),
    ):
        resolve("S10+", [s21, unauthorized], registry)
    with pytest.raises(
        BenchError, match=r"--device X99: device is unauthorized \(accept the USB debugging prompt on the phone\)"
    ):
        resolve("X99", [unauthorized], registry)
    with pytest.raises(BenchError, match=r"--device 10\.0\.0\.9:5555: device is offline"):
        resolve("10.0.0.9:5555", [offline], registry)
    with pytest.raises(BenchError, match=r"--device Nokia3310: neither a connected serial nor a known alias"):
        resolve("Nokia3310", [s21], registry)
    with pytest.raises(BenchError, match="--device all: no usable device; connected: X99 \\(unauthorized\\)"):
        resolve("all", [unauthorized], registry)


def test_user_registry_extends_aliases(tmp_path):
    extra = tmp_path / "lab.json"
    extra.write_text(json.dumps({"MyBoard": {"name": "Lab board", "models": ["RK3588-EVB"]}}))
    registry = load_registry(extra)
    assert (
        "S21" in registry
        and resolve("MyBoard", [DeviceInfo("b1", "device", model="RK3588-EVB")], registry)[0].serial == "b1"
    )
    extra.write_text(json.dumps({"Bad": {"name": "no models"}}))
    with pytest.raises(BenchError, match="entry 'Bad' needs a 'models' list"):
        load_registry(extra)
