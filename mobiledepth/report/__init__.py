"""FPS + WHDR report: join records, render tables (terminal, Markdown, CSV, JSON) and plots."""

from .table import ReportRow, build_rows, to_csv, to_markdown

__all__ = ["ReportRow", "build_rows", "to_csv", "to_markdown"]

from .._api import make_callable  # noqa: E402

make_callable(__name__)  # mobiledepth.report(...) is the API function too
