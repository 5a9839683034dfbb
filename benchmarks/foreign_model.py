"""A public network nobody here wrote, through `mobiledepth convert`: PaddleOCR's PP-OCRv4 text detector (a DB
probability map, dynamic H/W, ImageNet mean/std on [0, 1] pixels), as rapidocr-onnxruntime 1.4.4 ships it.

    pip download rapidocr_onnxruntime==1.4.4 --no-deps -d /tmp/wheels      # once (PyPI; 4.7 MB ONNX inside)
    python benchmarks/foreign_model.py --wheel /tmp/wheels/rapidocr_onnxruntime-1.4.4-py3-none-any.whl

The ONNX file is read out of the wheel (nothing is installed). Calibration uses text pages rendered here
(PIL's default font on random paper colours); parity and the mask gate use held-out rendered pages and,
as evaluation only, scikit-image's two text photographs (`text.png`, `page.png`). ``--task mask`` at the
detector's own threshold (0.3): mean IoU of each file's text mask with the ONNX model's. Prints the
conversion table (parity, task score and gate, host speed paired against fp32) and writes JSON.
"""

from __future__ import annotations

import argparse
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from rich.console import Console

from mobiledepth.fileio import scratch_dir, write_json

DET_MODEL = "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx"
WORDS = "depth phone latency paired convert int8 mobile network camera photograph measure".split()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheel", type=Path, required=True, help="rapidocr_onnxruntime-1.4.4-py3-none-any.whl")
    parser.add_argument("--out", type=Path, default=Path("build/benchmarks/foreign_model.json"))
    parser.add_argument("--size", default="320x480")
    parser.add_argument("--pages", type=int, default=48)
    return parser.parse_args()


def extract_model(wheel: Path, work: Path) -> Path:
    with zipfile.ZipFile(wheel) as archive:
        target = work / "ppocrv4_det.onnx"
        target.write_bytes(archive.read(DET_MODEL))
    return target


def render_pages(folder: Path, n: int, seed: int, hw: tuple[int, int]) -> Path:
    """Pages of printed words on paper-like backgrounds: the detector's object, in our own pixels."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    font = ImageFont.load_default(size=18)
    for i in range(n):
        paper = tuple(int(v) for v in rng.integers(170, 256, 3))
        page = Image.new("RGB", (hw[1], hw[0]), paper)
        draw = ImageDraw.Draw(page)
        for _ in range(int(rng.integers(4, 12))):
            text = " ".join(rng.choice(WORDS, int(rng.integers(1, 5))))
            ink = tuple(int(v) for v in rng.integers(0, 90, 3))
            draw.text((int(rng.integers(0, hw[1] - 120)), int(rng.integers(0, hw[0] - 24))), text, fill=ink, font=font)
        page.save(folder / f"page_{i:03d}.png")
    return folder


def skimage_pages(folder: Path) -> Path:
    """scikit-image's two text photographs, as evaluation images (never calibration)."""
    from mobiledepth.data.photos import photo_folder

    folder.mkdir(parents=True)
    for name in ("text.png", "page.png"):
        with Image.open(photo_folder() / name) as img:
            img.convert("RGB").save(folder / name)
    return folder


def convert_once(model: Path, work: Path, calib: Path, parity: Path, size: tuple[int, int]):
    from mobiledepth.api import convert
    from mobiledepth.conversion.options import ConvertOptions
    from mobiledepth.inputs import Preprocess

    options = ConvertOptions(precisions=("fp32", "fp16", "int8"), size=size, task="mask", mask_threshold=0.3,
                             calib=calib, parity_data=parity, n_calib=32, n_parity=16, speed_rounds=20,
                             preprocess=Preprocess(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)))  # fmt: skip
    return convert(model, work / "converted", options)


def main() -> int:
    from mobiledepth.cli.common import parse_size
    from mobiledepth.conversion.view import convert_tables
    from mobiledepth.records import host_device

    args, console, started = parse_args(), Console(width=160), time.time()
    work = scratch_dir("foreign_model-")
    size = parse_size(args.size)
    model = extract_model(args.wheel, work)
    calib = render_pages(work / "calib", args.pages, 1, size)
    held_out = render_pages(work / "parity", 14, 2, size)
    skimage_pages(work / "skimage")
    for p in (work / "skimage").iterdir():
        (held_out / p.name).write_bytes(p.read_bytes())
    report = convert_once(model, work, calib, held_out, size)
    for table in convert_tables(report):
        console.print(table)
    rows = [{"precision": f.precision, "format": f.format, "status": f.status, "size_mb": f.size_bytes / 1e6,
             "max_abs": f.parity.outputs[0].max_abs if f.parity else None,
             "snr_db": f.parity.outputs[0].snr_db if f.parity else None,
             "mask_iou": f.task.value if f.task else None, "iou_interval": list(f.task.interval) if f.task else None,
             "speed_vs_fp32": f.speed.ratio.speedup().median if f.speed and f.speed.ratio else None,
             "verdict": f.speed.verdict(f.precision) if f.speed else ""} for f in report.files]  # fmt: skip
    host = host_device()
    result = {"host": f"{host.model} ({host.cores} cores)", "model": DET_MODEL, "size": args.size, "rows": rows,
              "wall_s": time.time() - started}  # fmt: skip
    write_json(args.out, result)
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
