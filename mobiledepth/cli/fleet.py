"""``mobiledepth fleet``: join a host's phones to the lab's Ray cluster, and the fleet's status."""

from __future__ import annotations

import subprocess

from rich.text import Text

from ..errors import MobileDepthError
from ..tables import Table
from . import options as o
from .app import console, err_console, fleet_app
from .common import user_errors


@fleet_app.command("join")
@user_errors
def join(
    fleet: o.FleetFile,
    host: o.FleetHostName,
    port: o.RayPort = None,
    address: o.HeadAddress = None,
    dry_run: o.DryRun = False,
) -> None:
    """Start (--port) or join (--address) a Ray node on this host, advertising one resource per phone it holds
    (phone:SERIAL). TCP phones (HOST:PORT serials) are `adb connect`ed first."""
    from ..lab.cluster import attach_tcp_phones, join_command, shell_line
    from ..lab.fleet import load_fleet

    if port is not None and address is not None:
        raise MobileDepthError("give --port (start the head here) or --address (join a head), not both")
    chosen = load_fleet(fleet).host(host)
    argv = join_command(chosen, port, address)
    console.print(Text(shell_line(argv)), highlight=False, soft_wrap=True)
    if dry_run:
        return
    for line in attach_tcp_phones(chosen):
        err_console.print(Text("warning: ", style="yellow") + Text(line), highlight=False)
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()
        raise MobileDepthError(f"ray start failed (exit {done.returncode}): {tail[-1] if tail else 'no output'}")
    console.print(f"{host}: node up with {len(chosen.phones)} phone(s); stop it with `ray stop`")


@fleet_app.command("status")
@user_errors
def status(fleet: o.FleetFile, ray_address: o.RayAddress = None) -> None:
    """Every phone of the fleet: its node, adb state, model, Android version, battery temperature, busy or not."""
    from ..lab.fleet import load_fleet
    from ..lab.status import fleet_status

    table = Table(title=f"fleet {fleet}")
    for column in ("Host", "Phone", "Serial", "Node", "adb", "Model", "Android", "Battery °C", "Job", "Note"):
        table.add_column(column)
    for s in fleet_status(load_fleet(fleet), ray_address):
        busy = "" if s.busy is None else ("running" if s.busy else "idle")
        notes = ", ".join(n for n in ("emulated" if s.emulated else "", s.problem) if n)
        temp = "" if s.battery_c is None else f"{s.battery_c:.1f}"
        node = s.node[:12] if s.node not in ("", "none") else (s.node or "(no cluster)")
        table.add_row(*(Text(c) for c in (s.host, s.alias, s.serial, node, s.adb_state, s.model, s.android, temp,
                                          busy, notes)))  # fmt: skip
    console.print(table)
