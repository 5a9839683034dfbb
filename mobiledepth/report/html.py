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


def convert_section(records: list[dict[str, Any]]) -> str:
    rows = []
    for rec in records:
        for f in rec.get("files", []):
            task = f.get("task") or {}
            rows.append(
                [
                    Path(f["path"]).name,
                    f["precision"],
                    f.get("status", "ok"),
                    "" if task.get("whdr") is None else f"{task['whdr']:.4f}",
                    "" if task.get("drop") is None else f"{task['drop']:+.4f}",
                    f.get("problem", ""),
                ]
            )
    head = ["File", "Precision", "Gate", "Task WHDR", "Drop vs source", "Problem"]
    return f"<h2>Conversion gates</h2>{_table(head, rows)}" if rows else ""


def predict_section(records: list[dict[str, Any]]) -> str:
    parts = []
    for rec in records:
        for picture in rec["pictures"]:
            path = Path(picture)
            if path.is_file():
                parts.append(f"<h3>{html.escape(path.name)}</h3>{_img(path.read_bytes(), path.name)}")
        diffs = [
            [d["image"], d["model"], f"{d['mean_abs_percent']:.3f}", f"{d['p95_abs_percent']:.3f}"]
            for d in rec["differences"]
        ]
        if diffs:
            parts.append(_table(["Image", "Model", "Mean |diff| % of range", "p95 %"], diffs))
    return "<h2>Depth maps</h2>" + "".join(parts) if parts else ""


def profile_section(records: list[dict[str, Any]], top: int = 15) -> str:
    parts = []
    for rec in records:
        title = (
            f"{rec['model']} on {rec['device']} ({rec['runtime']}): layers sum {rec['layer_sum_ms']:.2f} ms = "
            f"{100 * rec['coverage']:.1f}% of the {rec['end_to_end_ms']:.2f} ms end-to-end median"
        )
        rows = [
            [
                i,
                r["module"] or r["name"],
                r["op"],
                f"{r['ms']:.3f}",
                f"{100 * r['share']:.1f}",
                f"{100 * r['cumulative']:.1f}",
            ]
            for i, r in enumerate(rec["layers"][:top], start=1)
        ]
        parts.append(
            f"<h3>{html.escape(title)}</h3>"
            + _table(["#", "Layer (module)", "Op", "ms", "Share %", "Cumulative %"], rows)
        )
    if len(records) >= 2:  # the first two side by side, per module: where one file spends more than the other
        from ..profile.layers import LayerProfile
        from ..profile.view import comparison_rows

        a, b = (LayerProfile.from_dict(r) for r in records[:2])
        parts.append(
            f"<h3>{html.escape(f'Per module: {a.model} vs {b.model} (ms per run)')}</h3>"
            + _table(["Module", a.model, b.model, "Ratio"], comparison_rows(a, b, top))
        )
    return "<h2>Per-layer latency</h2>" + "".join(parts) if parts else ""


def write_html(
    path: str | os.PathLike, rows: list[ReportRow], records: list[dict[str, Any]], paper: bool = True
) -> Path:
    kinds: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        kinds.setdefault(rec["record"], []).append(rec)
    created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    sources = sorted({rec.get("_source", "") for rec in records} - {""})
    body = "".join(
        [
            "<h1>mobiledepth report</h1>",
            f'<p class="note">Written {created} from {html.escape(", ".join(sources))}.</p>',
            results_section(rows, paper),
            convert_section(kinds.get("convert", [])),
            predict_section(kinds.get("predict", [])),
            profile_section(kinds.get("profile", [])),
        ]
    )
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>mobiledepth '
        f"report</title><style>{STYLE}</style></head><body>{body}</body></html>\n"
    )
    return write_text(path, page)
