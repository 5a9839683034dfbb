"""Terminal tables for a conversion report: one row per file, the input contract, and the int8 diagnosis."""

from __future__ import annotations

from rich.text import Text

from ..records import ConvertReport
from ..records.conversion import FileReport, HostSpeed, OutputParity, TaskScore
from ..tables import Table

STATUS_STYLE = {"ok": "green", "failed": "red", "unverified": "yellow"}
DIAGNOSIS_ROWS = 8


def _gpu(f: FileReport) -> str:
    if f.analysis is None:
        return ""
    if f.analysis.gpu_compatible:
        return "all ops"
    return ", ".join(sorted({o.op for o in f.analysis.gpu_incompatible})) or "unknown"


def _worst(f: FileReport) -> OutputParity:
    """The output that moved most (by error over its range), the one a reader must see."""
    return max(f.parity.outputs, key=lambda o: (o.max_abs_over_range or 0.0, o.max_abs))


def _optional(value: float | None, fmt: str, none: str = "-") -> str:
    return none if value is None else format(value, fmt)


def task_text(task: TaskScore | None) -> str:
    if task is None:
        return ""
    return f"{task.value:.4f}" if task.metric != "snr_db" else f"{task.value:.1f} dB"


def drop_text(task: TaskScore | None) -> str:
    """The paired WHDR drop and its image-bootstrap interval, e.g. '+0.0027 (-0.0004 to +0.0059)'; for a
    per-image metric, its interval."""
    if task is None:
        return ""
    if task.drop is not None:
        interval = task.interval
        return f"{task.drop:+.4f}" + ("" if interval is None else f" ({interval[0]:+.4f} to {interval[1]:+.4f})")
    return "" if task.interval is None else f"({task.interval[0]:.4f} to {task.interval[1]:.4f})"


def speed_text(speed: HostSpeed | None) -> str:
    """'2.10x faster' / '1.43x SLOWER' / 'same' against the fp32 file on this host."""
    if speed is None:
        return ""
    if speed.ratio is None:
        return f"{speed.median_ms:.2f} ms (reference)"
    r = speed.ratio
    if r.low <= 1.0 <= r.high:
        return f"{speed.median_ms:.2f} ms, same as fp32"
    word = f"{1 / r.median:.2f}x faster" if r.median < 1.0 else f"{r.median:.2f}x SLOWER"
    return f"{speed.median_ms:.2f} ms, {word}"


def files_table(report: ConvertReport) -> Table:
    ref = "ONNX Runtime on the source" if report.source.kind == "onnx" else "PyTorch"
    first = report.files[0]
    task = report.task
    judged = (
        ""
        if task is None
        else (
            f"; task {task.task} ({task.metric}"
            + (
                f", source {task.source_value:.4f} on {task.pairs} held-out pairs"
                if task.source_value is not None
                else ""
            )
            + ")"
        )
    )
    table = Table(
        title=f"Conversion at {report.input.height}x{report.input.width}: parity vs {ref} on "
        f"{first.parity.images} held-out images ({first.parity.data}){judged}"
    )
    for col in (
        "File",
        "Precision",
        "Size MB",
        "Max abs err",
        "Err/range",
        "SNR dB",
        "Cosine",
        "Task",
        "Drop (95% CI)",
        "Speed on this host",
        "GPU delegate",
        "Status",
    ):
        table.add_column(col)
    for f in report.files:
        worst = _worst(f)
        table.add_row(
            f.name,
            f.precision,
            f"{f.size_bytes / 1e6:.2f}",
            f"{worst.max_abs:.2e}",
            _optional(worst.max_abs_over_range, ".2e"),
            _optional(worst.snr_db, ".1f", "exact"),
            _optional(worst.cosine, ".6f"),
            task_text(f.task),
            drop_text(f.task),
            speed_text(f.speed),
            _gpu(f),
            Text(f.status, style=STATUS_STYLE.get(f.status, "")),
        )
    table.caption = _rewrites_caption(report)
    return table


def contract_table(report: ConvertReport) -> Table:
    """What each file takes and gives: the input contract (layout, dtype, range, mean/std, int8 scale and
    zero point) and its outputs, so a phone app feeds it right."""
    table = Table(title="Input contract of every file (what an app must feed it)")
    for col in ("File", "Input", "Outputs"):
        table.add_column(col)
    for f in report.files:
        outs = ", ".join(f"{o.name} {'x'.join(map(str, o.shape))} {o.dtype}" if o.shape else o.name for o in f.outputs)
        table.add_row(f.name, f.input.describe(), outs)
    return table


def speed_lines(report: ConvertReport) -> list[str]:
    """'int8 runs 1.43x SLOWER than fp32 on this host', with the op types XNNPACK did not take."""
    lines = []
    for f in report.files:
        if f.speed is None or f.speed.ratio is None:
            continue
        line = f"{f.name}: {f.speed.verdict(f.precision)} ({f.speed.host}, {f.speed.threads} threads, paired)"
        if f.speed.undelegated_ops:
            line += f"; XNNPACK did not take: {', '.join(f.speed.undelegated_ops)}"
        lines.append(line)
    return lines


# the integer-file passes' record blocks (GraphRewrites) and what the caption says of each
PER_PRECISION_REWRITES = {
    "saturating_clamps": "{n} saturation-only MINIMUM/MAXIMUM removed",
    "float_resize": "the output's bilinear resize runs in float (DEQUANTIZE before it; fp32 output)",
}


def _rewrites_caption(report: ConvertReport) -> str | None:
    """Say when the TFLite files come from a rewritten graph, so their op list is not a surprise."""
    rewrites, parts = report.rewrites, []
    if rewrites.depth_to_space:
        parts.append(
            f"{len(rewrites.depth_to_space)} nearest upsampling(s) written as DepthToSpace (XNNPACK runs it; "
            "checked identical in ONNX Runtime)"
        )
    if rewrites.input_fold:
        parts.append("input normalisation folded into the first conv (no normalised tensor to round in int8)")
    for block, says in PER_PRECISION_REWRITES.items():
        for precision, names in getattr(rewrites, block).items():
            if names:
                parts.append(f"{precision}: {says.format(n=len(names))}")
    if rewrites.note:
        parts.append(rewrites.note)
    return "TFLite files: " + "; ".join(parts) if parts else None


def diagnosis_table(report: ConvertReport, rows: int = DIAGNOSIS_ROWS) -> Table | None:
    diagnosis = report.int8_diagnosis
    if diagnosis is None or not diagnosis.tensors:
        return None
    worst = sorted(diagnosis.tensors, key=lambda t: t.relative, reverse=True)[:rows]
    table = Table(
        title=f"int8 file: the {len(worst)} most corrupted of {len(diagnosis.tensors)} tensors "
        f"(accumulated error vs float, {diagnosis.images} held-out images)"
    )
    for col in ("Tensor", "Shape", "Scale", "int8 range", "Float range", "RMSE/RMS", "RMSE/range", "Steps", "Clipped"):
        table.add_column(col)
    for t in worst:
        table.add_row(
            t.tensor[-48:],
            "x".join(map(str, t.shape[1:])),
            f"{t.scale:.4f}",
            f"[{t.quant_min:.2f}, {t.quant_max:.2f}]",
            f"[{t.float_min:.2f}, {t.float_max:.2f}]",
            f"{t.relative:.3f}",
            f"{t.rmse_over_range:.4f}",
            f"{t.steps:.1f}",
            f"{t.clipped:.1e}",
        )
    return table


def float_parts_table(report: ConvertReport) -> Table | None:
    parts = report.int8_diagnosis.float_parts if report.int8_diagnosis else None
    if parts is None:
        return None
    table = Table(
        title=f"int8 cost by part: simulated int8 WHDR {parts.simulated_int8_whdr:.4f} vs float "
        f"{parts.float_whdr:.4f}; WHDR with one part kept in float"
    )
    for col in ("Part kept in float", "Points", "WHDR", "Buys back"):
        table.add_column(col)
    for p in parts.parts:
        table.add_row(p.group, str(p.points), f"{p.whdr:.4f}", f"{p.gain:+.4f}")
    return table


def convert_tables(report: ConvertReport) -> list[Table]:
    """Every table a conversion prints, in order."""
    tables = (files_table(report), contract_table(report), diagnosis_table(report), float_parts_table(report))
    return [t for t in tables if t is not None]
