"""``mobiledepth convert``: a model -> ONNX -> TFLite fp32/fp16/int8, every file checked against the source.

The conversion reads top to bottom as its stages: recognise the source (:mod:`.sources`), choose and
check its outputs and write the fixed-size ONNX file (:mod:`.export`), run onnx2tf (:mod:`.onnx2tf_runner`),
copy each precision's file out through the passes its row of the precision table names (:mod:`.files`),
time the files on this host (:mod:`.speed`), check each against the source (:mod:`.verify`), diagnose the
int8 file (:mod:`.diagnose`). Each stage returns a typed piece; the report is assembled once, at the end,
and written beside the files as ``convert_report.json``.

Nothing is left half-done: the folder's old report goes first (a report never describes files this run
did not write), and a conversion that fails removes the files it wrote before its one error line.
"""

from __future__ import annotations

import datetime as _dt
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .. import __version__
from ..fileio import atomic_path
from ..locks import FolderLock
from ..records import ConvertReport
from ..records.conversion import Calibration, FileReport, TaskSetup, Tools
from ..records.store import write_record
from .calibration import calibration_images, load_images
from .data import ConvertData, select_data
from .diagnose import diagnosed_precision, float_parts, tensor_diagnosis
from .export import Exported, check_outputs, export_stage, select_outputs
from .files import Written, write_tflite_files
from .onnx2tf_runner import Onnx2TfResult, onnx2tf_version, run_onnx2tf
from .options import ConvertOptions
from .precisions import PRECISIONS, REFERENCE_PRECISION
from .sources import SourceModel, from_module, load_source
from .speed import host_speeds
from .tasks import TaskMetric
from .verify import SourceResults, source_results, verify_file

REPORT_NAME = "convert_report.json"
Progress = Callable[[str], None]


def open_source(model: str | Path | torch.nn.Module, options: ConvertOptions) -> tuple[SourceModel, str]:
    """The source and the stem its files are named by."""
    if isinstance(model, torch.nn.Module):
        name = type(model).__name__.lower()
        return from_module(model, options.size, options.preprocess, name), name
    path = Path(model)
    return load_source(path, options.size, options.preprocess), path.stem


def convert_model(
    model: str | Path | torch.nn.Module,
    out_dir: Path,
    options: ConvertOptions = ConvertOptions(),
    progress: Progress = lambda message: None,
) -> ConvertReport:
    """Convert a model (file or ``nn.Module``) and check every written file; see the module note."""
    source, stem = open_source(model, options)
    selected = select_outputs(source, options.outputs)
    outputs = check_outputs(source, selected, options.task)  # before anything is written
    data = select_data(options)
    stem = f"{stem}_{source.spec.height}x{source.spec.width}"
    with FolderLock(out_dir, "convert"):  # one converter per folder: two would mix their files under one report
        (out_dir / REPORT_NAME).unlink(missing_ok=True)  # gone before any file it describes is replaced
        written: list[Path] = []
        try:
            progress("exporting ONNX")
            exported = export_stage(source, out_dir / f"{stem}.onnx", selected, outputs, options.fold_preprocess)
            written.append(exported.onnx)
            _, report = _convert_and_check(source, exported, data, options.task_metric, options, out_dir, stem,
                                           progress, written)  # fmt: skip
        except BaseException:  # an error, Ctrl-C or SIGTERM: the files this run wrote go with it
            for path in written:
                path.unlink(missing_ok=True)
            raise
        write_record(out_dir / REPORT_NAME, report)
    return report


def _convert_and_check(
    source: SourceModel,
    exported: Exported,
    data: ConvertData,
    metric: TaskMetric,
    options: ConvertOptions,
    out_dir: Path,
    stem: str,
    progress: Progress,
    written: list[Path],
) -> tuple[list[Written], ConvertReport]:
    calibration = _calibration(data, exported, options)
    progress("running onnx2tf")
    pre = exported.spec.preprocess
    result = run_onnx2tf(
        exported.onnx,
        None if calibration is None else calibration * pre.pixel_scale,
        onnx_input_name(exported.onnx),
        mean=pre.mean,
        std=pre.std,
    )
    try:
        log = out_dir / "onnx2tf.log"
        with atomic_path(log) as tmp:
            tmp.write_text(result.log)
        written.append(log)
        files, rewrites = write_tflite_files(
            result, out_dir, stem, options.precisions, options.int8_output == "float", str(source.info.path or stem)
        )
        written += [f.path for f in files]
        files = [Written(exported.onnx, "onnx", REFERENCE_PRECISION), *files]
        progress("checking parity and task accuracy")
        images = list(load_images(list(data.parity_paths), *exported.spec.size))
        src = source_results(source, exported, data, metric, images)
        reports = _check_files(files, result, src, source, exported, data, metric, options, progress)
        diagnosis = _diagnosis(result, source, calibration, data, exported, options, rewrites, images, progress)
    finally:
        shutil.rmtree(result.workdir, ignore_errors=True)
    report = ConvertReport(
        source=source.info,
        input=exported.spec,
        files=tuple(reports),
        task=_task_setup(metric, data, src, options),
        calibration=None if calibration is None else Calibration(str(data.calib_dir), len(data.calib_paths)),
        int8_diagnosis=diagnosis,
        rewrites=rewrites,
        tools=Tools(mobiledepth=__version__, torch=str(torch.__version__), onnx2tf=onnx2tf_version()),
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    )
    return files, report


def _calibration(data: ConvertData, exported: Exported, options: ConvertOptions) -> np.ndarray | None:
    if not any(PRECISIONS[p].calibrated for p in options.precisions):
        return None
    return calibration_images(list(data.calib_paths), *exported.spec.size)


def _check_files(
    files: list[Written],
    result: Onnx2TfResult,
    src: SourceResults,
    source: SourceModel,
    exported: Exported,
    data: ConvertData,
    metric: TaskMetric,
    options: ConvertOptions,
    progress: Progress,
) -> list[FileReport]:
    """Every written file verified, with its host speed against the fp32 file (onnx2tf's, when fp32 was not
    asked for: the comparison is what matters, not which file is kept)."""
    speeds = {}
    tflites = [f.path for f in files if f.format == "tflite"]
    if options.speed and tflites:
        progress("timing the files on this host (paired against fp32)")
        reference = next(
            (f.path for f in files if f.format == "tflite" and f.precision == REFERENCE_PRECISION),
            result.files[REFERENCE_PRECISION],
        )
        speeds = host_speeds(list(dict.fromkeys([reference, *tflites])), reference, options.speed_rounds)
    limits = (options.min_gate_pairs, options.min_gate_images)
    return [
        verify_file(
            f.path,
            f.format,
            f.precision,
            src,
            exported,
            data,
            metric,
            options.task,
            source.info.params,
            speeds.get(f.path),
            options.strict,
            limits,
        )
        for f in files
    ]


def _diagnosis(
    result: Onnx2TfResult,
    source: SourceModel,
    calibration: np.ndarray | None,
    data: ConvertData,
    exported: Exported,
    options: ConvertOptions,
    rewrites,
    images: list[np.ndarray],
    progress: Progress,
):
    precision = diagnosed_precision(options.precisions)
    if precision is None:
        return None
    progress("diagnosing int8 per tensor")
    batch = [exported.spec.preprocess.apply(img[None])[0] for img in images]
    diagnosis = tensor_diagnosis(result, precision, batch)
    if diagnosis is None or calibration is None or source.module is None or not data.task_entries:
        return diagnosis
    progress("int8 cost of each part (simulated, kept in float)")
    parts = float_parts(source.module, calibration, data, exported.spec.size, precision, rewrites)
    from dataclasses import replace

    return replace(diagnosis, float_parts=parts)


def _task_setup(metric: TaskMetric, data: ConvertData, src: SourceResults, options: ConvertOptions) -> TaskSetup:
    pairs = 0 if src.pairs is None else int(src.pairs.size)
    return TaskSetup(
        task=options.task,
        metric=metric.name,
        limit=metric.limit,
        data=data.parity_label,
        images=len(data.task_entries) if metric.needs_pairs else len(src.images),
        pairs=pairs,
        source_value=None if src.pairs is None or not pairs else float(1.0 - src.pairs.mean()),
        threshold=options.mask_threshold if options.task == "mask" else None,
    )


def onnx_input_name(path: Path) -> str:
    import onnx

    return onnx.load(str(path), load_external_data=False).graph.input[0].name
