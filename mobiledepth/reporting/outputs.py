"""Every file ``report`` can write, from one place, so the CLI and the demo share it.

The CLI only turns its flags into :class:`ReportOutputs`; the demo builds the same object. Each file is
written atomically by the writer it delegates to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import MobileDepthError
from ..fileio import write_json, write_text
from ..records.store import AnyRecord
from ..tables import Table
from .table import COLUMNS, ReportRow, format_cell, to_csv, to_markdown

PLOT_SUFFIXES = (".png", ".svg", ".pdf")
HTML_SUFFIXES = (".html", ".htm")


@dataclass(frozen=True)
class ReportOutputs:
    """Where to write the joined rows; ``paper`` draws the paper's reference points in their own panel."""

    json: Path | None = None
    csv: Path | None = None
    md: Path | None = None
    plot: Path | None = None
    html: Path | None = None
    paper: bool = True

    def check(self) -> None:
        """Reject wrong suffixes before any work, so nothing is half-done when a name is mistyped."""
        if self.plot is not None and self.plot.suffix.lower() not in PLOT_SUFFIXES:
            what = self.plot.suffix or "a file without a suffix"
            raise MobileDepthError(f"{self.plot}: --plot writes .png, .svg or .pdf, not {what}")
        if self.html is not None and self.html.suffix.lower() not in HTML_SUFFIXES:
            raise MobileDepthError(f"{self.html}: --html writes an .html file")


def rows_table(rows: list[ReportRow], title: str = "mobiledepth report") -> Table:
    table = Table(title=title)
    for _, heading in COLUMNS:
        table.add_column(heading)
    for row in rows:
        table.add_row(*(format_cell(k, getattr(row, k)) for k, _ in COLUMNS))
    return table


def write_report(
    rows: list[ReportRow], records: list[AnyRecord], outputs: ReportOutputs, sources: tuple[str, ...] = ()
) -> list[Path]:
    """Write every requested file; returns them in the order written. ``sources``: the files the records came
    from (the HTML page names them)."""
    outputs.check()
    written: list[Path] = []
    if outputs.json:
        written.append(write_json(outputs.json, list(rows)))
    if outputs.csv:
        written.append(write_text(outputs.csv, to_csv(rows)))
    if outputs.md:
        written.append(write_text(outputs.md, to_markdown(rows)))
    if outputs.plot:
        from .plot import plot_report

        written.append(plot_report(rows, outputs.plot, outputs.paper))
    if outputs.html:
        from .html import write_html

        written.append(write_html(outputs.html, rows, records, outputs.paper, sources))
    return [Path(p) for p in written]
