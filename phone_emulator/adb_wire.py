"""The ADB transport wire format (the part an adbd speaks to the adb server over TCP).

Every message is a 24-byte little-endian header ``command, arg0, arg1, data_length, data_check,
magic`` (magic = command ^ 0xffffffff) followed by ``data_length`` payload bytes. ``data_check`` is
the byte sum of the payload (protocol versions since 0x01000001 may skip checking it; we still fill it).
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

A_SYNC = 0x434E5953
A_CNXN = 0x4E584E43
A_AUTH = 0x48545541
A_OPEN = 0x4E45504F
A_OKAY = 0x59414B4F
A_CLSE = 0x45534C43
A_WRTE = 0x45545257
A_STLS = 0x534C5453

A_VERSION = 0x01000001
MAX_PAYLOAD = 256 * 1024
HEADER = struct.Struct("<6I")
NAMES = {
    A_SYNC: "SYNC",
    A_CNXN: "CNXN",
    A_AUTH: "AUTH",
    A_OPEN: "OPEN",
    A_OKAY: "OKAY",
    A_CLSE: "CLSE",
    A_WRTE: "WRTE",
    A_STLS: "STLS",
}


class ProtocolError(Exception):
    pass


@dataclass
class Message:
    command: int
    arg0: int
    arg1: int
    data: bytes = b""

    @property
    def name(self) -> str:
        return NAMES.get(self.command, hex(self.command))


def pack(message: Message) -> bytes:
    check = sum(message.data) & 0xFFFFFFFF
    return (
        HEADER.pack(message.command, message.arg0, message.arg1, len(message.data), check, message.command ^ 0xFFFFFFFF)
        + message.data
    )


def _read_exact(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(n)
        if not chunk:
            raise ConnectionError("peer closed the connection")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_message(sock: socket.socket) -> Message:
    command, arg0, arg1, length, _check, magic = HEADER.unpack(_read_exact(sock, HEADER.size))
    if magic != command ^ 0xFFFFFFFF:
        raise ProtocolError(f"bad magic for command {command:#x}")
    if length > 16 * 1024 * 1024:
        raise ProtocolError(f"payload of {length} bytes is too large")
    return Message(command, arg0, arg1, _read_exact(sock, length) if length else b"")


# shell protocol v2 packet ids (adb's shell_protocol.h)
SHELL_STDIN, SHELL_STDOUT, SHELL_STDERR, SHELL_EXIT, SHELL_CLOSE_STDIN, SHELL_WINDOW = range(6)
SHELL_PACKET = struct.Struct("<BI")


def shell_packet(kind: int, data: bytes) -> bytes:
    return SHELL_PACKET.pack(kind, len(data)) + data
