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

from .. import __version__
from ..data.diw import DIWImage, read_diw_csv
from ..data.sample import default_sample_dir
from ..data.sources import images_for_split
from ..errors import MobileDepthError
from ..fileio import atomic_path, sha256_file, write_json
from ..model.checkpoint import load_checkpoint
from ..model.network import MobileDepth, count_parameters
from ..runtime.predictors import load_predictor
from .analyze import ModelAnalysis, analyze_tflite
from .calibration import calibration_images, load_images
from .export_onnx import INPUT_NAME, export_onnx
from .onnx2tf_runner import onnx2tf_version, run_onnx2tf
from .parity import Parity, compare
from .precisions import DEFAULT_PRECISIONS, PRECISIONS, parse_precisions
from .task_gate import MIN_GATE_PAIRS, GateResult, TaskAccuracy, gate, pair_results, task_accuracy

FP32_REL_L2_LIMIT = 1e-4
MAX_INT8_WHDR_DROP = 0.005
DIAGNOSIS_IMAGES = 4

__all__ = ["ConvertOptions", "ConvertReport", "ConvertedFile", "convert_checkpoint", "parse_precisions", "PRECISIONS"]


@dataclass
class ConvertOptions:
    precisions: tuple[str, ...] = DEFAULT_PRECISIONS
    height: int = 256
    width: int = 256
    calib: Path | None = None  # None: the bundled sample set
    parity_data: Path | None = None
    n_calib: int = 32
    n_parity: int = 8
    max_int8_whdr_drop: float = MAX_INT8_WHDR_DROP
    min_gate_pairs: int = MIN_GATE_PAIRS


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
    tools: dict[str, str] = field(default_factory=dict)
    record: str = "convert"
    created: str = ""

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
        raise MobileDepthError(f"{parity_dir}: no held-out images left for the parity check (all are calibration images)")
    csv = Path(parity_dir) / "DIW_test.csv" if Path(parity_dir).is_dir() else Path(parity_dir)
    entries = read_diw_csv(csv) if csv.is_file() and csv.suffix.lower() == ".csv" else []
    return _Inputs(calib_dir, calib_paths, parity_paths, [e for e in entries if e.path not in calibration])


def _new_report(checkpoint: Path, ckpt, params: int, options: ConvertOptions, inputs: _Inputs) -> ConvertReport:
    calibrated = any(PRECISIONS[p].calibrated for p in options.precisions)
    return ConvertReport(
        source={"path": str(checkpoint), "name": ckpt.metadata.get("name") or checkpoint.stem, "variant": ckpt.config.name,
                "sha256": sha256_file(checkpoint), "params": params, "trained": ckpt.metadata.get("trained")},
        input={"name": INPUT_NAME, "height": options.height, "width": options.width, "range": "RGB [0, 1]",
               "layout_tflite": "NHWC", "layout_onnx": "NCHW"},
        calibration={"dir": str(inputs.calib_dir), "images": len(inputs.calib_paths), "input_range": [0.0, 1.0]} if calibrated else {},
        tools={"mobiledepth": __version__, "torch": str(torch.__version__), "onnx2tf": onnx2tf_version()},
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    )


def _write_files(onnx_path: Path, result, out_dir: Path, stem: str, precisions: tuple[str, ...], source: Path) -> list[tuple[Path, str, str]]:
    """Copy the wanted TFLite files out of onnx2tf's scratch folder, each atomically."""
    written: list[tuple[Path, str, str]] = [(onnx_path, "onnx", "fp32")]
    for precision in PRECISIONS:
        if precision not in precisions:
            continue
        if precision not in result.files:
            raise MobileDepthError(f"{source}: onnx2tf wrote no {precision} file (see {out_dir / 'onnx2tf.log'})")
        target = out_dir / f"{stem}_{precision.replace('-', '_')}.tflite"
        with atomic_path(target) as tmp:
            shutil.copyfile(result.files[precision], tmp)
        written.append((target, "tflite", precision))
    return written


def _diagnose_int8(result, inputs: _Inputs, options: ConvertOptions) -> dict[str, Any]:
    """Per-tensor error of the int8 file against onnx2tf's float file on a few held-out images."""
    from ..quant.tensor_errors import tensor_errors

    if "int8" not in result.files or "fp32" not in result.files:
        return {}
    images = list(load_images(inputs.parity_paths[:DIAGNOSIS_IMAGES], options.height, options.width))
    rows = tensor_errors(result.files["fp32"], result.files["int8"], images)
    return {"images": len(images), "method": "accumulated error per activation tensor, int8 vs float file",
            "tensors": [asdict(r) for r in rows]}


def _float_parts(model: MobileDepth, calibration: np.ndarray, inputs: _Inputs, options: ConvertOptions) -> dict[str, Any]:
    """Task WHDR of the simulated int8 model with each part of the network kept in float."""
    from ..quant.float_groups import float_group_effects, whdr_scorer

    score = whdr_scorer(inputs.task_entries, options.height, options.width)
    float_whdr, int8_whdr, effects = float_group_effects(model, calibration, score)
    return {"method": "PyTorch simulation of the int8 file (quant/qat.py), one part at a time in float",
            "float_whdr": float_whdr, "simulated_int8_whdr": int8_whdr, "parts": [asdict(e) for e in effects]}


def _check_file(path: Path, fmt: str, precision: str, params: int, reference: list[np.ndarray], images: list[np.ndarray],
                inputs: _Inputs, source_results: np.ndarray | None, options: ConvertOptions) -> ConvertedFile:
    predictor = load_predictor(path)
    parity = compare(reference, predictor, images)
    task = None
    if inputs.task_entries:
        task = task_accuracy(pair_results(predictor.predict, inputs.task_entries, options.height, options.width), source_results)
    entry = ConvertedFile(path=str(path), format=fmt, precision=precision, size_bytes=path.stat().st_size, sha256=sha256_file(path),
                          params=params, parity=parity, analysis=analyze_tflite(path) if fmt == "tflite" else None, task=task,
                          note=PRECISIONS[precision].note if fmt == "tflite" else "")
    if precision == "fp32" and not parity.rel_l2 <= FP32_REL_L2_LIMIT:
        entry.status = "failed"
        entry.problem = f"fp32 relative L2 error {parity.rel_l2:.2e} exceeds {FP32_REL_L2_LIMIT:.0e}: the conversion changed the computation"
    elif fmt == "tflite" and PRECISIONS[precision].gated:
        entry.gate = gate(task, options.max_int8_whdr_drop, options.min_gate_pairs)
        entry.status = {"passed": "ok"}.get(entry.gate.verdict, entry.gate.verdict)
        entry.problem = entry.gate.problem
    return entry


def _torch_predict(model: MobileDepth) -> Callable[[np.ndarray], np.ndarray]:
    def predict(image: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)[None])))[0, 0].numpy()

    return predict


def convert_checkpoint(
    checkpoint: str | Path,
    out_dir: str | Path,
    options: ConvertOptions = ConvertOptions(),
    progress: Callable[[str], None] = lambda message: None,
) -> ConvertReport:
    checkpoint, out_dir = Path(checkpoint), Path(out_dir)
    ckpt = load_checkpoint(checkpoint)
    model = ckpt.build(with_heads=False).eval()
    stride = ckpt.config.output_stride
    if options.height % stride or options.width % stride:
        raise MobileDepthError(f"--size {options.height}x{options.width}: both sides must be multiples of {stride}")
    inputs = _select_inputs(options)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{checkpoint.stem}_{options.height}x{options.width}"
    params = count_parameters(model)
    report = _new_report(checkpoint, ckpt, params, options, inputs)

    progress("exporting ONNX")
    onnx_path = export_onnx(model, out_dir / f"{stem}.onnx", options.height, options.width)
    progress("running onnx2tf")
    calibrated = any(PRECISIONS[p].calibrated for p in options.precisions)
    calibration = calibration_images(inputs.calib_paths, options.height, options.width) if calibrated else None
    result = run_onnx2tf(onnx_path, calibration, INPUT_NAME)
    try:
        with atomic_path(out_dir / "onnx2tf.log") as tmp:
            tmp.write_text(result.log)
        written = _write_files(onnx_path, result, out_dir, stem, options.precisions, checkpoint)
        if "int8" in options.precisions:
            progress("diagnosing int8 per tensor")
            report.int8_diagnosis = _diagnose_int8(result, inputs, options)
    finally:
        shutil.rmtree(result.workdir, ignore_errors=True)

    progress("checking parity and task accuracy")
    images = list(load_images(inputs.parity_paths, options.height, options.width))
    predict = _torch_predict(model)
    reference = [predict(img) for img in images]
    source_results = pair_results(predict, inputs.task_entries, options.height, options.width) if inputs.task_entries else None
    if source_results is not None:
        report.task = {"images": len(inputs.task_entries), "pairs": int(source_results.size),
                       "source_whdr": float(1.0 - source_results.mean()), "max_int8_whdr_drop": options.max_int8_whdr_drop}
    for path, fmt, precision in written:
        report.files.append(_check_file(path, fmt, precision, params, reference, images, inputs, source_results, options))
    if calibration is not None and report.int8_diagnosis and inputs.task_entries:
        progress("int8 cost of each part (simulated, kept in float)")
        report.int8_diagnosis["float_parts"] = _float_parts(model, calibration, inputs, options)
    write_json(out_dir / "convert_report.json", report.to_dict())
    return report
