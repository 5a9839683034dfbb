"""``mobiledepth fleet status``: every phone of the fleet file with its node, adb state, model, Android version,
battery temperature, and whether a job holds it.

With a cluster, each host's phones are asked about FROM THE NODE THAT HOLDS THEM (its adb server may answer
only there), as a zero-CPU task pinned to that node; a phone whose node is missing is listed as such. With no
cluster, every host's adb server is asked from this computer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from android_bench.adb import AdbEndpoint
from android_bench.devices import DeviceInfo

from ..errors import MobileDepthError, one_line
from .fleet import Fleet, FleetHost, FleetPhone


@dataclass(frozen=True)
class PhoneStatus:
    host: str
    serial: str
    alias: str
    node: str  # the Ray node holding it; '' with no cluster; 'none' when no live node holds it
    adb_state: str  # device | offline | unauthorized | missing (not listed) | unreachable (no adb server)
    model: str = ""
    android: str = ""
    battery_c: float | None = None
    busy: bool | None = None  # a job holds its resource (None: no cluster to ask)
    emulated: bool = False
    problem: str = ""


def _adb_view(adb: AdbEndpoint) -> tuple[dict[str, DeviceInfo], str]:
    """Every phone the adb server lists, described; or why the server could not be asked."""
    from ..benchmark.phone import list_devices

    try:
        return {d.serial: d for d in list_devices(adb)}, ""
    except MobileDepthError as exc:
        return {}, one_line(str(exc), 200)


def host_status(host: FleetHost, phones: tuple[FleetPhone, ...], node: str) -> list[PhoneStatus]:
    """What ``host``'s adb server says of ``phones`` (run on the host's node, or here)."""
    listed, problem = _adb_view(host.adb)
    out = []
    for p in phones:
        info = listed.get(p.serial)
        if problem:
            out.append(PhoneStatus(host.name, p.serial, p.alias, node, "unreachable", problem=problem))
        elif info is None:
            out.append(PhoneStatus(host.name, p.serial, p.alias, node, "missing",
                                   problem=f"not listed by the adb server at {host.adb}"))  # fmt: skip
        else:
            out.append(PhoneStatus(host.name, p.serial, p.alias, node, info.state, info.model, info.android,
                                   info.battery_c, emulated=info.emulated, problem=info.problem))  # fmt: skip
    return out


def fleet_status(fleet: Fleet, ray_address: str | None) -> list[PhoneStatus]:
    if not (ray_address or os.environ.get("RAY_ADDRESS")):
        return [s for h in fleet.hosts for s in host_status(h, h.phones, "")]
    from .cluster import busy_phones, phone_nodes, ray_session

    with ray_session(fleet, ray_address) as ray:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        held, busy = phone_nodes(ray), busy_phones(ray)
        task = ray.remote(num_cpus=0, max_retries=0)(host_status)
        out: list[PhoneStatus] = []
        for host in fleet.hosts:
            nodes = {held.get(p.resource, "none") for p in host.phones}
            for node in sorted(nodes):
                phones = tuple(p for p in host.phones if held.get(p.resource, "none") == node)
                if node == "none":
                    out += [PhoneStatus(host.name, p.serial, p.alias, "none", "unknown",
                                        problem="no live Ray node holds it") for p in phones]  # fmt: skip
                    continue
                pinned = task.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False))
                for status in ray.get(pinned.remote(host, phones, node)):
                    out.append(_with_busy(status, f"phone:{status.serial}" in busy))
        return out


def _with_busy(status: PhoneStatus, busy: bool) -> PhoneStatus:
    from dataclasses import replace

    return replace(status, busy=busy)
