"""The ``mobiledepth`` command's Typer apps and consoles: what every command module registers on.

Kept apart from the commands (one module per group) so that each imports this and nothing imports a
command module but :mod:`.main`: the command line has no import circle.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Monocular relative depth from PyTorch to phones: convert, benchmark, evaluate, report.",
)
data_app = typer.Typer(no_args_is_help=True, help="Sample data.")
app.add_typer(data_app, name="data")
devices_app = typer.Typer(help="Phones over adb: list, fetch the benchmark binary, clean up.")
app.add_typer(devices_app, name="devices")
fleet_app = typer.Typer(no_args_is_help=True, help="A device lab on Ray: join a host's phones, the fleet's status.")
app.add_typer(fleet_app, name="fleet")
# Wide tables stay readable when output goes to a log or CI (rich assumes 80 columns there).
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
