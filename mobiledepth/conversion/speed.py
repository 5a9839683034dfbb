"""What each written file costs on THIS host, said at convert time: paired against the fp32 file.

Why at convert time: int8 is not always faster. On an AVX2 host without VNNI our own int8 file runs
1.00x its fp32 file, a foreign text detector's 0.70x, a small face network's 0.20-0.28x; on AVX-512 VNNI
hosts 1.7-2.5x. A short paired run (the files interleaved in one worker, rounds alternating) says which
it is here, and which op types XNNPACK did not take (LiteRT's built-in kernels ran them, often the
reason). It is this host's answer, never a phone's: measure on the target with ``bench --device``.
"""

from __future__ import annotations

from pathlib import Path

from android_bench.timing import Timing

from ..records import host_device
from ..records.conversion import HostSpeed

SPEED_RUNS_PER_ROUND = 3
SPEED_THREADS = 2  # the threads every host figure in this tool is quoted at (HOST_TIMING)


def undelegated_ops(path: Path) -> tuple[str, ...]:
    """Op types of ``path`` that XNNPACK's partitions did not take, from LiteRT's node list: a node belongs to
    a delegate partition when it lies downstream of the partition's inputs and upstream of its outputs."""
    from ..runtime.tflite_interpreter import interpreter_class, model_source

    Interpreter, _ = interpreter_class()
    interp = Interpreter(**model_source(path), num_threads=1)
    interp.allocate_tensors()
    ops = interp._get_ops_details()
    originals = [op for op in ops if op["op_name"] != "DELEGATE"]
    partitions = [op for op in ops if op["op_name"] == "DELEGATE"]
    graph_inputs = {int(d["index"]) for d in interp.get_input_details()}
    taken: set[int] = set()
    for partition in partitions:
        inputs, outputs = set(map(int, partition["inputs"])), set(map(int, partition["outputs"]))
        taken |= _inside(originals, inputs, outputs, graph_inputs)
    return tuple(sorted({op["op_name"] for op in originals if op["index"] not in taken}))


def _inside(nodes: list[dict], inputs: set[int], outputs: set[int], graph_inputs: set[int]) -> set[int]:
    """Indices of the nodes on a path from ``inputs`` (or constants: tensors no node writes, the graph's
    inputs apart) to ``outputs``."""
    produced = {int(t) for n in nodes for t in n["outputs"]} | graph_inputs
    reach = set(inputs) | {int(t) for n in nodes for t in n["inputs"] if int(t) not in produced}
    forward: set[int] = set()
    for n in nodes:  # LiteRT lists nodes in execution order
        if all(int(t) in reach or int(t) < 0 for t in n["inputs"]):
            forward.add(n["index"])
            reach |= {int(t) for t in n["outputs"]}
    needed, backward = set(outputs), set()
    for n in reversed(nodes):
        if any(int(t) in needed for t in n["outputs"]):
            backward.add(n["index"])
            needed |= {int(t) for t in n["inputs"]}
    return forward & backward


def host_speeds(files: list[Path], reference: Path, rounds: int) -> dict[Path, HostSpeed]:
    """Every file timed paired against ``reference`` (the fp32 file) in one worker; by file."""
    from ..benchmark.host import bench_host_paired

    timing = Timing(threads=SPEED_THREADS, warmup_runs=2, rounds=rounds)
    others = [f for f in files if f != reference]
    records = bench_host_paired([reference, *others], timing, SPEED_RUNS_PER_ROUND)
    host = host_device().model
    speeds = {}
    for path, record in zip([reference, *others], records):
        paired = record.paired
        assert paired is not None
        speeds[path] = HostSpeed(
            baseline=reference.name,
            median_ms=record.central_ms,
            ratio=paired.ratio_to_baseline,
            rounds=rounds,
            threads=SPEED_THREADS,
            host=host,
            undelegated_ops=undelegated_ops(path),
        )
    return speeds
