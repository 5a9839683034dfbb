"""Terminal tables whose cells are text, never markup.

Why: rich reads ``[...]`` in a string cell as markup, so a file named ``x[/]y.tflite`` or a phone whose model
string holds ``[/]`` ended the command in a MarkupError, and ``[bold]`` in a name restyled the table. Every
table of the tool is this one: string cells and titles become :class:`rich.text.Text`.
"""

from __future__ import annotations

from typing import Any

from rich import table
from rich.text import Text


def _text(value: Any) -> Any:
    return Text(value) if isinstance(value, str) else value


class Table(table.Table):
    def __init__(self, *headers: Any, title: Any = None, **kwargs: Any) -> None:
        super().__init__(*headers, title=_text(title), **kwargs)

    def add_row(self, *cells: Any, **kwargs: Any) -> None:
        super().add_row(*(_text(c) for c in cells), **kwargs)
