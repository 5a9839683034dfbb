"""How much full-integer int8 buys per operator type on this CPU (LiteRT + XNNPACK), paired.

Why: the whole network's int8/fp32 speed-up is a mix of its operators' speed-ups, and those depend on the
CPU's int8 kernels, not on the model file. Each row is a chain of 8 identical layers (one operator type at
a MobileNetV2-like shape) written as an fp32 file and as a full-integer int8 file (int8 in and out,
calibrated on random inputs; TensorFlow's converter, the one onnx2tf calls), and every file is timed
interleaved in one worker (``bench --paired``). With ``--network-dir`` the converted network's fp32 and int8
files (e.g. ``build/demo/converted`` after ``make demo``) are timed in the same run, so the operators and
the network share one set of conditions.

    python benchmarks/int8_op_speed.py --out build/benchmarks/int8_op_speed.json [--network-dir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import io
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from android_bench.timing import HOST_TIMING, PAIRED_RUNS_PER_ROUND, Timing
from mobiledepth.benchmark.host import bench_host_paired
from mobiledepth.benchmark.paired import bootstrap_ratio
from mobiledepth.fileio import scratch_dir, write_json
from mobiledepth.records import host_device
from mobiledepth.runtime.predictors import load_predictor

CHAIN = 8  # layers per file, so the per-invoke overhead and the widening 1x1 conv are small against the chain
# name -> (input HxWxC, layer): the shapes of MobileNetV2 blocks at a 256x256 input (expanded widths)
OPERATORS: dict[str, tuple[tuple[int, int, int], str]] = {
    "depthwise 3x3, /4": ((64, 64, 144), "depthwise"),
    "depthwise 3x3, /8": ((32, 32, 192), "depthwise"),
    "depthwise 3x3, /16": ((16, 16, 384), "depthwise"),
    "pointwise 1x1, /4": ((64, 64, 144), "pointwise"),
    "pointwise 1x1, /16": ((16, 16, 384), "pointwise"),
    "full 3x3 conv, /4": ((64, 64, 32), "conv3x3"),
    "residual add, /8": ((32, 32, 32), "add"),
}


def _layer(kind: str, channels: int):
    import tensorflow as tf

    layers = tf.keras.layers
    if kind == "depthwise":
        return layers.DepthwiseConv2D(3, padding="same", activation="relu6")
    if kind == "pointwise":
        return layers.Conv2D(channels, 1, activation="relu6")
    if kind == "conv3x3":
        return layers.Conv2D(channels, 3, padding="same", activation="relu6")
    return lambda x: layers.Add()([x, x])


def write_pair(name: str, shape: tuple[int, int, int], kind: str, work: Path) -> tuple[Path, Path]:
    """The operator chain as fp32 and full-integer int8 TFLite files."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    inp = tf.keras.Input(shape=(*shape[:2], 3), batch_size=1)  # an RGB image, as the host bench feeds
    x = tf.keras.layers.Conv2D(shape[2], 1)(inp)  # widen to the operator's channels (2-4% of the chain's MACs)
    for _ in range(CHAIN):
        x = _layer(kind, shape[2])(x)
    model = tf.keras.Model(inp, x)
    rng = np.random.default_rng(0)
    stem = work / name.replace(" ", "_").replace(",", "").replace("/", "s")
    paths = (stem.with_name(stem.name + "_fp32.tflite"), stem.with_name(stem.name + "_int8.tflite"))
    paths[0].write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([rng.random((1, *shape[:2], 3), dtype=np.float32)] for _ in range(8))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    paths[1].write_bytes(converter.convert())
    return paths


def network_pair(folder: Path) -> tuple[Path, Path] | None:
    fp32, int8 = sorted(folder.glob("*_fp32.tflite")), sorted(folder.glob("*_int8.tflite"))
    return (fp32[0], int8[0]) if fp32 and int8 else None


def measure(pairs: dict[str, tuple[Path, Path]], shapes: dict[str, tuple[int, ...]], options: Timing) -> list[dict]:
    """Every file interleaved in one worker; each row's speed-up = its fp32 / int8 round medians."""
    files = [p for pair in pairs.values() for p in pair]
    records = dict(zip(files, bench_host_paired(files, options, PAIRED_RUNS_PER_ROUND)))
    rows = []
    for name, (fp32, int8) in pairs.items():
        a, b = (records[p].paired.round_medians_ms for p in (fp32, int8))
        s = bootstrap_ratio(a, b).speedup()  # of the int8 / fp32 round ratios
        speedup, low, high = s.median, s.low, s.high
        rows.append({
            "operator": name, "shape": list(shapes[name]),
            "fp32_ms": records[fp32].latency_ms.median, "int8_ms": records[int8].latency_ms.median,
            "speedup": speedup, "speedup_low": low, "speedup_high": high,
        })  # fmt: skip
    return rows


def table_of(rows: list[dict], options: Timing) -> Table:
    table = Table(title=f"int8 vs fp32 per operator (x{CHAIN} chains), LiteRT + XNNPACK, {options.threads} thread(s), "
                  f"paired: {options.rounds} rounds x {PAIRED_RUNS_PER_ROUND} runs")  # fmt: skip
    for col in ("Operator", "Input HxWxC", "fp32 ms", "int8 ms", "int8 speed-up (95% CI)"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["operator"], "x".join(str(v) for v in r["shape"]), f"{r['fp32_ms']:.3f}", f"{r['int8_ms']:.3f}",
                      f"{r['speedup']:.2f}x ({r['speedup_low']:.2f}-{r['speedup_high']:.2f})")  # fmt: skip
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("build/benchmarks/int8_op_speed.json"))
    parser.add_argument("--network-dir", type=Path, default=None, help="a convert folder: its fp32 and int8 files")
    parser.add_argument("--threads", type=int, default=HOST_TIMING.threads)
    parser.add_argument("--rounds", type=int, default=HOST_TIMING.rounds)
    args = parser.parse_args()
    work = scratch_dir("int8_op_speed-")
    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints each traced function's signature
        pairs = {name: write_pair(name, shape, kind, work) for name, (shape, kind) in OPERATORS.items()}
    shapes = {name: shape for name, (shape, _) in OPERATORS.items()}
    network = network_pair(args.network_dir) if args.network_dir else None
    if network:
        label = f"network: {network[0].name.removesuffix('_fp32.tflite')}"
        pairs[label] = network
        shapes[label] = (*load_predictor(network[0]).input_hw, 3)
    options = Timing(rounds=args.rounds, threads=args.threads).over(HOST_TIMING)
    rows = measure(pairs, shapes, options)
    Console(width=160).print(table_of(rows, options))
    write_json(args.out, {"device": host_device(), "threads": options.threads, "rounds": options.rounds,
                          "runs_per_round": PAIRED_RUNS_PER_ROUND, "chain": CHAIN, "rows": rows})  # fmt: skip
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
