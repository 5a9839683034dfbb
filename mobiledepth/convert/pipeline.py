"""``mobiledepth convert``: checkpoint -> ONNX -> TFLite fp32/fp16/int8, each file checked against PyTorch.

Every written file (the ONNX file included) gets a parity row (max abs error, relative L2 error, and
WHDR vs PyTorch's ordering on held-out images), an op histogram and the list of ops the GPU delegate
cannot run. The report is ``OUTDIR/convert_report.json``. An fp32 file whose relative L2 error is
above 1e-4 is a conversion failure: the report is still written, and the caller exits non-zero.
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
from ..data.images import load_rgb, resize_rgb
from ..data.sample import default_sample_dir
from ..data.sources import images_for_split
from ..errors import MobileDepthError
from ..fileio import sha256_file, write_json
from ..model.checkpoint import load_checkpoint
from ..model.network import count_parameters
from ..runtime.predictors import load_predictor
from .analyze import ModelAnalysis, analyze_tflite
from .export_onnx import INPUT_NAME, export_onnx
from .onnx2tf_runner import onnx2tf_version, run_onnx2tf
from .parity import Parity, compare

PRECISIONS = ("fp32", "fp16", "int8")
FP32_REL_L2_LIMIT = 1e-4


@dataclass
class ConvertOptions:
    precisions: tuple[str, ...] = PRECISIONS
    height: int = 256
    width: int = 256
    calib: Path | None = None  # None: the bundled sample set
    parity_data: Path | None = None
    n_calib: int = 32
    n_parity: int = 8


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
    status: str = "ok"
    problem: str = ""


@dataclass
class ConvertReport:
    source: dict[str, Any]
    input: dict[str, Any]
    files: list[ConvertedFile] = field(default_factory=list)
    calibration: dict[str, Any] = field(default_factory=dict)
    tools: dict[str, str] = field(default_factory=dict)
    record: str = "convert"
    created: str = ""

    @property
    def failed(self) -> list[ConvertedFile]:
        return [f for f in self.files if f.status != "ok"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_precisions(text: str) -> tuple[str, ...]:
    wanted = tuple(p.strip().lower() for p in text.split(",") if p.strip())
    bad = [p for p in wanted if p not in PRECISIONS]
    if bad or not wanted:
        raise MobileDepthError(f"--precision: unknown {', '.join(bad) or 'empty list'}; choose from {', '.join(PRECISIONS)}")
    return wanted


def _load_images(paths: list[Path], height: int, width: int) -> np.ndarray:
    return np.stack([resize_rgb(load_rgb(p), height, width) for p in paths]).astype(np.float32)


def convert_checkpoint(
    checkpoint: str | Path,
    out_dir: str | Path,
    options: ConvertOptions = ConvertOptions(),
    progress: Callable[[str], None] = lambda message: None,
) -> ConvertReport:
    checkpoint = Path(checkpoint)
    out_dir = Path(out_dir)
    ckpt = load_checkpoint(checkpoint)
    model = ckpt.build(with_heads=False).eval()
    stride = ckpt.config.output_stride
    if options.height % stride or options.width % stride:
        raise MobileDepthError(f"--size {options.height}x{options.width}: both sides must be multiples of {stride}")
    sample = default_sample_dir() if options.calib is None or options.parity_data is None else None
    calib_dir = options.calib or sample
    parity_dir = options.parity_data or sample
    calib_paths = images_for_split(calib_dir, "train")[: options.n_calib]
    parity_paths = [p for p in images_for_split(parity_dir, "test") if p not in set(calib_paths)][: options.n_parity]
    if not parity_paths:
        raise MobileDepthError(f"{parity_dir}: no held-out images left for the parity check (all are calibration images)")

    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{checkpoint.stem}_{options.height}x{options.width}"
    params = count_parameters(model)
    report = ConvertReport(
        source={"path": str(checkpoint), "name": ckpt.metadata.get("name") or checkpoint.stem, "variant": ckpt.config.name,
                "sha256": sha256_file(checkpoint), "params": params, "trained": ckpt.metadata.get("trained")},
        input={"name": INPUT_NAME, "height": options.height, "width": options.width, "range": "RGB [0, 1]", "layout_tflite": "NHWC", "layout_onnx": "NCHW"},
        calibration={"dir": str(calib_dir), "images": len(calib_paths)} if "int8" in options.precisions else {},
        tools={"mobiledepth": __version__, "torch": str(torch.__version__), "onnx2tf": onnx2tf_version()},
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    )

    progress("exporting ONNX")
    onnx_path = export_onnx(model, out_dir / f"{stem}.onnx", options.height, options.width)
    progress("running onnx2tf")
    calibration = _load_images(calib_paths, options.height, options.width) if "int8" in options.precisions else None
    result = run_onnx2tf(onnx_path, calibration, INPUT_NAME)
    try:
        (out_dir / "onnx2tf.log").write_text(result.log)
        written: list[tuple[Path, str, str]] = [(onnx_path, "onnx", "fp32")]
        wanted = [p for p in ("fp32", "fp16", "int8", "int8-dynamic") if p in options.precisions or (p == "int8-dynamic" and "int8" in options.precisions)]
        for precision in wanted:
            if precision not in result.files:
                raise MobileDepthError(f"{checkpoint}: onnx2tf wrote no {precision} file (see {out_dir / 'onnx2tf.log'})")
            target = out_dir / f"{stem}_{precision.replace('-', '_')}.tflite"
            shutil.copy(result.files[precision], target)
            written.append((target, "tflite", precision))
    finally:
        shutil.rmtree(result.workdir, ignore_errors=True)

    progress("checking parity")
    images = _load_images(parity_paths, options.height, options.width)
    with torch.inference_mode():
        reference = [model(torch.from_numpy(img.transpose(2, 0, 1)[None].copy()))[0, 0].numpy() for img in images]
    for path, fmt, precision in written:
        parity = compare(reference, load_predictor(path), list(images))
        entry = ConvertedFile(
            path=str(path), format=fmt, precision=precision, size_bytes=path.stat().st_size, sha256=sha256_file(path),
            params=params, parity=parity, analysis=analyze_tflite(path) if fmt == "tflite" else None,
        )
        if precision == "fp32" and not parity.rel_l2 <= FP32_REL_L2_LIMIT:
            entry.status = "failed"
            entry.problem = f"fp32 relative L2 error {parity.rel_l2:.2e} exceeds {FP32_REL_L2_LIMIT:.0e}: the conversion changed the computation"
        report.files.append(entry)
    write_json(out_dir / "convert_report.json", report.to_dict())
    return report
