"""The fleet's table after a sweep: every measured file on every phone, FPS and WHDR, phones grouped.

Rows are the report's own (:func:`~mobiledepth.reporting.table.build_rows`); WHDR comes from each file's
convert report (the held-out pairs its task gate scored) when the file lies beside one, so a sweep of
converted files shows speed and accuracy together without a separate ``eval``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rich.text import Text

from ..modelinfo import convert_report_of
from ..records.lab import SweepJobRecord
from ..reporting.table import ReportRow, build_rows, format_cell
from ..tables import Table


def _whdr_of(path: str, sha: str) -> float | None:
    report = convert_report_of(Path(path), sha)
    entry = report.file_of(sha) if report else None
    task = entry.task if entry else None
    return task.value if task is not None and task.metric == "whdr" else None


def sweep_rows(records: list[SweepJobRecord]) -> list[ReportRow]:
    benches = [b for r in records for b in r.results]
    rows = []
    for row, bench in zip(build_rows(benches), benches):
        whdr = row.whdr if row.whdr is not None else _whdr_of(bench.model.path, bench.model.sha256)
        rows.append(replace(row, whdr=whdr))
    return sorted(rows, key=lambda r: (r.emulated, r.device, r.delegate, r.threads or 0, r.file))


SWEEP_COLUMNS = ("Phone", "File", "Precision", "Delegate", "Threads", "Median ms", "FPS", "WHDR", "Note")


def sweep_table(records: list[SweepJobRecord]) -> Table:
    """Phones grouped (a blank row between phones), emulated ones last and marked in the Note column."""
    table = Table(title="device lab: every file on every phone")
    for column in SWEEP_COLUMNS:
        table.add_column(column, justify="right" if column in ("Threads", "Median ms", "FPS", "WHDR") else "left")
    previous = None
    for row in sweep_rows(records):
        if previous is not None and row.device != previous:
            table.add_section()
        previous = row.device
        cells = (row.device, row.file, row.precision, row.delegate, row.threads, row.median_ms, row.fps, row.whdr,
                 row.note)  # fmt: skip
        keys = ("device", "file", "precision", "delegate", "threads", "median_ms", "fps", "whdr", "note")
        table.add_row(*(Text(format_cell(k, v)) for k, v in zip(keys, cells)))
    return table
