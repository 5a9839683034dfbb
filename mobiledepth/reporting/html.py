"""``report --html``: one self-contained page (tables, plots and depth-map grids inline as base64
PNG, no external file or script) that a user can mail to a colleague and open anywhere."""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import os
from pathlib import Path
from typing import Any

from ..fileio import write_text
from ..records import ConvertReport, LayerProfile, PredictRecord
from ..records.store import AnyRecord
from .table import COLUMNS, ReportRow, format_cell

STYLE = """body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1500px}
table{border-collapse:collapse;margin:8px 0 20px;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f0f0f0}td.num{text-align:right}img{max-width:100%;border:1px solid #ddd;margin:6px 0}
.note{color:#666;font-size:12px}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}"""


def _table(head: list[str], rows: list[list[Any]]) -> str:
    cells = "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _figure_png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def results_section(rows: list[ReportRow], paper: bool) -> str:
    from .plot import build_report_figure

    table = _table([t for _, t in COLUMNS], [[format_cell(k, getattr(r, k)) for k, _ in COLUMNS] for r in rows])
    plot = _img(_figure_png(build_report_figure(rows, paper).figure), "latency and size vs WHDR") if rows else ""
    return f"<h2>Speed and accuracy</h2>{table}{plot}"


def convert_section(records: list[ConvertReport]) -> str:
    rows = []
    for rec in records:
        for f in rec.files:
            task = f.task
            rows.append(
                [
                    f.name,
                    f.precision,
                    f.status,
                    "" if task is None else f"{task.metric} {task.value:.4f}",
                    "" if task is None or task.drop is None else f"{task.drop:+.4f}",
                    "" if f.speed is None else f.speed.verdict(f.precision),
                    f.problem,
                ]
            )
    head = ["File", "Precision", "Gate", "Task score", "Drop vs source", "Speed on this host", "Problem"]
    return f"<h2>Conversion gates</h2>{_table(head, rows)}" if rows else ""


def predict_section(records: list[PredictRecord]) -> str:
    parts = []
    for rec in records:
        if rec.note:
            parts.append(f'<p class="note">{html.escape(rec.note)}</p>')
        for picture in rec.pictures:
            path = Path(picture)
            if path.is_file():
                parts.append(f"<h3>{html.escape(path.name)}</h3>{_img(path.read_bytes(), path.name)}")
        diffs = [[d.image, d.model, f"{d.mean_abs_percent:.3f}", f"{d.p95_abs_percent:.3f}"] for d in rec.differences]
        if diffs:
            parts.append(_table(["Image", "Model", "Mean |diff| % of range", "p95 %"], diffs))
    return "<h2>Depth maps</h2>" + "".join(parts) if parts else ""


def profile_section(records: list[LayerProfile], top: int = 15) -> str:
    parts = []
    for rec in records:
        title = (
            f"{rec.model} on {rec.device} ({rec.runtime}): layers sum {rec.layer_sum_ms:.2f} ms = "
            f"{100 * rec.coverage:.1f}% of the {rec.end_to_end_ms:.2f} ms end-to-end median"
        )
        rows = [
            [i, r.module or r.name, r.op, f"{r.ms:.3f}", f"{100 * r.share:.1f}", f"{100 * r.cumulative:.1f}"]
            for i, r in enumerate(rec.ranked()[:top], start=1)
        ]
        head = ["#", "Layer (module)", "Op", "ms", "Share %", "Cumulative %"]
        parts.append(f"<h3>{html.escape(title)}</h3>" + _table(head, rows))
    if len(records) >= 2:  # the first two side by side, per module: where one file spends more than the other
        from ..profiling.view import comparison_rows

        a, b = records[:2]
        parts.append(
            f"<h3>{html.escape(f'Per module: {a.model} vs {b.model} (ms per run)')}</h3>"
            + _table(["Module", a.model, b.model, "Ratio"], comparison_rows(a, b, top))
        )
    return "<h2>Per-layer latency</h2>" + "".join(parts) if parts else ""


def write_html(
    path: str | os.PathLike,
    rows: list[ReportRow],
    records: list[AnyRecord],
    paper: bool = True,
    sources: tuple[str, ...] = (),
) -> Path:
    created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    body = "".join(
        [
            "<h1>mobiledepth report</h1>",
            f'<p class="note">Written {created} from {html.escape(", ".join(sources))}.</p>',
            results_section(rows, paper),
            convert_section([r for r in records if isinstance(r, ConvertReport)]),
            predict_section([r for r in records if isinstance(r, PredictRecord)]),
            profile_section([r for r in records if isinstance(r, LayerProfile)]),
        ]
    )
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>mobiledepth '
        f"report</title><style>{STYLE}</style></head><body>{body}</body></html>\n"
    )
    return write_text(path, page)
