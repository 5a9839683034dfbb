"""The device lab on real parts: a real Ray cluster (``ray.cluster_utils.Cluster``: several raylets in one test
process), Debian's real adb servers on private ports, and emulated phones speaking the ADB wire protocol on
ports outside adb's emulator scan range (5555-5585). Emulated phones take a fixed time per inference (a
sleep), so several of them run side by side on this 2-core machine as real phones would."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from android_bench import adb
from android_bench.timing import Timing
from mobiledepth.cli import app
from mobiledepth.errors import MobileDepthError
from mobiledepth.lab.fleet import load_fleet, parse_fleet
from mobiledepth.lab.plan import SweepRequest, describe_files, plan_jobs
from mobiledepth.lab.progress import SweepProgress
from mobiledepth.lab.store import ResultsStore
from mobiledepth.records.lab import JobKey
from phone_emulator import EmulatedPhone, galaxy_s10_plus, galaxy_s21
from phone_emulator.benchmark_tool import BINARY_MARKER

runner = CliRunner()
QUICK = Timing(warmup_runs=1, warmup_seconds=0.01, runs=5, min_seconds=0.01)


def fleet_text(hosts: list[tuple[str, int, list[tuple[str, str]]]]) -> str:
    out = []
    for name, port, phones in hosts:
        out += ["[[host]]", f'name = "{name}"', f'adb = "127.0.0.1:{port}"']
        for serial, alias in phones:
            out += ["[[host.phone]]", f'serial = "{serial}"', f'alias = "{alias}"']
    return "\n".join(out) + "\n"


# ---- the fleet file and the plan (no cluster) ----------------------------------------------------------------
def test_fleet_file_errors_are_one_line_with_the_closest_name(tmp_path):
    good = {"host": [{"name": "a", "adb": "127.0.0.1:5037", "phone": [{"serial": "X1", "alias": "S21"}]}]}
    fleet = parse_fleet(good, "f.toml")
    assert fleet.hosts[0].resources == {"mobiledepth-host:a": 1.0, "phone:X1": 1.0}
    assert fleet.select("S21") == fleet.select("X1") == fleet.phones()
    cases = [
        ({"hosts": []}, r"^f\.toml: unknown table 'hosts' \(did you mean 'host'\?\)$"),
        (
            {"host": [{"name": "a", "phones": []}]},
            r"^f\.toml: host 1: unknown key 'phones' \(did you mean 'phone'\?\)$",
        ),
        ({"host": [{"name": "a", "adb": "x:y", "phone": [{"serial": "X"}]}]}, r"^f\.toml: host 1: adb server 'x:y'"),
        ({"host": [{"name": "a", "phone": [{"serial": "X"}, {"serial": "X"}]}]}, r"phone serial 'X' appears twice"),
        ({"host": [{"name": "a", "phone": [{"serial": "X\nY"}]}]}, r"control characters are not allowed"),
        ({"host": [{"name": "a"}]}, r"^f\.toml: the fleet holds no phone"),
    ]
    for data, pattern in cases:
        with pytest.raises(MobileDepthError, match=pattern):
            parse_fleet(data, "f.toml")
    with pytest.raises(MobileDepthError, match=r"^f\.toml: no phone 'S22' in the fleet \(phones: S21\)$"):
        fleet.select("S21,S22")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'[[host]]\nname = "\xff"\n')
    with pytest.raises(MobileDepthError, match=r"bad\.toml: not UTF-8 text"):
        load_fleet(bad)


def test_fleet_join_dry_run_prints_the_ray_start_line(tmp_path):
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(fleet_text([("lab-a", 15037, [("R5CR1", "S21"), ("127.0.0.1:6601", "emu")])]))
    result = runner.invoke(app, ["fleet", "join", str(fleet), "--host", "lab-a", "--port", "6380", "--dry-run"])
    assert result.exit_code == 0, result.output
    resources = '{"mobiledepth-host:lab-a": 1.0, "phone:127.0.0.1:6601": 1.0, "phone:R5CR1": 1.0}'
    assert result.output.strip().endswith(f"start --head --port 6380 --resources '{resources}'")
    joined = runner.invoke(app, ["fleet", "join", str(fleet), "--host", "lab-a", "--address", "10.0.0.2:6380",
                                 "--dry-run"])  # fmt: skip
    assert "start --address 10.0.0.2:6380 --resources" in joined.output
    wrong = runner.invoke(app, ["fleet", "join", str(fleet), "--host", "lab-z", "--dry-run"])
    assert wrong.exit_code == 1 and wrong.output.strip() == f"error: {fleet}: no host named 'lab-z' (hosts: lab-a)"


def test_plan_keys_the_matrix_by_content_phone_delegate_threads(tmp_path, small_converted):
    out, _ = small_converted
    fp32, int8 = out / "small_64x96_fp32.tflite", out / "small_64x96_int8.tflite"
    copy = tmp_path / "renamed.tflite"
    copy.write_bytes(fp32.read_bytes())
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(fleet_text([("a", 15037, [("P1", "one")]), ("b", 15038, [("P2", "two")])]))
    request = SweepRequest((fp32, int8), load_fleet(fleet), tmp_path / "res", delegates=("cpu", "gpu"), threads=(1, 4))
    jobs = plan_jobs(request, describe_files(request.files))
    assert len(jobs) == 2 * 2 * 2 * 2 and len({j.key for j in jobs}) == 16
    assert {j.key.precision for j in jobs} == {"fp32", "int8"}
    assert [j.files[0].path for j in jobs[:8]] == [fp32] * 8  # file by file: every phone's first file first
    renamed = plan_jobs(SweepRequest((copy,), load_fleet(fleet), tmp_path / "res"), describe_files((copy,)))
    assert renamed[0].key == JobKey(jobs[0].key.sha256, "P1", "cpu", 4, "fp32")  # same bytes, same job
    paired = plan_jobs(SweepRequest((fp32, int8), load_fleet(fleet), tmp_path / "res", paired=True),
                       describe_files((fp32, int8)))  # fmt: skip
    assert len(paired) == 2 and paired[0].key.paired and paired[0].key.precision == "fp32+int8"
    with pytest.raises(MobileDepthError, match=r"--delegate npu: choose from cpu, gpu, nnapi"):
        SweepRequest((fp32,), load_fleet(fleet), tmp_path / "res", delegates=("npu",))
    with pytest.raises(MobileDepthError, match=r"\.onnx: phones run \.tflite files"):
        SweepRequest((out / "mobiledepth-small_64x96.onnx",), load_fleet(fleet), tmp_path / "res")


# ---- real phones, real adb servers ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def binary(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bin") / "benchmark_model"
    path.write_bytes(BINARY_MARKER + b"\n")
    return path


def _attach(port: int, phone: EmulatedPhone) -> None:
    adb.connect(adb.client(port=port, start=False), phone.serial)
    for _ in range(50):
        if {e.serial: e.state for e in adb.client(port=port, start=False).list()}.get(phone.serial) == "device":
            return
        time.sleep(0.1)
    raise AssertionError(f"{phone.serial} never attached")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """Two adb servers (two lab hosts), two emulated phones on each: 40 ms per inference, cool-running."""
    assert shutil.which("adb"), "Debian's adb must be installed (make setup does it)"
    ports, phones = [adb.free_local_port(), adb.free_local_port()], []
    for i, port in enumerate(ports):
        adb.start_server(port)
        for make in (galaxy_s21, galaxy_s10_plus):
            phone = EmulatedPhone(make(fixed_latency_ms=40.0, heat_c_per_s=0.0)).start()
            _attach(port, phone)
            phones.append(phone)
    hosts = [(f"lab-{'ab'[i]}", port, [(p.serial, f"{p.profile.name}-{'ab'[i]}") for p in phones[2 * i : 2 * i + 2]])
             for i, port in enumerate(ports)]  # fmt: skip
    fleet = tmp_path_factory.mktemp("fleet") / "fleet.toml"
    fleet.write_text(fleet_text(hosts))
    yield fleet, phones
    for phone in phones:
        phone.stop()
    for port in ports:
        adb.kill_server(port)


def test_fleet_status_without_a_cluster_asks_each_adb_server(lab):
    fleet, phones = lab
    result = runner.invoke(app, ["fleet", "status", str(fleet)])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if "127.0.0.1:" in line]
    assert len(rows) == 4 and all("device" in r and "emulated" in r and "(no cluster)" in r for r in rows)
    assert sum("SM-G991B" in r and "14" in r for r in rows) == 2  # the S21s: model and Android version


def test_sweep_smoke_on_a_private_ray_then_a_rerun_runs_nothing(lab, binary, small_converted, tmp_path):
    """The embedded path: no cluster address, a private Ray holding every phone of the file; the results
    folder remembers, so the same command again runs nothing and reports every job."""
    fleet, _ = lab
    out, _ = small_converted
    fp32 = out / "small_64x96_fp32.tflite"
    args = ["bench", str(fp32), "--fleet", str(fleet), "--results", str(tmp_path / "res"), "--device", "S21-a,S10+-b",
            "--benchmark-binary", str(binary), "--runs", "5", "--warmup", "1", "--min-seconds", "0.01"]  # fmt: skip
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "2 job(s) run now, 0 done earlier, 0 failed" in first.output
    records = ResultsStore(tmp_path / "res").records()
    assert sorted(r.alias for r in records) == ["S10+-b", "S21-a"] and all(r.status == "done" for r in records)
    for r in records:
        (bench,) = r.results
        assert bench.device.name == r.alias and bench.device.emulated and bench.model.path == str(fp32)
        assert 39 < bench.central_ms < 80  # the emulated chip's 40 ms per inference
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "0 job(s) run now, 2 done earlier, 0 failed" in again.output
    assert sorted(p.name for p in (tmp_path / "res" / "jobs").iterdir()) == sorted(
        f"{r.key.name}.json" for r in records
    )


@pytest.fixture()
def cluster(lab):
    """A real two-node Ray cluster: each node holds one host's phones (the resources `fleet join` gives it)."""
    import ray
    from ray.cluster_utils import Cluster

    fleet = load_fleet(lab[0])
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "resources": fleet.hosts[0].resources})
    node_b = c.add_node(num_cpus=1, resources=fleet.hosts[1].resources)
    ray.init(address=c.address, log_to_driver=False)
    c.wait_for_nodes()
    yield c, node_b, fleet
    ray.shutdown()
    c.shutdown()


@pytest.mark.slow
@pytest.mark.long(27)
def test_node_killed_mid_sweep_then_rerun_completes_exactly_the_rest(lab, cluster, binary, small_converted, tmp_path):
    from rich.console import Console

    from mobiledepth.lab.sweep import run_sweep

    c, node_b, fleet = cluster
    out, _ = small_converted
    files = tuple(out / f"small_64x96_{p}.tflite" for p in ("fp32", "fp16", "int8"))
    slow = Timing(warmup_runs=1, warmup_seconds=0.01, runs=25, min_seconds=0.01)  # about 1 s per job
    request = SweepRequest(files, fleet, tmp_path / "res", timing=slow, binary=binary)
    progress = SweepProgress(Console(file=open(tmp_path / "progress.log", "w"), width=200))
    summary: list = []
    sweep = threading.Thread(target=lambda: summary.append(run_sweep(request, progress)))
    sweep.start()
    store = ResultsStore(tmp_path / "res")
    deadline = time.time() + 60
    while time.time() < deadline and not (tmp_path / "res" / "jobs").is_dir():
        time.sleep(0.1)
    c.remove_node(node_b, allow_graceful=False)  # lab-b's node dies while its phones run their first jobs
    sweep.join(timeout=120)
    (first,) = summary
    assert first.jobs == 12 and first.earlier == 0 and first.failures
    lost = {r.host for r in first.failures}
    assert lost == {"lab-b"}, [(r.alias, r.cause) for r in first.failures]
    assert all(("NodeDied" in r.cause or "left the cluster" in r.cause or "no live Ray node" in r.cause)
               for r in first.failures), [r.cause for r in first.failures]  # fmt: skip
    done = [r for r in store.records() if r.status == "done"]
    assert sum(r.host == "lab-a" for r in done) == 6  # every job on the live node completed
    assert sum(r.host == "lab-b" for r in done) + len(first.failures) == 6  # lab-b: what ended before the kill
    c.add_node(num_cpus=1, resources=fleet.hosts[1].resources)  # lab-b comes back
    c.wait_for_nodes()
    second = run_sweep(request, SweepProgress(Console(file=open(tmp_path / "progress2.log", "w"), width=200)))
    assert second.earlier + second.done == 12 and second.done == len(first.failures) and not second.failures
    records = store.records()
    assert len(records) == 12 and len({r.key for r in records}) == 12 and all(r.status == "done" for r in records)
    for path in (tmp_path / "res" / "jobs").iterdir():
        json.loads(path.read_text())  # every file whole
    assert not list((tmp_path / "res" / "jobs").glob("*.tmp*"))


@pytest.mark.slow
def test_two_sweeps_sharing_a_phone_never_overlap_on_it(lab, cluster, binary, small_converted, tmp_path):
    """Two processes sweep the same phone at once through the cluster: the phone's one resource unit lets one
    benchmark run at a time (the emulated phone counts how many ran at once)."""
    import ray

    c, _, fleet = cluster
    phone = next(p for p in lab[1] if p.serial == fleet.select("S21-a")[0][1].serial)
    phone.thermal.peak_busy = 0
    out, _ = small_converted
    procs = []
    for i, precision in enumerate(("fp32", "int8")):
        args = [sys.executable, "-m", "mobiledepth", "bench", str(out / f"small_64x96_{precision}.tflite"),
                "--fleet", str(lab[0]), "--results", str(tmp_path / f"res{i}"), "--device", "S21-a", "--threads",
                "1,2", "--benchmark-binary", str(binary), "--runs", "10", "--warmup", "1", "--min-seconds", "0.01",
                "--ray-address", ray.get_runtime_context().gcs_address]  # fmt: skip
        procs.append(subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [p.communicate(timeout=180)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert all("2 job(s) run now" in o for o in outputs)
    assert phone.thermal.peak_busy == 1  # four jobs from two sweeps, never two at once on the phone
    status = runner.invoke(
        app, ["fleet", "status", str(lab[0]), "--ray-address", ray.get_runtime_context().gcs_address]
    )
    assert status.exit_code == 0, status.output
    rows = [line for line in status.output.splitlines() if "127.0.0.1:" in line]
    assert len(rows) == 4 and all("device" in r and "idle" in r and "(no cluster)" not in r for r in rows)
