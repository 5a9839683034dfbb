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


@pytest.mark.slow
def test_kill_between_latency_cache_and_history_resumes_without_duplicates(tmp_path, synth_dir):
    """kill -9 after iteration 1's latency sample is cached but before history.json records it: --resume
    continues (it used to restart from scratch on a cache with duplicate samples), iteration 1 runs once."""
    from mobiledepth.model import init_checkpoint

    ckpt = init_checkpoint("mobiledepth-small", tmp_path / "s.pt", seed=0)
    out = tmp_path / "prune"
    cmd = [sys.executable, "-m", "mobiledepth", "prune", str(ckpt), "-o", str(out), "--target-ms", "0.0001",
           "--max-iterations", "1", "--data", str(synth_dir), "--size", "128x128", "--max-proposals", "2",
           "--short-steps", "2", "--long-steps", "2", "--initial-ratio", "0.2", "--threads", "1"]  # fmt: skip
    run_until_paused(cmd, "prune:latency-cache-saved", tmp_path / "paused")
    history = json.loads((out / "history.json").read_text())
    [cache] = out.glob("latency_*.json")
    labels = [s["label"] for s in json.loads(cache.read_text())["samples"]]
    assert history["iterations"] == [] and "iter_001" in labels  # the state the kill left
    resumed = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr  # unreachable target: exit 1, but finished
    history = json.loads((out / "history.json").read_text())
    assert [it["iteration"] for it in history["iterations"]] == [1] and history["status"] == "unreachable"
    labels = [s["label"] for s in json.loads(cache.read_text())["samples"]]
    assert labels.count("iter_001") == 1
    assert "resuming after iteration 0" in (out / "log.txt").read_text()
