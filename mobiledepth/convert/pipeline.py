"""``mobiledepth convert``: checkpoint -> ONNX -> TFLite fp32/fp16/int8, each file checked against PyTorch.

Every written file (the ONNX file included) gets a parity row (max abs error, relative L2 error, and
how often it orders visibly different pixel pairs against PyTorch, ties apart), its task WHDR on
held-out DIW pairs, an op histogram and the list of ops the GPU delegate cannot run. int8 files also
get a per-tensor error diagnosis. The report is ``OUTDIR/convert_report.json``. Two gates fail a
conversion (report still written, caller exits non-zero): an fp32 file whose relative L2 error is above
1e-4 (the conversion changed the computation), and an int8 file that loses more than
``max_int8_whdr_drop`` task WHDR against the source model.
"""

from __future__ import annotations

import datetime as _dt
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from android_bench import RECORD_SCHEMA

from .. import __version__
from ..data.diw import DIWImage, read_diw_csv
from ..data.sample import default_sample_dir
from ..data.sources import images_for_split
from ..errors import MobileDepthError
from ..fileio import atomic_path, sha256_file, write_json
from ..model.network import MobileDepth
from ..runtime.predictors import Preprocess, load_predictor
from .analyze import ModelAnalysis, analyze_tflite
from .calibration import calibration_images, load_images
from .export_onnx import INPUT_NAME
from .onnx2tf_runner import onnx2tf_version, run_onnx2tf
from .options import ConvertOptions
from .parity import Parity, compare
from .precisions import PRECISIONS, parse_precisions
from .sources import SourceModel, from_module, load_source
from .task_gate import GateResult, TaskAccuracy, gate, pair_results, task_accuracy
from .tflite_float_resize import float_output_resize
from .tflite_rewrites import drop_saturating_clamps

FP32_REL_L2_LIMIT = 1e-4
DIAGNOSIS_IMAGES = 4

__all__ = [
    "ConvertOptions",
    "ConvertReport",
    "ConvertedFile",
    "convert",
    "convert_checkpoint",
    "parse_precisions",
    "PRECISIONS",
]


@dataclass
class ConvertedFile:
    path: str
    format: str
    precision: str
    size_bytes: int
    sha256: str
    params: int
    parity: Parity
    analysis: ModelAnalysis | None
    task: TaskAccuracy | None = None
    gate: GateResult | None = None
    note: str = ""
    status: str = "ok"  # ok | failed | unverified
    problem: str = ""


@dataclass
class ConvertReport:
    source: dict[str, Any]
    input: dict[str, Any]
    files: list[ConvertedFile] = field(default_factory=list)
    calibration: dict[str, Any] = field(default_factory=dict)
    task: dict[str, Any] = field(default_factory=dict)
    int8_diagnosis: dict[str, Any] = field(default_factory=dict)
    # rewrites of what onnx2tf converted and wrote: {"depth_to_space": [ONNX node, ...] (exact, onnx_rewrites.py),
    # "saturating_clamps_int8": [tensor, ...] (tflite_rewrites.py), "float_resize_int8": [output tensor, ...]
    # (tflite_float_resize.py), "note": ...}
    graph_rewrites: dict[str, Any] = field(default_factory=dict)
    tools: dict[str, str] = field(default_factory=dict)
    record: str = "convert"
    created: str = ""
    schema: int = RECORD_SCHEMA
    tool: dict[str, str] = field(default_factory=lambda: {"name": "mobiledepth", "version": __version__})

    @property
    def failed(self) -> list[ConvertedFile]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def unverified(self) -> list[ConvertedFile]:
        return [f for f in self.files if f.status == "unverified"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Inputs:
    """The images each phase uses: calibration, parity (held out) and task pairs (held out)."""

    calib_dir: Path
    calib_paths: list[Path]
    parity_paths: list[Path]
    task_entries: list[DIWImage]


def _select_inputs(options: ConvertOptions) -> _Inputs:
    sample = default_sample_dir() if options.calib is None or options.parity_data is None else None
    calib_dir = options.calib or sample
    parity_dir = options.parity_data or sample
    calib_paths = images_for_split(calib_dir, "train")[: options.n_calib]
    calibration = set(calib_paths)
    parity_paths = [p for p in images_for_split(parity_dir, "test") if p not in calibration][: options.n_parity]
    if not parity_paths:
        raise MobileDepthError(
            f"{parity_dir}: no held-out images left for the parity check (all are calibration images)"
        )
    csv = Path(parity_dir) / "DIW_test.csv" if Path(parity_dir).is_dir() else Path(parity_dir)
    entries = read_diw_csv(csv) if csv.is_file() and csv.suffix.lower() == ".csv" else []
    return _Inputs(calib_dir, calib_paths, parity_paths, [e for e in entries if e.path not in calibration])


def _new_report(source: SourceModel, options: ConvertOptions, inputs: _Inputs) -> ConvertReport:
    calibrated = any(PRECISIONS[p].calibrated for p in options.precisions)
    pre = source.preprocess
    return ConvertReport(
        source=source.block,
        input={
            "name": INPUT_NAME,
            "height": options.height,
            "width": options.width,
            "range": "RGB [0, 1]" if pre == Preprocess() else f"(RGB [0, 1] * {pre.pixel_scale} - mean) / std",
            "preprocess": {"mean": list(pre.mean), "std": list(pre.std), "pixel_scale": pre.pixel_scale},
            "layout_tflite": "NHWC",
            "layout_onnx": "NCHW",
        },
        calibration={"dir": str(inputs.calib_dir), "images": len(inputs.calib_paths), "input_range": [0.0, 1.0]}
        if calibrated
        else {},
        tools={"mobiledepth": __version__, "torch": str(torch.__version__), "onnx2tf": onnx2tf_version()},
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    )


def _write_files(
    onnx_path: Path,
    result,
    out_dir: Path,
    stem: str,
    options: ConvertOptions,
    source: Path,
    rewrites: dict[str, Any],
) -> list[tuple[Path, str, str]]:
    """Copy the wanted TFLite files out of onnx2tf's scratch folder, each atomically; on the way integer files
    lose their saturation-only clamps and the int8 file's output resize runs in float unless
    ``options.int8_output`` says int8 (tflite_rewrites.py, tflite_float_resize.py; recorded in ``rewrites``)."""
    written: list[tuple[Path, str, str]] = [(onnx_path, "onnx", "fp32")]
    for precision in PRECISIONS:
        if precision not in options.precisions:
            continue
        if precision not in result.files:
            raise MobileDepthError(f"{source}: onnx2tf wrote no {precision} file (see {out_dir / 'onnx2tf.log'})")
        target = out_dir / f"{stem}_{precision.replace('-', '_')}.tflite"
        data = result.files[precision].read_bytes()
        if PRECISIONS[precision].calibrated:
            data = _integer_file_passes(data, precision, options, rewrites)
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
        written.append((target, "tflite", precision))
    return written


def _integer_file_passes(data: bytes, precision: str, options: ConvertOptions, rewrites: dict[str, Any]) -> bytes:
    """The edits a calibrated file gets before it is written, each recorded as ``<pass>_<precision>``. Each pass
    checks tensor types itself, so a file with float activations (int8-dynamic) comes back unchanged."""
    removal = drop_saturating_clamps(data)
    if removal.removed:
        rewrites[f"saturating_clamps_{precision}"] = list(removal.removed)
    if options.int8_output != "float":
        return removal.data
    moved = float_output_resize(removal.data)
    if moved.moved:
        rewrites[f"float_resize_{precision}"] = list(moved.moved)
    return moved.data


def _diagnose_int8(result, inputs: _Inputs, options: ConvertOptions) -> dict[str, Any]:
    """Per-tensor error of onnx2tf's int8 file against its float file on a few held-out images (before the
    saturation-only clamps are removed from the written file: their tensors stay there, never computed)."""
    from ..quant.tensor_errors import tensor_errors

    if "int8" not in result.files or "fp32" not in result.files:
        return {}
    images = [
        options.preprocess.apply(img[None])[0]
        for img in load_images(inputs.parity_paths[:DIAGNOSIS_IMAGES], options.height, options.width)
    ]
    rows = tensor_errors(result.files["fp32"], result.files["int8"], images)
    return {
        "images": len(images),
        "method": "accumulated error per activation tensor, int8 vs float file",
        "tensors": [asdict(r) for r in rows],
    }


def _float_parts(
    model: MobileDepth, calibration: np.ndarray, inputs: _Inputs, options: ConvertOptions, rewrites: dict[str, Any]
) -> dict[str, Any]:
    """Task WHDR of the simulated int8 model with each part of the network kept in float. The report's
    rewrites say whether the file folded the input and resizes its output in float, so the simulation rounds
    where this file rounds."""
    from ..quant.float_groups import float_group_effects, whdr_scorer

    input_folded, round_output = bool(rewrites.get("input_fold")), not rewrites.get("float_resize_int8")
    score = whdr_scorer(inputs.task_entries, options.height, options.width)
    float_whdr, int8_whdr, effects = float_group_effects(model, calibration, score, input_folded, round_output)
    return {
        "method": "PyTorch simulation of the int8 file (quant/qat.py), one part at a time in float",
        "input_folded": input_folded,
        "output_rounded": round_output,
        "float_whdr": float_whdr,
        "simulated_int8_whdr": int8_whdr,
        "parts": [asdict(e) for e in effects],
    }


def _check_file(
    path: Path,
    fmt: str,
    precision: str,
    params: int,
    reference: list[np.ndarray],
    images: list[np.ndarray],
    inputs: _Inputs,
    source_results: np.ndarray | None,
    options: ConvertOptions,
) -> ConvertedFile:
    predictor = load_predictor(path, preprocess=options.preprocess)
    parity = compare(reference, predictor, images)
    task = None
    if inputs.task_entries:
        task = task_accuracy(
            pair_results(predictor.predict, inputs.task_entries, options.height, options.width),
            source_results,
            [len(e.pairs) for e in inputs.task_entries],
        )
    entry = ConvertedFile(
        path=str(path),
        format=fmt,
        precision=precision,
        size_bytes=path.stat().st_size,
        sha256=sha256_file(path),
        params=params,
        parity=parity,
        analysis=analyze_tflite(path) if fmt == "tflite" else None,
        task=task,
        note=PRECISIONS[precision].note if fmt == "tflite" else "",
    )
    if precision == "fp32" and not parity.rel_l2 <= FP32_REL_L2_LIMIT:
        entry.status = "failed"
        entry.problem = (
            f"fp32 relative L2 error {parity.rel_l2:.2e} exceeds {FP32_REL_L2_LIMIT:.0e}: the conversion "
            "changed the computation"
        )
    elif fmt == "tflite" and PRECISIONS[precision].gated:
        calibrated = len(inputs.calib_paths) if PRECISIONS[precision].calibrated else None
        entry.gate = gate(task, options.max_int8_whdr_drop, options.min_gate_pairs, calibrated)
        entry.status = {"passed": "ok"}.get(entry.gate.verdict, entry.gate.verdict)
        entry.problem = entry.gate.problem
    return entry


def convert_checkpoint(
    checkpoint: str | Path | torch.nn.Module,
    out_dir: str | Path,
    options: ConvertOptions = ConvertOptions(),
    progress: Callable[[str], None] = lambda message: None,
) -> ConvertReport:
    """Convert a model file (a mobiledepth checkpoint, ONNX, TorchScript or torch.export ``.pt2``) or, from
    Python, an ``nn.Module`` (``mobiledepth.convert(module, "out", ConvertOptions(height=.., width=..))``)."""
    if isinstance(checkpoint, torch.nn.Module):
        return convert_module(checkpoint, out_dir, options, type(checkpoint).__name__.lower(), progress)
    checkpoint = Path(checkpoint)
    source = load_source(checkpoint, (options.height, options.width), options.preprocess)
    return convert(source, out_dir, options, progress, stem=checkpoint.stem)


def convert_module(
    module: torch.nn.Module,
    out_dir: str | Path,
    options: ConvertOptions = ConvertOptions(),
    name: str = "model",
    progress: Callable[[str], None] = lambda message: None,
) -> ConvertReport:
    """Python API: an ``nn.Module`` taking N x 3 x H x W (after ``options.preprocess``), one map out."""
    source = from_module(module, (options.height, options.width), options.preprocess, name)
    return convert(source, out_dir, options, progress, stem=name)


def _onnx2tf_files(
    source: SourceModel,
    onnx_path: Path,
    inputs: _Inputs,
    options: ConvertOptions,
    out_dir: Path,
    stem: str,
    report: ConvertReport,
    progress: Callable[[str], None],
):
    calibrated = any(PRECISIONS[p].calibrated for p in options.precisions)
    calibration = calibration_images(inputs.calib_paths, options.height, options.width) if calibrated else None
    pre = options.preprocess
    progress("running onnx2tf")
    result = run_onnx2tf(
        onnx_path,
        None if calibration is None else calibration * pre.pixel_scale,
        onnx_input_name(onnx_path),
        mean=pre.mean,
        std=pre.std,
    )
    report.graph_rewrites = {name: list(nodes) for name, nodes in result.rewrites.applied.items()}
    report.graph_rewrites["note"] = result.rewrites.note
    try:
        with atomic_path(out_dir / "onnx2tf.log") as tmp:
            tmp.write_text(result.log)
        written = _write_files(
            onnx_path,
            result,
            out_dir,
            stem,
            options,
            Path(source.block.get("path") or stem),
            report.graph_rewrites,
        )
        if "int8" in options.precisions:
            progress("diagnosing int8 per tensor")
            report.int8_diagnosis = _diagnose_int8(result, inputs, options)
    finally:
        shutil.rmtree(result.workdir, ignore_errors=True)
    return written, calibration


def onnx_input_name(path: Path) -> str:
    import onnx

    return onnx.load(str(path), load_external_data=False).graph.input[0].name


def convert(
    source: SourceModel,
    out_dir: str | Path,
    options: ConvertOptions = ConvertOptions(),
    progress: Callable[[str], None] = lambda message: None,
    stem: str | None = None,
) -> ConvertReport:
    """Write ONNX + TFLite files for ``source`` and check each against it (parity, task WHDR, gates)."""
    out_dir = Path(out_dir)
    inputs = _select_inputs(options)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{stem or source.name}_{options.height}x{options.width}"
    report = _new_report(source, options, inputs)
    progress("exporting ONNX")
    onnx_path = source.write_onnx(out_dir / f"{stem}.onnx")
    written, calibration = _onnx2tf_files(source, onnx_path, inputs, options, out_dir, stem, report, progress)

    progress("checking parity and task accuracy")
    images = list(load_images(inputs.parity_paths, options.height, options.width))
    reference = [source.reference(img) for img in images]
    source_results = (
        pair_results(source.reference, inputs.task_entries, options.height, options.width)
        if inputs.task_entries
        else None
    )
    if source_results is not None:
        report.task = {
            "images": len(inputs.task_entries),
            "pairs": int(source_results.size),
            "source_whdr": float(1.0 - source_results.mean()),
            "max_int8_whdr_drop": options.max_int8_whdr_drop,
        }
    for path, fmt, precision in written:
        report.files.append(
            _check_file(path, fmt, precision, source.params or 0, reference, images, inputs, source_results, options)
        )
    if calibration is not None and report.int8_diagnosis and inputs.task_entries and source.module is not None:
        progress("int8 cost of each part (simulated, kept in float)")
        rewrites = report.graph_rewrites
        report.int8_diagnosis["float_parts"] = _float_parts(source.module, calibration, inputs, options, rewrites)
    write_json(out_dir / "convert_report.json", report.to_dict())
    return report
