"""The converter's options: the only place their defaults live.

Kept apart from :mod:`.pipeline` (torch, onnx2tf) so the CLI can read the defaults for its help text
without importing the conversion stack. Whatever concerns the input defaults to ``None``: the model's own
(:class:`~mobiledepth.inputs.InputSpec`, declared by our variants, stated with ``--mean/--std`` for
foreign ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import MobileDepthError
from ..inputs import MAX_INPUT_SIDE, Preprocess
from .precisions import DEFAULT_PRECISIONS, parse_precisions
from .tasks import TASKS, TaskMetric, task_metric

MIN_GATE_PAIRS = 1000  # fewer held-out pairs than this and the gate cannot tell a WHDR drop of 0.005 from noise
MIN_GATE_IMAGES = 8  # mask and generic gates: an interval over fewer images says little
# What the int8 file's output is (tflite_float_resize.py): "float" runs a final bilinear resize in float
# (faster on XNNPACK, not rounded to 256 levels); "int8" keeps the file integer end to end (int8-only NPUs).
INT8_OUTPUTS = ("float", "int8")
MAX_IMAGES = 10_000  # calibration / parity images: each is held in memory at the model's size


@dataclass(frozen=True)
class ConvertOptions:
    precisions: tuple[str, ...] = DEFAULT_PRECISIONS
    size: tuple[int, int] | None = None  # the files' fixed input size; None: the model's (its declared size)
    preprocess: Preprocess | None = None  # None: the model's; foreign models: --mean/--std/--pixel-scale
    fold_preprocess: bool = False  # put the declared mean/std into the graph: the files then take [0, 1] pixels
    calib: Path | None = None  # an image folder or a DIW folder; None: the bundled sample set
    parity_data: Path | None = None  # None: the --calib images when given (the user's), else the bundled set
    n_calib: int = 32
    n_parity: int = 8
    task: str = "depth"  # depth | disparity | mask | generic: what the output is, so how a file is judged
    metric: TaskMetric | None = None  # Python: a metric of your own (reference map, candidate map) -> float
    gate_limit: float | None = None  # the int8 gate's limit in the task's metric; None: the task's default
    mask_threshold: float = 0.5  # mask: a pixel belongs to the mask above this probability
    min_gate_pairs: int = MIN_GATE_PAIRS
    min_gate_images: int = MIN_GATE_IMAGES
    outputs: tuple[str, ...] | None = None  # names or indices of the outputs kept and checked; None: all
    int8_output: str = "float"  # one of INT8_OUTPUTS
    speed: bool = True  # time every written file against the fp32 file on this host (a short paired run)
    speed_rounds: int = 8
    strict: bool = False  # a gate that cannot be checked fails the conversion (for CI)

    def __post_init__(self) -> None:
        parse_precisions(",".join(self.precisions))
        if self.int8_output not in INT8_OUTPUTS:
            raise MobileDepthError(f"--int8-output: unknown {self.int8_output}; choose from {', '.join(INT8_OUTPUTS)}")
        if self.task not in TASKS:
            raise MobileDepthError(f"--task {self.task}: choose from {', '.join(TASKS)}")
        if self.size is not None and not all(0 < s <= MAX_INPUT_SIDE for s in self.size):
            raise MobileDepthError(f"--size {self.size[0]}x{self.size[1]}: sides must be 1..{MAX_INPUT_SIDE}")
        for flag, value, least in (
            ("--n-calib", self.n_calib, 1),
            ("--n-parity", self.n_parity, 1),
            ("--speed-rounds", self.speed_rounds, 2),
        ):
            if not least <= value <= MAX_IMAGES:
                raise MobileDepthError(f"{flag} {value}: must be between {least} and {MAX_IMAGES}")
        if not 0.0 < self.mask_threshold < 1.0:
            raise MobileDepthError(f"--mask-threshold {self.mask_threshold}: a probability between 0 and 1")
        if self.gate_limit is not None and not abs(self.gate_limit) < float("inf"):
            raise MobileDepthError(f"--gate-limit {self.gate_limit}: must be a finite number")
        if self.preprocess is not None and any(s == 0 for s in self.preprocess.std):
            raise MobileDepthError("--std: no channel may be 0 (its values would be divided by it)")

    @property
    def task_metric(self) -> TaskMetric:
        """The metric the int8 gate judges by: the user's, else the task's own, with the limit given."""
        return task_metric(self.task, self.metric, self.gate_limit, self.mask_threshold)
