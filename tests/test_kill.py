"""kill -9 at the two points where an earlier version dead-ended, as real processes: the process is
paused exactly between two writes (mobiledepth/pause.py), killed, and resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def run_until_paused(cmd: list[str], point: str, pause_file: Path, skip: int = 0, timeout: float = 600) -> None:
    env = {**os.environ, "MOBILEDEPTH_PAUSE_AT": point, "MOBILEDEPTH_PAUSE_FILE": str(pause_file),
           "MOBILEDEPTH_PAUSE_SKIP": str(skip)}  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + timeout
    while not pause_file.is_file():
        if proc.poll() is not None:
            raise AssertionError(f"finished before {point}: {proc.stderr.read()[-2000:]}")
        if time.time() > deadline:
            proc.kill()
            raise AssertionError(f"never reached {point}")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
def test_kill_after_last_epoch_checkpoint_of_a_teacher_stage_resumes(tmp_path, synth_dir):
    """Stage b distils from stage a's last epoch checkpoint; kill -9 after that checkpoint is written but
    before the training state: --resume redoes that epoch and goes on (it used to fail for good)."""
    run = tmp_path / "run"
    stage = """
[[stage]]
name = "{name}"
data = "synth"
train = "{data}"
size = [64, 96]
batch = 4
epochs = {epochs}
loss = "improved_ranking"
pairs_per_image = 300
max_steps_per_epoch = 2
"""
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[model]\nvariant = "mobiledepth-small"\n[run]\nout = "{run}"\nseed = 3\nthreads = 1\n'
        + stage.format(name="a", data=synth_dir, epochs=2)
        + stage.format(name="b", data=synth_dir, epochs=1)
        + f'[stage.teacher]\npath = "{run / "a_epoch2.pt"}"\n'
    )
    cmd = [sys.executable, "-m", "mobiledepth", "train", "--config", str(cfg), "--quiet"]
    run_until_paused(cmd, "train:epoch-checkpoint-written", tmp_path / "paused", skip=1)  # a's 2nd (last) epoch
    assert (run / "a_epoch2.pt").is_file() and not (run / "final.pt").exists()
    resumed = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    epochs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    done = [(r["stage"], r["epoch"]) for r in epochs if r.get("event") == "epoch"]
    assert done == [("a", 1), ("a", 2), ("b", 1)] and (run / "final.pt").is_file()


# 256x256 keeps the small model's latency (~5 ms) well above this VM's timing noise; steps of 20% of the
# starting latency are larger than that noise, so a measured cut is a real cut.
PRUNE = ["--size", "256x256", "--max-proposals", "3", "--short-steps", "3", "--long-steps", "4",
         "--initial-ratio", "0.2", "--threads", "1", "--target-ms", "0.0001", "--keep", "0.549M"]  # fmt: skip


@pytest.mark.slow
@pytest.mark.long(143)
def test_netadapt_killed_mid_iteration_resumes_then_continues(tmp_path, synth_dir):
    """kill -9 after iteration 1's latency sample is cached but before history.json records it: --resume
    continues (it used to restart from scratch on a cache with duplicate samples) and iteration 1 runs once;
    an unreachable target ends in exit 1 with everything written; a second --resume with more iterations
    continues after iteration 1 without redoing it, and the run's records make a report."""
    from typer.testing import CliRunner

    from mobiledepth.cli import app
    from mobiledepth.model import init_checkpoint

    ckpt = init_checkpoint("mobiledepth-small", tmp_path / "s.pt", seed=0)
    out = tmp_path / "prune"
    args = ["prune", str(ckpt), "-o", str(out), "--data", str(synth_dir), *PRUNE]
    run_until_paused([sys.executable, "-m", "mobiledepth", *args, "--max-iterations", "1"],
                     "prune:latency-cache-saved", tmp_path / "paused")  # fmt: skip
    [cache] = out.glob("latency_*.json")
    assert cache.name == "latency_host_cpu_fp32_256x256_t1.json"
    labels = [s["label"] for s in json.loads(cache.read_text())["samples"]]
    assert json.loads((out / "history.json").read_text())["iterations"] == [] and "iter_001" in labels
    runner = CliRunner()
    first = runner.invoke(app, [*args, "--max-iterations", "1", "--resume"])
    assert first.exit_code == 1, first.output  # unreachable target: exit 1, but finished
    assert "target 0.000 ms unreachable: stopped after --max-iterations 1" in first.output
    h1 = json.loads((out / "history.json").read_text())
    assert [it["iteration"] for it in h1["iterations"]] == [1] and h1["status"] == "unreachable"
    assert [s["label"] for s in json.loads(cache.read_text())["samples"]].count("iter_001") == 1
    assert "resuming after iteration 0" in (out / "log.txt").read_text()
    _check_first_iteration(h1, out)
    second = runner.invoke(app, [*args, "--max-iterations", "2", "--resume"])
    assert second.exit_code == 1, second.output
    _check_continuation(h1, json.loads((out / "history.json").read_text()), out)
    rep = runner.invoke(app, ["report", str(out / "records.json"), "--json", str(tmp_path / "rows.json")])
    assert rep.exit_code == 0, rep.output
    rows = json.loads((tmp_path / "rows.json").read_text())
    assert len(rows) == len(json.loads((out / "history.json").read_text())["iterations"]) + 2
    assert all(r["whdr"] is not None and r["median_ms"] for r in rows)
    assert {r["record"] for r in json.loads((out / "records.json").read_text())} == {"bench", "eval", "convert"}


def _check_first_iteration(h1: dict, out: Path) -> None:
    """One accepted step, verified paired against the current (= base) file: faster with 95% confidence,
    else it would have been rejected; its checkpoint rebuilds without the training heads."""
    from mobiledepth.model import load_checkpoint

    assert (out / "final.pt").is_file()
    it1 = h1["iterations"][0]
    # faster is judged paired (the verification below); the base's and the step's absolute ms were measured at
    # different times on a shared host, so they are not compared
    assert it1["measured_ms"] > 0 and it1["to"] % 8 == 0
    assert it1["params"] < h1["base"]["params"]
    assert it1["whdr"] is not None and len(it1["proposals"]) >= 1 and "predictor_error_ms" in it1
    check = it1["verification"]
    assert check["paired"] and check["rounds"] == 20 and check["step"]["high"] < 1.0
    assert check["step"]["low"] <= check["step"]["median"] <= check["step"]["high"]
    assert h1["confirmation"]["paired"] and h1["confirmation"]["rounds"] == 40
    assert (out / "keep_0.549M.pt").is_file()
    rebuilt = load_checkpoint(out / "iter_001.pt")
    assert rebuilt.config.name == "mobiledepth-small" and not rebuilt.build().has_heads


def _check_continuation(h1: dict, h2: dict, out: Path) -> None:
    """Whether a latency target is met depends on this VM's timing noise (the small model is overhead-bound),
    so this checks the continuation itself; reaching a paired target is tested on a module with a large cut
    (test_any_model.py) and measured on the base model by `benchmarks/pruning_trust.py`.
    Iteration 2 exists unless every candidate failed the paired check (then the reason says so)."""
    assert h2["iterations"][0] == h1["iterations"][0]  # iteration 1 was not redone
    assert "resuming after iteration 1" in (out / "log.txt").read_text()
    iterations = [it["iteration"] for it in h2["iterations"]]
    assert iterations[0] == 1 and (
        iterations[1:2] == [2] or "faster than the current model with 95% confidence" in h2["reason"]
    )
    assert h2["status"] == "unreachable" and h2["reason"]
    assert all(b["params"] < a["params"] for a, b in zip(h2["iterations"], h2["iterations"][1:]))
