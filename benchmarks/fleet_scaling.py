"""Device-lab scaling: the same sweep on one phone and on a fleet of P phones over 2 Ray nodes, and NetAdapt
seconds per iteration with 1 worker (2 threads) against 2 Ray workers (1 thread each).

    PYTHONPATH=. python benchmarks/fleet_scaling.py [--phones 4] [--files 3] [--rounds 3] [--skip-netadapt]

Part 1 (the sweep). P emulated phones, each a process of its own answering every inference in a fixed
``--latency-ms`` (an emulated chip: a sleep, so P phones run side by side on a 2-core host as real phones
do; they never heat, so the thermal guard never waits), on two adb servers (two lab hosts), held by two Ray
nodes of one real cluster (``ray.cluster_utils.Cluster``). The matrix is F files (one small model's fp32 /
fp16 / int8 files) x 2 delegates (cpu, gpu). Per round, in turn: the matrix on ONE phone, then the same
matrix on EVERY phone (P x the jobs); each into a fresh results folder. The fleet / one-phone wall-time
ratio is the scaling (1.0 = P phones cost no more than one); the overhead per job is a one-phone job's
wall time minus its inference time (its warm-up and timed runs x latency; the phone defaults unless --runs).

Part 2 (NetAdapt). The shipped model pruned on this host's fp32 latency for 2 iterations: serially (torch's
2 threads), serially with 1 thread per fine-tune from the first run's measured start, and each iteration on
``workers=2`` (one thread each) from the state the 1-thread serial run stood in before it (an iteration's
proposals depend on the latencies measured before it: host noise, not the workers). Seconds per iteration
(the whole iteration, and the fine-tune + score part the workers spread), and whether the 2 workers'
proposals, scores and choices are the serial run's at the same thread count (oneDNN sums in a
thread-count-dependent order, so 2 threads score a little differently from 1).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from android_bench import adb
from android_bench.timing import PHONE_TIMING, Timing
from mobiledepth.fileio import scratch_dir, write_json
from phone_emulator.benchmark_tool import BINARY_MARKER

DELEGATES = ("cpu", "gpu")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("build/benchmarks/fleet_scaling.json"))
    parser.add_argument("--phones", type=int, default=4)
    parser.add_argument("--files", type=int, default=3, choices=(1, 2, 3))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=25.0)
    parser.add_argument("--runs", type=int, default=None, help="timed runs per job (default: the phone default)")
    parser.add_argument("--skip-netadapt", action="store_true")
    parser.add_argument("--checkpoint", type=Path, default=Path("models/mobiledepth-base.pt"))
    return parser.parse_args()


def small_files(work: Path, count: int) -> list[Path]:
    from mobiledepth.api import convert
    from mobiledepth.conversion.options import ConvertOptions
    from mobiledepth.model import init_checkpoint

    ckpt = init_checkpoint("mobiledepth-small", work / "small.pt", seed=0)
    report = convert(ckpt, work / "conv", ConvertOptions(precisions=("fp32", "fp16", "int8"), size=(64, 96),
                                                         n_parity=2, speed=False))  # fmt: skip
    return [Path(f.path) for f in report.files if f.path.endswith(".tflite")][:count]


def start_phone(port: int, profile: str, latency_ms: float) -> subprocess.Popen:
    """One emulated phone in a process of its own (a real phone has its own CPU: phones in one process would
    share its interpreter lock, which no lab has)."""
    argv = [sys.executable, "-m", "phone_emulator", "--profile", profile, "--port", str(port), "--latency-ms",
            str(latency_ms), "--no-heat"]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    if "listening" not in (proc.stdout.readline() if proc.stdout else ""):
        raise SystemExit(f"emulated phone on port {port} did not start")
    return proc


def start_lab(args: argparse.Namespace, work: Path):
    """Two adb servers (two lab hosts), P emulated phones split between them, and the fleet file naming them."""
    ports, phones, lines = [adb.free_local_port(), adb.free_local_port()], [], []
    serials = []
    for i in range(args.phones):
        port = adb.free_local_port()
        phones.append(start_phone(port, "S21" if i % 2 == 0 else "S10+", args.latency_ms))
        serials.append(f"127.0.0.1:{port}")
    for h, port in enumerate(ports):
        adb.start_server(port)
        lines += ["[[host]]", f'name = "lab-{h}"', f'adb = "127.0.0.1:{port}"']
        for k, serial in enumerate(serials[h::2]):
            adb.connect(adb.client(port=port, start=False), serial)
            lines += ["[[host.phone]]", f'serial = "{serial}"', f'alias = "phone-{h}{k}"']
    time.sleep(1.0)  # the servers finish their handshakes
    fleet = work / "fleet.toml"
    fleet.write_text("\n".join(lines) + "\n")
    return fleet, phones, ports


def start_cluster(fleet_path: Path):
    import ray
    from ray.cluster_utils import Cluster

    from mobiledepth.lab.fleet import load_fleet

    started = time.monotonic()
    fleet = load_fleet(fleet_path)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "resources": fleet.hosts[0].resources})
    cluster.add_node(num_cpus=1, resources=fleet.hosts[1].resources)
    ray.init(address=cluster.address, log_to_driver=False)
    cluster.wait_for_nodes()
    return fleet, cluster, time.monotonic() - started


def timed_sweep(request, console: Console) -> tuple[float, list[float]]:
    """Wall seconds of one sweep and each job's own wall seconds."""
    from mobiledepth.lab.progress import SweepProgress
    from mobiledepth.lab.sweep import run_sweep

    request.results.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(request.results / "progress.log", "w") as log:
        summary = run_sweep(request, SweepProgress(Console(file=log, width=150)))
    wall = time.monotonic() - started
    if summary.failures:
        raise SystemExit(f"sweep failed: {summary.failures[0].cause}")
    return wall, [r.wall_s for r in summary.records]


def job_timing(args: argparse.Namespace) -> Timing:
    """The phone's default timing (what a user's sweep runs), or ``--runs`` timed runs after one warm-up."""
    if args.runs is None:
        return Timing()
    return Timing(warmup_runs=1, warmup_seconds=0.0, runs=args.runs, min_seconds=0.0)


def inference_seconds(args: argparse.Namespace) -> float:
    """Seconds one job spends in inference on a phone answering in ``--latency-ms``: benchmark_model runs each
    phase for at least its runs and at least its seconds."""
    t = job_timing(args).over(PHONE_TIMING)
    each = args.latency_ms / 1000
    return max(t.warmup_runs * each, t.warmup_seconds) + max(t.runs * each, t.min_seconds)


def sweep_part(args: argparse.Namespace, work: Path, console: Console) -> dict:
    from mobiledepth.lab.plan import SweepRequest

    files = small_files(work, args.files)
    fleet_path, phones, ports = start_lab(args, work)
    binary = work / "benchmark_model"
    binary.write_bytes(BINARY_MARKER + b"\n")
    try:
        fleet, cluster, startup = start_cluster(fleet_path)
        timing = job_timing(args)
        one_alias = fleet.phones()[0][1].alias
        base = SweepRequest(tuple(files), fleet, work / "r", delegates=DELEGATES, timing=timing, binary=binary)
        rows = []
        for r in range(args.rounds):  # interleaved: drift on the host hits both alike
            one = timed_sweep(replace(base, results=work / f"one{r}", device=one_alias), console)
            every = timed_sweep(replace(base, results=work / f"all{r}"), console)
            rows.append({"one_s": one[0], "fleet_s": every[0], "ratio": every[0] / one[0], "one_job_s": one[1],
                         "fleet_job_s": every[1]})  # fmt: skip
            console.print(f"round {r + 1}: one phone {one[0]:.1f} s, {args.phones} phones {every[0]:.1f} s")
    finally:
        import ray

        ray.shutdown()  # the driver first: a cluster refuses to remove the node its driver is connected to
        if "cluster" in locals():
            cluster.shutdown()
        for phone in phones:
            phone.terminate()
            phone.wait()
        for port in ports:
            adb.kill_server(port)
    return summarise_sweep(args, rows, startup)


def summarise_sweep(args: argparse.Namespace, rows: list[dict], startup: float) -> dict:
    jobs_one = args.files * len(DELEGATES)
    inference_s = inference_seconds(args)
    one_jobs = [s for row in rows for s in row["one_job_s"]]
    ratios = [row["ratio"] for row in rows]
    return {
        "phones": args.phones, "files": args.files, "delegates": list(DELEGATES), "rounds": args.rounds,
        "jobs_one_phone": jobs_one, "jobs_fleet": jobs_one * args.phones, "latency_ms": args.latency_ms,
        "timing": asdict(job_timing(args).over(PHONE_TIMING)), "ray_startup_s": startup,
        "one_phone_s": statistics.median(r["one_s"] for r in rows),
        "fleet_s": statistics.median(r["fleet_s"] for r in rows),
        "ratio_median": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
        "job_s_median": statistics.median(one_jobs), "inference_s_per_job": inference_s,
        "overhead_s_per_job": statistics.median(one_jobs) - inference_s,
        "rounds_detail": [{k: v for k, v in row.items() if not k.endswith("job_s")} for row in rows],
    }  # fmt: skip


def netadapt_part(args: argparse.Namespace, work: Path, console: Console) -> dict:
    """The shipped model, 2 iterations on this host's fp32 latency. ``serial`` starts afresh (torch's threads);
    ``serial_t1`` resumes from its measured start (base and latency calibration, through the engine's own
    --resume) with 1 thread per fine-tune; ``workers_2`` runs each iteration k on 2 Ray tasks from the state
    ``serial_t1`` stood in before its iteration k. An iteration's proposals depend on the latencies measured
    before it (host noise, not the workers), so only a shared state compares the workers with serial work."""
    from mobiledepth.data.synth import SynthOptions, write_synth_dataset
    from mobiledepth.pruning.latency import Measurer

    data = write_synth_dataset(work / "data", SynthOptions(n=60, seed=5, pairs_per_image=40))
    measurer = Measurer(height=128, width=160, calib=data, threads=2)
    run = lambda label, workers, threads, iterations, start: prune_run(  # noqa: E731
        args, work, data, measurer, label, workers, threads, iterations, start)  # fmt: skip
    out = {"serial": run("serial", 1, None, 2, None)}
    out["serial_t1"] = run("serial_t1", 1, 1, 2, (work / "prune_serial", 0))
    steps = [run(f"workers_2_it{k}", 2, 1, k, (work / "prune_serial_t1", k - 1)) for k in (1, 2)]
    out["workers_2"] = {key: [step[key][-1] for step in steps] for key in steps[0] if isinstance(steps[0][key], list)}
    reference, ray = out["serial_t1"], out["workers_2"]
    out["same_proposals"] = reference["proposals"] == ray["proposals"]
    out["same_history"] = reference["choices"] == ray["choices"] and out["same_proposals"]
    for label in ("serial", "serial_t1", "workers_2"):
        console.print(f"NetAdapt, {label}: {out[label]['iteration_s']}")
    return out


def prune_run(args, work: Path, data: Path, measurer, label: str, workers: int, threads: int | None,
              iterations: int, start: tuple[Path, int] | None) -> dict:  # fmt: skip
    """One NetAdapt run into ``work/prune_LABEL``; ``start``: (a run's folder, iterations of it to resume after)."""
    from mobiledepth.pruning.options import PruneOptions
    from mobiledepth.pruning.runs import prune_checkpoint

    options = PruneOptions(target_ratio=0.5, data=data, max_iterations=iterations, max_proposals=4, short_steps=20,
                           long_steps=0, confirmations=1, workers=workers, worker_threads=threads)  # fmt: skip
    folder = work / f"prune_{label}"
    if start is not None:
        same_start(start[0], folder, measurer, start[1])
    started = time.monotonic()
    history = prune_checkpoint(args.checkpoint, folder, options, measurer, resume=start is not None,
                               echo=lambda line: None)  # fmt: skip
    return history_summary(history, time.monotonic() - started)


def same_start(done_run: Path, folder: Path, measurer, iterations: int) -> None:
    """``folder`` as ``done_run`` stood after its first ``iterations`` iterations: the history cut there and
    the latency cache (a resumed run drops the samples of iterations its history lacks)."""
    import shutil

    from mobiledepth.pruning.store import RunStore
    from mobiledepth.records.pruning import PruneHistory

    folder.mkdir(parents=True)
    done = RunStore(done_run, echo=lambda line: None).load()
    RunStore(folder).save(PruneHistory(checkpoint=done.checkpoint, options=done.options, measurer=done.measurer,
                                       base=done.base, iterations=done.iterations[:iterations],
                                       target_ms=done.target_ms))  # fmt: skip
    shutil.copy(done_run / measurer.cache_name(), folder / measurer.cache_name())


def history_summary(history, run_s: float) -> dict:
    its = history.iterations
    return {
        "run_s": run_s, "iteration_s": [it.wall_s for it in its], "scoring_s": [it.scoring_s for it in its],
        "rejected": [len(it.rejected) for it in its],
        "choices": [f"{it.group} {it.width_from}->{it.width_to}" for it in its],
        "proposals": [[[p.group, p.width_to, round(p.whdr, 5)] for p in it.proposals] for it in its],
    }  # fmt: skip


def print_tables(console: Console, result: dict) -> None:
    s = result.get("sweep")
    if s:
        t = Table(title=f"fleet sweep: {s['files']} files x {len(s['delegates'])} delegates; {s['phones']} phones on "
                        f"2 Ray nodes vs one phone ({s['rounds']} interleaved rounds, medians)")  # fmt: skip
        for col in ("One phone (s)", "Fleet (s)", "Fleet / one (min-max)", "Job (s)", "Overhead / job (s)",
                    "Ray start-up (s)"):  # fmt: skip
            t.add_column(col, justify="right")
        t.add_row(f"{s['one_phone_s']:.1f}", f"{s['fleet_s']:.1f}",
                  f"{s['ratio_median']:.2f} ({s['ratio_min']:.2f}-{s['ratio_max']:.2f})", f"{s['job_s_median']:.2f}",
                  f"{s['overhead_s_per_job']:.2f}", f"{s['ray_startup_s']:.1f}")  # fmt: skip
        console.print(t)
    n = result.get("netadapt")
    if n:
        t = Table(title="NetAdapt seconds per iteration (this host)")
        for col in ("Run", "Iteration s", "Fine-tune + score s", "Rejected", "Choices"):
            t.add_column(col)
        labels = {"serial": "1 worker (torch's 2 threads)", "serial_t1": "1 worker (1 thread)",
                  "workers_2": "2 Ray tasks (1 thread each)"}  # fmt: skip
        for key, label in labels.items():
            r = n[key]
            t.add_row(label, ", ".join(f"{v:.1f}" for v in r["iteration_s"]),
                      ", ".join(f"{v:.1f}" for v in r["scoring_s"]), ", ".join(map(str, r["rejected"])),
                      "; ".join(r["choices"]))  # fmt: skip
        console.print(t)
        console.print(
            f"2 Ray tasks vs 1 worker at 1 thread: same proposals and scores {n['same_proposals']}, same "
            f"history {n['same_history']}"
        )


def main() -> int:
    from mobiledepth.records import host_device

    args, console = parse_args(), Console(width=150)
    work = scratch_dir("fleet_scaling-")
    result: dict = {"host": f"{host_device().model} ({host_device().cores} cores)"}
    result["sweep"] = sweep_part(args, work, console)
    if not args.skip_netadapt:
        result["netadapt"] = netadapt_part(args, work, console)
    print_tables(console, result)
    write_json(args.out, result)
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
