"""The CLI's flags, declared once as typed aliases (typer's ``Annotated`` form).

Every flag defaults to ``None`` (or is a switch): the library's option dataclasses hold the only
defaults, and the help text shows them read from those dataclasses, so the two cannot disagree.
Commands in ``cli.py`` stay short: one line per flag, then a call into the library.
"""

from __future__ import annotations

from dataclasses import MISSING, fields
from pathlib import Path
from typing import Annotated, Any, List, Optional

import typer

from android_bench import adb
from android_bench.runner import PhoneOptions
from android_bench.timing import HOST_TIMING, PHONE_TIMING

from ..conversion.options import ConvertOptions
from ..conversion.tasks import TASKS
from ..data.synth import SynthOptions
from ..evaluation import EvalOptions
from ..inputs import DEFAULT_INPUT
from ..profiling.host import ProfileOptions
from ..pruning.options import MEASURE_THREADS, PruneOptions
from ..visual.predict import PredictOptions


def default_of(cls: type, name: str) -> str:
    """'[default: X]' for a dataclass field: help text that reads the library's value."""
    f = next(f for f in fields(cls) if f.name == name)
    value = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
    return f"\\[default: {value}]"  # escaped: typer renders help text as rich markup


def size_default(cls: type) -> str:
    """'[default: HxW]' from a dataclass's ``size`` pair or its ``height`` and ``width``."""
    d = {f.name: f.default for f in fields(cls)}
    h, w = d["size"] if "size" in d else (d["height"], d["width"])
    return f"\\[default: {h}x{w}]"


_d, _PHONE, _PRUNE = default_of, PhoneOptions, PruneOptions  # short names keep one flag per line


def host_phone_default(host: object, phones: object) -> str:
    """'[default: host X, phones Y]' for flags whose default differs between the host and phones."""
    return f"\\[default: host {host}, phones {phones}]"


def _host_phone(name: str) -> str:
    return host_phone_default(getattr(HOST_TIMING, name), getattr(PHONE_TIMING, name))


MODEL_SIZE = f"\\[default: the model's declared size, else {DEFAULT_INPUT.height}x{DEFAULT_INPUT.width}]"


def checkpoint_size(cls: type) -> Any:
    """The --size flag of commands that run models whose size is free (checkpoints, dynamic files)."""
    return Annotated[Optional[str], typer.Option(help=f"Input HEIGHTxWIDTH where the model's is free. {MODEL_SIZE}")]


# ---- bench --------------------------------------------------------------------------------------
Models = Annotated[
    Optional[List[Path]],
    typer.Argument(help=".tflite (LiteRT), .onnx (ONNX Runtime) or checkpoint (PyTorch) files; phones take .tflite."),
]
Device = Annotated[str, typer.Option(help="'host' (this computer), or phones: serial, alias (S21), list or 'all'.")]
Delegate = Annotated[
    str, typer.Option(help="cpu (XNNPACK), gpu or nnapi (phones); host: cpu. --fleet: a list (cpu,gpu).")
]
Threads = Annotated[Optional[int], typer.Option(help=f"Interpreter threads. {_host_phone('threads')}")]
SweepThreads = Annotated[
    Optional[str],
    typer.Option(
        "--threads", help=f"Interpreter threads; --fleet: a list (1,4), each its own job. {_host_phone('threads')}"
    ),
]
Fleet = Annotated[
    Optional[Path],
    typer.Option(help="A fleet file (TOML: hosts, their adb servers and phones): run the matrix on the lab (Ray)."),
]
Results = Annotated[
    Optional[Path],
    typer.Option(help="--fleet: the results folder (one record per job; a re-run runs only what is missing)."),
]
FleetFile = Annotated[Path, typer.Argument(help="The fleet file (TOML).")]
Warmup = Annotated[Optional[int], typer.Option("--warmup", help=f"Warm-up runs. {_host_phone('warmup_runs')}")]
WarmupSeconds = Annotated[
    Optional[float], typer.Option(help=f"Also warm up for at least this long. {_host_phone('warmup_seconds')}")
]
Runs = Annotated[Optional[int], typer.Option(help=f"Timed runs (paired: per round, at most 10). {_host_phone('runs')}")]
MinSeconds = Annotated[
    Optional[float], typer.Option(help=f"Also time for at least this long. {_host_phone('min_seconds')}")
]
Size = Annotated[Optional[str], typer.Option(help="Input HEIGHTxWIDTH for checkpoints and dynamic files.")]
JsonOut = Annotated[
    Optional[Path], typer.Option("--json", help="Write the result record(s) here (phones: after every finished run).")
]
ADB_HOST, ADB_PORT = adb.SERVER_HOST, adb.SERVER_PORT  # the adb flags' defaults: the library's, like every other
AdbHost = Annotated[str, typer.Option(help="adb server host (a device lab's shared server).")]
AdbPort = Annotated[int, typer.Option(help="adb server port.")]
Binary = Annotated[
    Optional[Path], typer.Option(help="benchmark_model for the phone (default: the cache of `devices fetch-binary`).")
]
GpuFp16 = Annotated[
    Optional[bool],
    typer.Option("--gpu-fp16/--gpu-fp32", help=f"GPU: allow fp16 or force fp32. {_d(_PHONE, 'gpu_precision_loss')}"),
]
NnapiAccelerator = Annotated[Optional[str], typer.Option(help="NNAPI accelerator name (e.g. a vendor NPU).")]
FullDelegation = Annotated[
    Optional[bool], typer.Option("--require-full-delegation", help="Fail when any op falls back to the CPU.")
]
Affinity = Annotated[Optional[str], typer.Option(help="taskset CPU mask in hex (e.g. f0 = big cores on many SoCs).")]
Repeats = Annotated[
    Optional[int], typer.Option(help=f"Phones: repeat the run, median of repeats. {_d(_PHONE, 'repeats')}")
]
Cooldown = Annotated[
    Optional[float], typer.Option(help=f"Phones: rest between repeats (s). {_d(_PHONE, 'cooldown_s')}")
]
MaxTemp = Annotated[
    Optional[float],
    typer.Option(help=f"Phones: wait until all sensors read below (°C). {_d(_PHONE, 'max_temp_c')}"),
]
ThermalTimeout = Annotated[
    Optional[float],
    typer.Option(help=f"Phones: stop waiting to cool after (s). {_d(_PHONE, 'thermal_timeout_s')}"),
]
RunTimeout = Annotated[
    Optional[float], typer.Option(help=f"Phones: kill a run after this (s). {_d(_PHONE, 'run_timeout_s')}")
]
OpProfiling = Annotated[
    Optional[bool], typer.Option("--op-profiling", help="Phones: per-op profile (--enable_op_profiling).")
]
DevicesFile = Annotated[Optional[Path], typer.Option(help="Extra device aliases (JSON).")]
Paired = Annotated[
    bool,
    typer.Option("--paired", help="Time the files interleaved (rounds); each file's ratio to the first, 95% interval."),
]
Rounds = Annotated[
    Optional[int],
    typer.Option(help=f"--paired: alternating rounds. {_host_phone('rounds')}"),
]
FromLog = Annotated[
    Optional[List[Path]],
    typer.Option(
        "--from-log",
        help="Parse a saved benchmark_model output or the APK's `adb logcat` into a record (repeatable); MODELS, "
        "if given, are the files they ran, in order; --device names the phone.",
    ),
]

# ---- prune --------------------------------------------------------------------------------------
Checkpoint = Annotated[Path, typer.Argument(help="A trained mobiledepth checkpoint.")]
PruneOutput = Annotated[
    Path, typer.Option("-o", "--output", help="Output folder (checkpoints, history.json, latency cache, log).")
]
TargetMs = Annotated[Optional[float], typer.Option(help="Latency budget in ms, on --device/--delegate/--precision.")]
TargetRatio = Annotated[Optional[float], typer.Option(help="Budget as a share of the starting model's latency (0.7).")]
Precision = Annotated[str, typer.Option(help="fp32, fp16 or int8: the file whose latency counts.")]
PruneSize = Annotated[Optional[str], typer.Option(help=f"Input HEIGHTxWIDTH of the measured file. {MODEL_SIZE}")]
PruneData = Annotated[Path, typer.Option(help="Fine-tuning data: a synth or DIW folder (train / val / test splits).")]
DataKind = Annotated[Optional[str], typer.Option(help=f"synth or diw. {_d(_PRUNE, 'data_kind')}")]
PruneThreads = Annotated[Optional[int], typer.Option(help=f"Benchmark threads. \\[default: {MEASURE_THREADS}]")]
InitialRatio = Annotated[
    Optional[float],
    typer.Option(help=f"Per-iteration latency cut, share of the start. {_d(_PRUNE, 'initial_ratio')}"),
]
Decay = Annotated[Optional[float], typer.Option(help=f"Per-iteration decay of the cut. {_d(_PRUNE, 'decay')}")]
MaxIterations = Annotated[Optional[int], typer.Option(help=_d(_PRUNE, "max_iterations"))]
MaxProposals = Annotated[
    Optional[int], typer.Option(help=f"Groups scored per iteration. {_d(_PRUNE, 'max_proposals')}")
]
ShortSteps = Annotated[
    Optional[int], typer.Option(help=f"Short-term fine-tune steps per proposal. {_d(_PRUNE, 'short_steps')}")
]
LongSteps = Annotated[Optional[int], typer.Option(help=f"Long-term fine-tune steps. {_d(_PRUNE, 'long_steps')}")]
Keep = Annotated[Optional[str], typer.Option(help="Milestones to save, e.g. 1.9M,1.5M,1M or 30ms,25ms.")]
Freeze = Annotated[
    Optional[str],
    typer.Option(help="Channel groups never cut, by name or kind, e.g. stem,enc_out[4-6],enc_hidden."),
]
Margin = Annotated[
    Optional[float],
    typer.Option(help=f"Stop only this share below the target (timing noise). {_d(_PRUNE, 'margin')}"),
]
Workers = Annotated[
    Optional[int],
    typer.Option(
        help=f"Fine-tune and score each iteration's proposals as this many Ray tasks. {_d(_PRUNE, 'workers')}"
    ),
]
WorkerThreads = Annotated[
    Optional[int],
    typer.Option(
        help="Torch threads per proposal's fine-tune, in each worker task or the serial run (scores "
        "reproduce across runs of one count); default: cores / --workers (serial: torch's)."
    ),
]
FleetHostName = Annotated[str, typer.Option("--host", help="This computer's [[host]] name in the fleet file.")]
RayPort = Annotated[Optional[int], typer.Option("--port", help="Start the cluster's head here on this port.")]
HeadAddress = Annotated[Optional[str], typer.Option("--address", help="Join the cluster whose head is HEAD:PORT.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the `ray start` line; start nothing.")]
RayAddress = Annotated[
    Optional[str], typer.Option(help="A running Ray cluster (HEAD:PORT); default: a local Ray started for the run.")
]
Resume = Annotated[bool, typer.Option("--resume", help="Continue after the last finished iteration in OUTDIR.")]
Seed = Annotated[Optional[int], typer.Option(help=f"Seed of the fine-tuning runs. {_d(_PRUNE, 'seed')}")]
PruneRounds = Annotated[
    Optional[int],
    typer.Option(help=f"Paired verification rounds (the confirmation: twice). {_d(_PRUNE, 'rounds')}"),
]

# ---- convert ------------------------------------------------------------------------------------
ConvertPrecision = Annotated[
    Optional[str],
    typer.Option(
        "--precision",
        help=f"Comma list of fp32, fp16, int8, int8-dynamic. \\[default: {','.join(ConvertOptions.precisions)}]",
    ),
]
ConvertSize = Annotated[
    Optional[str], typer.Option("--size", help=f"Fixed input HEIGHTxWIDTH of the files. {MODEL_SIZE}")
]
Calib = Annotated[
    Optional[Path],
    typer.Option(help="Calibration images: an image folder or a DIW folder. Default: bundled sample set."),
]
ParityData = Annotated[
    Optional[Path],
    typer.Option(
        help="Held-out images for parity and the task score (an image folder; DIW pairs for WHDR). Default: "
        "your --calib images (held out), else the bundled sample set."
    ),  # fmt: skip
]
NCalib = Annotated[Optional[int], typer.Option(help=f"Calibration images to use. {_d(ConvertOptions, 'n_calib')}")]
NParity = Annotated[
    Optional[int], typer.Option(help=f"Held-out images for the parity check. {_d(ConvertOptions, 'n_parity')}")
]
Task = Annotated[
    Optional[str],
    typer.Option(
        help="What the output is: depth, disparity (WHDR on DIW pairs), mask (IoU at --mask-threshold) or "
        f"generic (SNR). {_d(ConvertOptions, 'task')}"
    ),  # fmt: skip
]
GateLimit = Annotated[
    Optional[float],
    typer.Option(
        help="int8 gate: max WHDR drop (depth/disparity), min mask IoU (mask), min SNR dB (generic). "
        f"\\[default: {', '.join(f'{k} {v.limit:g}' for k, v in TASKS.items())}]"
    ),  # fmt: skip
]
MaskThreshold = Annotated[
    Optional[float], typer.Option(help=f"mask: probability a pixel must exceed. {_d(ConvertOptions, 'mask_threshold')}")
]
Outputs = Annotated[
    Optional[str],
    typer.Option("--outputs", help="Outputs to keep and check, by name or index (comma list). \\[default: all]"),
]
Output = Annotated[
    Optional[str], typer.Option("--output", help="Which output is the map, by name or index. \\[default: the first]")
]
Strict = Annotated[bool, typer.Option("--strict", help="A gate that cannot be checked fails the conversion (CI).")]
FoldPreprocess = Annotated[
    bool, typer.Option("--fold-preprocess", help="Put --mean/--std into the graph: the files take [0, 1] pixels.")
]
Speed = Annotated[
    Optional[bool],
    typer.Option(
        "--speed/--no-speed", help=f"Time every file against fp32 on this host. {_d(ConvertOptions, 'speed')}"
    ),
]
Mean = Annotated[Optional[str], typer.Option(help="Foreign models: R,G,B mean subtracted after scaling.")]
Std = Annotated[Optional[str], typer.Option(help="Foreign models: R,G,B std divided after scaling.")]
PixelScale = Annotated[
    Optional[float], typer.Option(help="Foreign models: multiply [0,1] pixels by this first (255: 0..255 input).")
]
Int8Output = Annotated[
    Optional[str],
    typer.Option(
        help="int8 file's output: float (its final resize in float: faster on XNNPACK, not rounded) or int8 "
        f"(all-integer, for int8-only accelerators). {_d(ConvertOptions, 'int8_output')}"
    ),
]

# ---- eval, predict, profile ---------------------------------------------------------------------
EvalSplit = Annotated[
    Optional[str], typer.Option(help=f"Which DIW_<split>.csv in a folder. {_d(EvalOptions, 'split')}")
]
EvalSize = checkpoint_size(EvalOptions)
Resize = Annotated[
    Optional[str],
    typer.Option(
        help="Resize back to the image: torch7 (the DIW reference evaluation) or bilinear (PyTorch, "
        f"align_corners=False). {_d(EvalOptions, 'resize')}"
    ),
]
PredictSize = checkpoint_size(PredictOptions)
ProfileSize = checkpoint_size(ProfileOptions)
ProfileRuns = Annotated[
    Optional[int],
    typer.Option(help=f"Profiled runs. {host_phone_default(ProfileOptions.runs, PHONE_TIMING.runs)}"),
]
ProfileThreads = Annotated[
    Optional[int],
    typer.Option(help=f"Threads. {_host_phone('threads')}"),
]

InfoSize = Annotated[Optional[str], typer.Option(help=f"Input HEIGHTxWIDTH for the MACs count. {MODEL_SIZE}")]

# ---- data synth ---------------------------------------------------------------------------------
SynthScenes = Annotated[Optional[int], typer.Option("--n", help=f"Number of scenes. {_d(SynthOptions, 'n')}")]
SynthSize = Annotated[Optional[str], typer.Option(help=f"Image HEIGHTxWIDTH. {size_default(SynthOptions)}")]
SynthPairs = Annotated[
    Optional[int], typer.Option(help=f"DIW point pairs per image. {_d(SynthOptions, 'pairs_per_image')}")
]
SynthKind = Annotated[
    Optional[str],
    typer.Option(
        "--scenes", help=f"rooms (checkered rooms), world (randomised worlds) or mixed. {_d(SynthOptions, 'scenes')}"
    ),  # fmt: skip
]
SynthSeed = Annotated[Optional[int], typer.Option(help=f"Seed of the scenes. {_d(SynthOptions, 'seed')}")]
