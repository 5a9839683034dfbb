"""The ``benchmark_model`` binary: a local cache per ABI, and a push-once-per-device policy.

``mobiledepth devices fetch-binary`` downloads TensorFlow's published nightly build for an ABI into
the cache (the only network access in the harness, and only on that explicit command). Benchmarks
take ``--benchmark-binary FILE`` or the cached file. On the phone everything lives under one working
directory; the binary is pushed only when its md5 differs from the one already there.
"""

from __future__ import annotations

import hashlib
import os
import shlex
from dataclasses import dataclass, replace
from pathlib import Path

from . import shell
from .errors import BenchError
from .hashing import sha256_file

WORKDIR = "/data/local/tmp/mobiledepth"
REMOTE_BINARY = f"{WORKDIR}/benchmark_model"
NIGHTLY = "https://storage.googleapis.com/tensorflow-nightly-public/prod/tensorflow/release/lite/tools/nightly/latest/"
ABI_BINARIES = {
    "arm64-v8a": "android_aarch64_benchmark_model",
    "armeabi-v7a": "android_arm_benchmark_model",
    "x86_64": "android_x86_64_benchmark_model",
    "x86": "android_x86_benchmark_model",
}


def cache_dir() -> Path:
    return Path(os.environ.get("MOBILEDEPTH_CACHE", Path.home() / ".cache" / "mobiledepth")) / "benchmark_model"


def cached_binary(abi: str) -> Path:
    return cache_dir() / abi / "benchmark_model"


def check_pin(path: Path, expected: str | None) -> str:
    """The file's sha256; with a pin, a mismatch is one error line (a nightly changed, or a bad download)."""
    actual = sha256_file(path)
    if expected and actual != expected.lower():
        raise BenchError(f"{path}: sha256 {actual} does not match the pinned {expected.lower()}")
    return actual


def fetch_binary(abi: str, timeout: float = 120.0, sha256: str | None = None) -> Path:
    """Download the nightly binary for ``abi`` into the cache (explicit user command only). With
    ``sha256`` the download must match it; the digest is kept beside the binary (``.sha256``)."""
    if abi not in ABI_BINARIES:
        raise BenchError(f"--abi {abi}: no published benchmark_model; choose from {', '.join(ABI_BINARIES)}")
    import urllib.request

    target = cached_binary(abi)
    target.parent.mkdir(parents=True, exist_ok=True)
    url = NIGHTLY + ABI_BINARIES[abi]
    tmp = target.with_suffix(".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as handle:
            while block := response.read(1 << 20):
                handle.write(block)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BenchError(
            f"cannot download {url}: {exc}; download it elsewhere and pass --benchmark-binary FILE"
        ) from None
    try:
        digest = check_pin(tmp, sha256)
    except BenchError:
        tmp.unlink(missing_ok=True)
        raise
    tmp.chmod(0o755)
    os.replace(tmp, target)
    target.with_name(target.name + ".sha256").write_text(digest + "\n")
    return target


def local_binary(explicit: str | os.PathLike | None, abi: str) -> Path:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise BenchError(f"{path}: benchmark binary not found")
        return path
    path = cached_binary(abi)
    if not path.is_file():
        raise BenchError(
            f"no benchmark_model for {abi or 'this ABI'} in {path.parent}; run `mobiledepth devices fetch-binary --abi "
            f"{abi or 'arm64-v8a'}` or pass --benchmark-binary FILE"
        )
    return path


def md5_file(path: str | os.PathLike) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def remote_md5(device, remote: str) -> str | None:
    result = shell.run(device, f"md5sum {shlex.quote(remote)}", timeout=60)
    if result.returncode != 0:
        return None
    return result.stdout.split()[0] if result.stdout.split() else None


@dataclass(frozen=True)
class Pushed:
    """The benchmark binary (or a model) on the phone: where, its md5, whether this session pushed it."""

    remote: str
    md5: str
    pushed: bool
    sha256: str | None = None


SYNC_CHUNK = 64 * 1024  # the sync protocol's largest DATA block


def send_file(device, local: Path, remote: str, mode: int) -> None:
    """adb's sync SEND, reading adbd's reason when it refuses (adbutils' push raises a bare ``FAIL``, so a full
    or read-only /data/local/tmp said nothing of why)."""
    import struct
    import time

    with device.sync._prepare_sync(f"{remote},{0o100000 | mode}", "SEND") as c, open(local, "rb") as src:
        while chunk := src.read(SYNC_CHUNK):
            c.conn.send(b"DATA" + struct.pack("<I", len(chunk)) + chunk)
        c.conn.send(b"DONE" + struct.pack("<I", int(time.time())))
        status = c.read_string(4)
        if status == "OKAY":
            return
        if status != "FAIL":
            raise BenchError(f"{device.serial}: pushing {local.name}: unexpected reply {status!r} from adbd")
        size = struct.unpack("<I", c.read(4))[0]
        reason = c.read_string(size) if size else "no reason given"
        raise BenchError(f"{device.serial}: cannot push {local.name} to {remote}: {reason}")


def push_if_changed(device, local: Path, remote: str, mode: int = 0o644) -> Pushed:
    """Push unless the device already has identical content (md5), then fix the mode."""
    md5 = md5_file(local)
    if remote_md5(device, remote) == md5:
        return Pushed(remote, md5, False)
    parent = remote.rsplit("/", 1)[0]
    shell.run(device, f"mkdir -p {shlex.quote(parent)}", timeout=30)
    send_file(device, local, remote, mode)
    if remote_md5(device, remote) != md5:
        raise BenchError(
            f"{device.serial}: pushed {local.name} but the device copy's md5 differs (storage full or link failure?)"
        )
    shell.run(device, f"chmod {mode:o} {shlex.quote(remote)}", timeout=30)
    return Pushed(remote, md5, True)


def ensure_binary(device, local: Path) -> Pushed:
    """Push the benchmark binary (once). A binary fetched with a pin carries ``<name>.sha256``; it must
    still match before it goes to a phone, and the record keeps the digest either way."""
    sidecar = local.with_name(local.name + ".sha256")
    pinned = sidecar.read_text().strip() if sidecar.is_file() else None
    digest = check_pin(local, pinned)
    pushed = push_if_changed(device, local, REMOTE_BINARY, mode=0o755)
    pushed = replace(pushed, sha256=digest)
    result = shell.run(device, f"chmod 755 {shlex.quote(REMOTE_BINARY)}", timeout=30)
    if result.returncode != 0:
        raise BenchError(f"{device.serial}: cannot make {REMOTE_BINARY} executable: {result.stderr.strip()}")
    return pushed


def clean(device) -> None:
    """Remove the whole working directory from the device."""
    shell.run(device, f"rm -rf {shlex.quote(WORKDIR)}", timeout=60)
