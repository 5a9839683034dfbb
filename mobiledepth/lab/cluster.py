"""Ray for the lab: the ``ray start`` line a host's node runs (``fleet join``), the connection a sweep makes,
and which live node holds which phone.

We do not schedule: Ray does, from custom resources. A node started by ``fleet join`` (or by the user's own
``ray start --resources``) advertises ``phone:SERIAL: 1`` for each phone plugged into its host, so a job
that asks for that unit runs on that node, and never beside another job on the same phone. With no cluster
address a sweep starts a private Ray on this computer holding every phone of the fleet file (their adb
servers must then answer from here), and stops it at the end.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
from contextlib import contextmanager
from typing import Any, Iterator

from android_bench.adb import connect
from android_bench.errors import BenchError

from ..errors import MobileDepthError
from .fleet import Fleet, FleetHost

DEFAULT_RAY_PORT = 6379  # Ray's own default head port


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MobileDepthError("Ray is not installed: pip install 'mobiledepth[lab]' (ray 2.60)") from None
    return ray


def join_command(host: FleetHost, port: int | None, address: str | None) -> list[str]:
    """``ray start`` for ``host``: a head on ``port`` or a worker joining ``address``; its resources are the
    host's phones. No CPUs are reserved for jobs: a job waits on its phone, not on this computer's cores."""
    ray = shutil.which("ray") or "ray"
    where = ["--address", address] if address else ["--head", "--port", str(port or DEFAULT_RAY_PORT)]
    return [ray, "start", *where, "--resources", json.dumps(host.resources, sort_keys=True)]


def attach_tcp_phones(host: FleetHost) -> list[str]:
    """``adb connect`` each phone whose serial is HOST:PORT (Wi-Fi debugging, emulated phones): a node's
    phones must be listed by its adb server. Returns one line per phone that did not attach."""
    problems = []
    for phone in host.phones:
        name, sep, port = phone.serial.rpartition(":")
        if not (sep and name and port.isdigit()):
            continue
        try:
            connect(host.adb.client(), phone.serial)
        except BenchError as exc:
            problems.append(f"{phone.label}: {exc}")
    return problems


def shell_line(argv: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in argv)


@contextmanager
def ray_session(fleet: Fleet, ray_address: str | None) -> Iterator[Any]:
    """Ray connected for one command: the cluster at ``ray_address`` (or ``RAY_ADDRESS``), else a private
    instance on this computer holding every phone of ``fleet``, stopped on exit."""
    ray = import_ray()
    address = ray_address or os.environ.get("RAY_ADDRESS")
    if ray.is_initialized():
        yield ray
        return
    quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
    try:
        if address:
            ray.init(address=address, **quiet)
        else:
            resources = {k: v for h in fleet.hosts for k, v in h.resources.items()}
            # "local": a private instance even when another Ray runs here (None would attach to the latest one)
            ray.init(address="local", num_cpus=os.cpu_count() or 1, resources=resources, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise MobileDepthError(f"Ray cluster {address or '(local)'}: {str(exc).splitlines()[0]}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def phone_nodes(ray: Any) -> dict[str, str]:
    """Each phone resource held by a LIVE node -> that node's id (a node lost leaves this map at once, while
    the cluster's resource totals may still list its phones for a while)."""
    held: dict[str, str] = {}
    for node in ray.nodes():
        if node.get("Alive"):
            for name in node.get("Resources", {}):
                if name.startswith("phone:"):
                    held[name] = node["NodeID"]
    return held


def busy_phones(ray: Any) -> set[str]:
    """Phone resources a job holds right now (its unit taken)."""
    free = ray.available_resources()
    return {name for name in ray.cluster_resources() if name.startswith("phone:") and free.get(name, 0) < 1}
