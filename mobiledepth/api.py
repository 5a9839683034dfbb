"""The Python API: one function per CLI command, with the same names and the same options.

``mobiledepth convert`` is :func:`convert`, ``mobiledepth bench`` is :func:`bench` (host or phones,
single or paired), and so on. Each function takes the option dataclass the command builds from its
flags, so a script and the command line cannot drift apart. Heavy packages (torch, TensorFlow, ONNX
Runtime) load inside the functions: importing the API stays cheap.

Every expected failure is one :class:`~mobiledepth.errors.MobileDepthError` whose message names the
file and the cause; a conversion that fails leaves no files of its own behind.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from .errors import MobileDepthError

if TYPE_CHECKING:  # names for signatures and help(); imported lazily at call time
    import torch

    from .benchmark.request import BenchOutcome, BenchRequest
    from .conversion.options import ConvertOptions
    from .evaluation import EvalOptions
    from .lab.plan import SweepRequest
    from .lab.sweep import SweepSummary
    from .profiling.host import ProfileOptions
    from .pruning.latency import Measurer
    from .pruning.options import PruneOptions
    from .pruning.runs import ModuleResult
    from .records import ConvertReport, EvalRecord, PredictRecord
    from .records.profiling import LayerProfile
    from .records.pruning import PruneHistory
    from .reporting.outputs import ReportOutputs
    from .reporting.table import ReportRow
    from .runtime.predictors import Predictor, Preprocess
    from .visual.predict import PredictOptions

PathLike = str | os.PathLike


def _quiet(message: str) -> None:
    """The default progress callback: say nothing."""


def convert(
    model: PathLike | torch.nn.Module,
    out_dir: PathLike,
    options: ConvertOptions | None = None,
    progress: Callable[[str], None] = _quiet,
) -> ConvertReport:
    """Convert a model to ONNX and TFLite files and check every file against the source.

    ``model`` is a mobiledepth checkpoint, an ONNX file, a TorchScript archive, a ``torch.export``
    program (``.pt2``) or an ``nn.Module``. Returns the report also written to
    ``out_dir/convert_report.json``; files whose gate failed are listed in ``report.failed``.
    """
    from .conversion.options import ConvertOptions
    from .conversion.pipeline import convert_model

    return convert_model(model, Path(out_dir), options or ConvertOptions(), progress)


def bench(
    request: BenchRequest | SweepRequest, progress: Callable[[str], None] = _quiet
) -> BenchOutcome | SweepSummary:
    """Time model files on this computer or on phones, alone or paired (interleaved), as ``mobiledepth bench``.

    A :class:`~mobiledepth.BenchRequest` names the files, the target (``"host"``, a phone serial or alias, a
    list, ``"all"``), the timing, the phone options and the adb endpoint; it is validated when built. The
    outcome holds one :class:`~mobiledepth.records.BenchRecord` per timed file, the problems that fail a
    command and the warnings that do not. A :class:`~mobiledepth.SweepRequest` (``bench --fleet``) runs the
    files x phones x delegates x threads matrix on a device lab through Ray, remembered in its results folder.
    """
    from .lab.plan import SweepRequest

    if isinstance(request, SweepRequest):
        from rich.console import Console

        from .lab.progress import SweepProgress
        from .lab.sweep import run_sweep

        return run_sweep(request, SweepProgress(Console(stderr=True)))
    from .benchmark.run import run_bench

    return run_bench(request, progress)


def evaluate(
    model: PathLike,
    data: PathLike | None = None,
    options: EvalOptions | None = None,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> EvalRecord:
    """WHDR (and dense metrics where ground truth exists) of one model file on DIW-format pairs; ``data``
    defaults to the bundled sample set."""
    from .data.sample import default_sample_dir
    from .evaluation import EvalOptions, evaluate_file

    return evaluate_file(model, data or default_sample_dir(), options or EvalOptions(), progress)


def prune(
    model: PathLike | torch.nn.Module,
    options: PruneOptions,
    out_dir: PathLike | None = None,
    example_inputs: torch.Tensor | None = None,
    train_step: Callable[[torch.nn.Module], Any] | None = None,
    score: Callable[[torch.nn.Module], float] | None = None,
    higher_is_better: bool = False,
    measurer: Measurer | None = None,
    resume: bool = False,
    log: Callable[[str], None] = print,
    ray_address: str | None = None,
) -> PruneHistory | ModuleResult:
    """NetAdapt against measured latency, for any model, with one engine and one options type.

    A mobiledepth checkpoint (``model`` a path) is fine-tuned on ``options.data`` and timed as its converted
    file through ``measurer`` (default: the host, fp32 TFLite at the model's size); the run's folder is
    ``out_dir`` and the history is returned. Any ``nn.Module`` is fine-tuned with ``train_step(model)`` and
    scored with ``score(model)`` (lower is better unless ``higher_is_better``), timed paired on this host as
    ONNX at ``example_inputs``' size; the layers that produce an output are never pruned (``options.freeze``
    names more modules); the pruned module and the history are returned. ``options.workers`` > 1 scores each
    iteration's proposals as Ray tasks (a private Ray on this computer, or the cluster at ``ray_address``).
    """
    import torch

    from .pruning.runs import prune_checkpoint, prune_module

    if isinstance(model, torch.nn.Module):
        if example_inputs is None or train_step is None or score is None:
            raise MobileDepthError("prune: a module needs example_inputs, train_step and score")
        return prune_module(model, example_inputs, train_step, score, options, higher_is_better,
                            None if out_dir is None else Path(out_dir), log, ray_address)  # fmt: skip
    if out_dir is None:
        raise MobileDepthError("prune: give the run's folder (out_dir) for a checkpoint")
    if measurer is None:
        from .model.checkpoint import load_checkpoint
        from .pruning.latency import Measurer

        h, w = load_checkpoint(model).config.input.size
        measurer = Measurer(height=h, width=w, calib=options.data)
    return prune_checkpoint(Path(model), Path(out_dir), options, measurer, resume, log, ray_address)


def predict(
    models: Sequence[PathLike], inputs: Sequence[PathLike], out_dir: PathLike, options: PredictOptions | None = None
) -> PredictRecord:
    """Colourised depth maps of images, folders or videos from one or more models (the first is the
    reference of the difference panels)."""
    from .visual.predict import PredictOptions, predict_files

    paths = [Path(m) for m in models]
    return predict_files(paths, [Path(i) for i in inputs], Path(out_dir), options or PredictOptions())


def profile(model: PathLike, options: ProfileOptions | None = None) -> LayerProfile:
    """Per-layer latency of a checkpoint or ONNX file on this computer (ONNX Runtime's profiler)."""
    from .profiling.host import ProfileOptions, profile_host

    return profile_host(Path(model), options or ProfileOptions())


def report(records: Sequence[Any], outputs: ReportOutputs | None = None) -> list[ReportRow]:
    """Join bench, eval and convert records into one row per timed file (and per file only evaluated);
    with ``outputs``, also write the tables, plots and the HTML page."""
    from .reporting.outputs import write_report
    from .reporting.table import build_rows

    rows = build_rows(list(records))
    if outputs is not None:
        write_report(rows, list(records), outputs)
    return rows


def load(
    path: PathLike,
    input_hw: tuple[int, int] | None = None,
    preprocess: Preprocess | None = None,
    threads: int | None = None,
) -> Predictor:
    """Open any model file for inference: ``load("x.onnx").predict(image)`` maps an H x W x 3 image in
    [0, 1] to one H x W map."""
    from .runtime.predictors import load_predictor

    return load_predictor(path, input_hw, preprocess, threads)
