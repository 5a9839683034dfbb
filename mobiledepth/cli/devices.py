"""``mobiledepth devices``: phones over adb (list, fetch the benchmark binary, clean up, connect)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.text import Text

from ..tables import Table
from . import options as o
from .app import console, devices_app
from .common import user_errors


@devices_app.callback(invoke_without_command=True)
@user_errors
def devices(
    ctx: typer.Context,
    adb_host: o.AdbHost = o.ADB_HOST,
    adb_port: o.AdbPort = o.ADB_PORT,
    devices_file: Optional[Path] = typer.Option(None, help="Extra device aliases (JSON)."),
) -> None:
    """List connected phones: model, SoC, Android version, ABI, battery temperature."""
    if ctx.invoked_subcommand is not None:
        return
    from android_bench.adb import AdbEndpoint

    from ..benchmark.phone import list_devices

    endpoint = AdbEndpoint(adb_host, adb_port)
    found = list_devices(endpoint, devices_file)
    table = Table(title=f"Devices on adb server {endpoint}")
    for col in ("Serial", "State", "Alias", "Model", "SoC", "Android", "ABI", "Battery °C", "Emulated"):
        table.add_column(col)
    for d in found:  # Text cells: a phone's model string is shown as it is, never read as markup
        table.add_row(*(Text(v) for v in (d.serial, d.state, d.alias, d.model, d.soc,
                                          f"{d.android} (SDK {d.sdk})" if d.android else "", d.abi,
                                          f"{d.battery_c:.1f}" if d.battery_c is not None else "",
                                          "yes" if d.emulated else "")))  # fmt: skip
    console.print(table if found else "no devices connected")


@devices_app.command("fetch-binary")
@user_errors
def devices_fetch_binary(
    abi: str = typer.Option("arm64-v8a", help="Android ABI: arm64-v8a, armeabi-v7a, x86_64, x86."),
    sha256: Optional[str] = typer.Option(
        None, help="Pin: the download must have this sha256 (a nightly changes daily)."
    ),
) -> None:
    """Download TensorFlow's nightly benchmark_model for an ABI into the local cache (needs internet)."""
    from android_bench.binary import fetch_binary

    path = fetch_binary(abi, sha256=sha256)
    console.print(f"wrote {path} (sha256 {path.with_name(path.name + '.sha256').read_text().strip()})")


@devices_app.command("clean")
@user_errors
def devices_clean(
    device: str = typer.Argument(..., help="Serial or alias."),
    adb_host: o.AdbHost = o.ADB_HOST,
    adb_port: o.AdbPort = o.ADB_PORT,
) -> None:
    """Remove mobiledepth's working directory (/data/local/tmp/mobiledepth) from a phone."""
    from android_bench import adb
    from android_bench.binary import WORKDIR, clean
    from android_bench.devices import connected, load_registry, resolve

    registry = load_registry()
    client = adb.client(adb_host, adb_port)
    for info in resolve(device, connected(client, registry), registry):
        clean(client.device(serial=info.serial))
        console.print(f"{info.serial}: removed {WORKDIR}")


@devices_app.command("connect")
@user_errors
def devices_connect(
    address: str = typer.Argument(..., help="HOST:PORT of a TCP device (Wi-Fi debugging or an emulated phone)."),
    adb_host: o.AdbHost = o.ADB_HOST,
    adb_port: o.AdbPort = o.ADB_PORT,
) -> None:
    """`adb connect` through the chosen adb server."""
    from android_bench import adb

    adb.connect(adb.client(adb_host, adb_port), address)
    console.print(f"connected {address}")
