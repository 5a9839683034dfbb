"""An emulated Android phone: a TCP server speaking the DEVICE side of the ADB protocol.

Attach it to a real adb server with ``adb connect 127.0.0.1:PORT``; the adb server then talks to it
exactly as to a phone on Wi-Fi debugging without authentication (``ro.adb.secure=0``): CNXN with a
property banner, OPEN/OKAY/WRTE/CLSE streams with flow control, the ``shell:`` service (v1 raw and
shell protocol v2 with exit status) and the ``sync:`` service (STAT/LIST/SEND/DATA/DONE/RECV/QUIT).

    python -m phone_emulator --profile S21 --port 5555
"""

from __future__ import annotations

import queue
import socket
import stat
import struct
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .adb_wire import (
    A_CLSE,
    A_CNXN,
    A_OKAY,
    A_OPEN,
    A_VERSION,
    A_WRTE,
    MAX_PAYLOAD,
    SHELL_EXIT,
    SHELL_STDERR,
    SHELL_STDOUT,
    Message,
    pack,
    read_message,
    shell_packet,
)
from .profile import PhoneProfile, ThermalModel, galaxy_s21
from .sandbox import SandboxFS
from .shell import MiniShell, PhoneState

SYNC_DATA_MAX = 64 * 1024


@dataclass
class Stream:
    local: int
    remote: int
    inbox: "queue.Queue[bytes | None]" = field(default_factory=queue.Queue)
    ready: threading.Event = field(default_factory=threading.Event)
    closed: threading.Event = field(default_factory=threading.Event)


class _Connection:
    """One adb-server connection: demultiplexes streams and runs a service thread per stream."""

    def __init__(self, phone: "EmulatedPhone", sock: socket.socket) -> None:
        self.phone = phone
        self.sock = sock
        self.send_lock = threading.Lock()
        self.streams: dict[int, Stream] = {}
        self.next_id = 1
        self.max_payload = MAX_PAYLOAD
        self.alive = True

    def send(self, message: Message) -> None:
        with self.send_lock:
            if self.alive:
                self.sock.sendall(pack(message))

    def drop(self) -> None:
        """Abrupt link loss (cable pulled): no CLSE, just a dead socket."""
        self.alive = False
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for s in list(self.streams.values()):
            s.closed.set()
            s.ready.set()
            s.inbox.put(None)

    def serve(self) -> None:
        try:
            while self.alive:
                msg = read_message(self.sock)
                if msg.command == A_CNXN:
                    self.max_payload = min(msg.arg1 or MAX_PAYLOAD, MAX_PAYLOAD)
                    self.send(Message(A_CNXN, A_VERSION, MAX_PAYLOAD, self.phone.banner()))
                elif msg.command == A_OPEN:
                    self._open(msg.arg0, msg.data.rstrip(b"\0").decode("utf-8", "replace"))
                elif msg.command == A_WRTE:
                    s = self.streams.get(msg.arg1)
                    if s is not None:
                        s.inbox.put(msg.data)
                        self.send(Message(A_OKAY, s.local, s.remote))
                elif msg.command == A_OKAY:
                    s = self.streams.get(msg.arg1)
                    if s is not None:
                        s.ready.set()
                elif msg.command == A_CLSE:
                    s = self.streams.pop(msg.arg1, None)
                    if s is not None:
                        s.closed.set()
                        s.ready.set()
                        s.inbox.put(None)
        except (ConnectionError, OSError):
            pass
        finally:
            self.drop()

    def _open(self, remote: int, service: str) -> None:
        if service.startswith("shell,") and not self.phone.profile.shell_v2:
            self.send(Message(A_CLSE, 0, remote))  # an adbd before shell v2 knows only 'shell:': refused
            return
        if service.startswith("shell"):
            handler = self._shell
        elif service == "sync:":
            handler = self._sync
        else:
            self.send(Message(A_CLSE, 0, remote))  # how adbd refuses an unknown service
            return
        local = self.next_id
        self.next_id += 1
        s = Stream(local, remote)
        s.ready.set()
        self.streams[local] = s
        self.send(Message(A_OKAY, local, remote))
        threading.Thread(target=self._run_service, args=(handler, s, service), daemon=True).start()

    def _run_service(self, handler, s: Stream, service: str) -> None:
        try:
            handler(s, service)
        except (ConnectionError, OSError):
            pass
        finally:
            if not s.closed.is_set():
                self.streams.pop(s.local, None)
                try:
                    self.send(Message(A_CLSE, s.local, s.remote))
                except OSError:
                    pass

    def write(self, s: Stream, data: bytes) -> None:
        for i in range(0, len(data), self.max_payload):
            while not s.ready.wait(0.5):
                if not self.alive:
                    raise ConnectionError("link lost")
            if s.closed.is_set():
                raise ConnectionError("stream closed by host")
            s.ready.clear()
            self.send(Message(A_WRTE, s.local, s.remote, data[i : i + self.max_payload]))

    # ---- shell: --------------------------------------------------------------------------------
    def _shell(self, s: Stream, service: str) -> None:
        head, _, command = service.partition(":")
        v2 = "v2" in head.split(",")[1:]

        cancel = s.closed
        shell = MiniShell(self.phone.state, cancel)
        if not command.strip():
            msg = b"interactive shells are not supported by the emulated phone\n"
            self.write(s, shell_packet(SHELL_STDERR, msg) + shell_packet(SHELL_EXIT, b"\x01") if v2 else msg)
            return

        def output(kind: int, data: bytes) -> None:
            if data:
                self.write(s, shell_packet(SHELL_STDOUT if kind == 1 else SHELL_STDERR, data) if v2 else data)

        status = shell.run(command, output)
        if v2 and self.alive and not s.closed.is_set():
            self.write(s, shell_packet(SHELL_EXIT, bytes([status & 0xFF])))

    # ---- sync: ---------------------------------------------------------------------------------
    def _sync(self, s: Stream, service: str) -> None:
        _SyncSession(self, s).serve()


class _SyncSession:
    """One ``sync:`` stream: 8-byte requests (tag, length) answered until QUIT, as adbd's file_sync_service.
    Why a class: each request kind reads more of the stream and replies its own way; one method each."""

    def __init__(self, connection, stream: Stream) -> None:
        self.connection, self.stream = connection, stream
        self.fs = connection.phone.state.fs
        self.buf = bytearray()

    def take(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.stream.inbox.get()
            if chunk is None:
                raise ConnectionError("sync stream closed")
            self.buf.extend(chunk)
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def reply(self, tag: bytes, *values: int, payload: bytes = b"") -> None:
        self.connection.write(self.stream, tag + b"".join(struct.pack("<I", v) for v in values) + payload)

    def fail(self, message: str) -> None:
        self.reply(b"FAIL", len(message.encode()), payload=message.encode())

    def serve(self) -> None:
        handlers = {b"STAT": self.stat, b"LIST": self.list_dir, b"SEND": self.send, b"RECV": self.recv}
        while True:
            tag, length = struct.unpack("<4sI", self.take(8))
            if tag == b"QUIT":
                return
            arg = self.take(length).decode("utf-8", "replace")
            if tag not in handlers:
                self.fail(f"unknown sync request {tag!r}")
                return
            handlers[tag](arg)

    def stat(self, arg: str) -> None:
        self.reply(b"STAT", *self.fs.stat(self.fs.normalize(arg)))

    def list_dir(self, arg: str) -> None:
        path = self.fs.normalize(arg)
        for name in self.fs.listdir(path) if self.fs.is_dir(path) else []:
            mode, size, mtime = self.fs.stat(path.rstrip("/") + "/" + name)
            enc = name.encode()
            self.reply(b"DENT", mode, size, mtime, len(enc), payload=enc)
        self.reply(b"DONE", 0, 0, 0, 0)

    def send(self, arg: str) -> None:
        path_text, _, mode_text = arg.rpartition(",")
        path = self.fs.normalize(path_text)
        data = bytearray()
        while True:
            sub, n = struct.unpack("<4sI", self.take(8))
            if sub == b"DONE":
                break
            if sub != b"DATA":
                raise ConnectionError(f"unexpected sync message {sub!r}")
            data.extend(self.take(n))
        if not self.fs.writable(path):
            self.fail(f"couldn't create file: Read-only file system ({path})")
            return
        if self.connection.phone.profile.faults.storage_full:
            self.fail(f"write failed: No space left on device ({path})")
            return
        host = self.fs.host(path)
        host.parent.mkdir(parents=True, exist_ok=True)
        host.write_bytes(bytes(data))
        host.chmod(stat.S_IMODE(int(mode_text or "420")))
        self.reply(b"OKAY", 0)

    def recv(self, arg: str) -> None:
        path = self.fs.normalize(arg)
        if not self.fs.exists(path) or self.fs.is_dir(path):
            self.fail("No such file or directory")
            return
        content = self.fs.read(path)
        for i in range(0, len(content), SYNC_DATA_MAX):
            part = content[i : i + SYNC_DATA_MAX]
            self.reply(b"DATA", len(part), payload=part)
        self.reply(b"DONE", 0)


class EmulatedPhone:
    """Start with :meth:`start`; ``serial`` is what ``adb connect`` takes."""

    def __init__(
        self, profile: PhoneProfile | None = None, root: Path | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.profile = profile or galaxy_s21()
        self._tmp = None if root else tempfile.TemporaryDirectory(prefix="emulated-phone-")
        self.root = Path(root or self._tmp.name)
        self.thermal = ThermalModel(self.profile)
        self.state = PhoneState(
            fs=SandboxFS(self.root, self.thermal),
            profile=self.profile,
            thermal=self.thermal,
            disconnect=self.disconnect_all,
        )
        self._listener = socket.create_server((host, port))
        self.host, self.port = self._listener.getsockname()[:2]
        self._connections: list[_Connection] = []
        self._stopping = False

    @property
    def serial(self) -> str:
        return f"{self.host}:{self.port}"

    def banner(self) -> bytes:
        p = self.profile.props
        keys = ("ro.product.name", "ro.product.model", "ro.product.device")
        features = "shell_v2,cmd" if self.profile.shell_v2 else "cmd"
        return ("device::" + "".join(f"{k}={p.get(k, '')};" for k in keys) + f"features={features}").encode()

    def start(self) -> "EmulatedPhone":
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        while not self._stopping:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            if self.profile.faults.offline:
                sock.close()
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Connection(self, sock)
            self._connections.append(conn)
            threading.Thread(target=conn.serve, daemon=True).start()

    def disconnect_all(self) -> None:
        for conn in list(self._connections):
            conn.drop()
        self._connections.clear()

    def stop(self) -> None:
        self._stopping = True
        self._listener.close()
        self.disconnect_all()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> "EmulatedPhone":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
