"""Terminal tables for a conversion report: one row per file, and the int8 per-tensor diagnosis."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text

from .pipeline import ConvertReport

STATUS_STYLE = {"ok": "green", "failed": "red", "unverified": "yellow"}
DIAGNOSIS_ROWS = 8


def _gpu(f) -> str:
    if f.analysis is None:
        return ""
    if f.analysis.gpu_compatible:
        return "all ops"
    return ", ".join(sorted({o.op for o in f.analysis.gpu_incompatible})) or "unknown"


def files_table(report: ConvertReport) -> Table:
    first = report.files[0]
    pairs = report.task.get("pairs", 0)
    ref = "ONNX Runtime on the source" if report.source.get("kind") == "onnx" else "PyTorch"
    title = (
        f"Conversion at {report.input['height']}x{report.input['width']}: parity vs {ref} on {first.parity.n_images} "
        f"held-out images; task WHDR on {pairs} held-out pairs (source "
        f"{report.task.get('source_whdr', float('nan')):.4f})"
    )
    table = Table(title=title)
    for col in (
        "File",
        "Precision",
        "Size MB",
        "Max abs err",
        "Rel L2 err",
        "Order err",
        "Ties",
        "Task WHDR",
        "Drop (95% CI)",
        "GPU delegate",
        "Status",
    ):
        table.add_column(col)
    for f in report.files:
        task = f.task
        table.add_row(
            Path(f.path).name,
            f.precision,
            f"{f.size_bytes / 1e6:.2f}",
            f"{f.parity.max_abs:.2e}",
            f"{f.parity.rel_l2:.2e}",
            f"{f.parity.whdr_vs_torch:.4f}",
            f"{f.parity.ties_vs_torch:.4f}",
            "" if task is None else f"{task.whdr:.4f}",
            "" if task is None else drop_text(task.drop, task.drop_ci),
            _gpu(f),
            Text(f.status, style=STATUS_STYLE.get(f.status, "")),
        )
    table.caption = _rewrites_caption(report.graph_rewrites)
    return table


def drop_text(drop: float | None, interval: tuple[float, float] | list[float] | None) -> str:
    """The paired WHDR drop and its image-bootstrap interval, e.g. '+0.0027 (-0.0004 to +0.0059)'."""
    if drop is None:
        return ""
    return f"{drop:+.4f}" + ("" if interval is None else f" ({interval[0]:+.4f} to {interval[1]:+.4f})")


# the integer-file passes' record keys (``<prefix><precision>``, pipeline.py) and what the caption says of each
PER_PRECISION_REWRITES = {
    "saturating_clamps_": "{n} saturation-only MINIMUM/MAXIMUM removed",
    "float_resize_": "the output's bilinear resize runs in float (DEQUANTIZE before it; fp32 output)",
}


def _rewrites_caption(rewrites: dict) -> str | None:
    """Say when the TFLite files come from a rewritten graph, so their op list is not a surprise."""
    parts = []
    if rewrites.get("depth_to_space"):
        parts.append(
            f"{len(rewrites['depth_to_space'])} nearest upsampling(s) written as DepthToSpace (XNNPACK runs it; "
            "checked identical in ONNX Runtime)"
        )
    if rewrites.get("input_fold"):
        parts.append("input normalisation folded into the first conv (no normalised tensor to round in int8)")
    for key, names in rewrites.items():
        for prefix, says in PER_PRECISION_REWRITES.items():
            if key.startswith(prefix) and names:
                parts.append(f"{key.removeprefix(prefix)}: {says.format(n=len(names))}")
    if rewrites.get("note"):
        parts.append(rewrites["note"])
    return "TFLite files: " + "; ".join(parts) if parts else None


def diagnosis_table(report: ConvertReport, rows: int = DIAGNOSIS_ROWS) -> Table | None:
    tensors = report.int8_diagnosis.get("tensors") if report.int8_diagnosis else None
    if not tensors:
        return None
    worst = sorted(tensors, key=lambda t: t["relative"], reverse=True)[:rows]
    table = Table(
        title=f"int8 file: the {len(worst)} most corrupted of {len(tensors)} tensors "
        f"(accumulated error vs float, {report.int8_diagnosis['images']} held-out images)"
    )
    for col in ("Tensor", "Shape", "Scale", "int8 range", "Float range", "RMSE/RMS", "RMSE/range", "Steps", "Clipped"):
        table.add_column(col)
    for t in worst:
        table.add_row(
            t["tensor"][-48:],
            "x".join(map(str, t["shape"][1:])),
            f"{t['scale']:.4f}",
            f"[{t['quant_min']:.2f}, {t['quant_max']:.2f}]",
            f"[{t['float_min']:.2f}, {t['float_max']:.2f}]",
            f"{t['relative']:.3f}",
            f"{t['rmse_over_range']:.4f}",
            f"{t['steps']:.1f}",
            f"{t['clipped']:.1e}",
        )
    return table


def float_parts_table(report: ConvertReport) -> Table | None:
    parts = (report.int8_diagnosis or {}).get("float_parts")
    if not parts:
        return None
    table = Table(
        title=f"int8 cost by part: simulated int8 WHDR {parts['simulated_int8_whdr']:.4f} vs float "
        f"{parts['float_whdr']:.4f}; WHDR with one part kept in float"
    )
    for col in ("Part kept in float", "Points", "WHDR", "Buys back"):
        table.add_column(col)
    for p in parts["parts"]:
        table.add_row(p["group"], str(p["points"]), f"{p['whdr']:.4f}", f"{p['gain']:+.4f}")
    return table


def convert_tables(report: ConvertReport) -> list[Table]:
    """Every table a conversion prints, in order."""
    return [t for t in (files_table(report), diagnosis_table(report), float_parts_table(report)) if t is not None]
