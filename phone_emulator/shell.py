"""A small POSIX-like shell for the emulated phone: the toybox commands a benchmark harness uses.

It parses like ``sh``: single and double quotes, backslashes, ``;`` ``&&`` ``||``, ``$?``, and the
redirections ``> file``, ``>> file``, ``2>&1``, ``2>/dev/null``. Quoted text is never an operator, so a
file named ``a b;rm -rf x.tflite`` is one word, exactly as on a phone. Unknown commands fail with
exit 127, as toybox's mksh does.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from .profile import PhoneProfile, ThermalModel
from .sandbox import SandboxFS

SH = "/system/bin/sh"
Output = Callable[[int, bytes], None]  # (1 = stdout, 2 = stderr, data)


@dataclass
class Token:
    text: str
    op: bool = False


STATUS = "\x00status\x00"  # '$?' stands for this until its command runs: sh expands it then, not at parse time


OPERATORS = ("2>&1", "2>", "&&", "||", ">>", ";", "|", ">", "<", "&")  # longest first: the first match wins


def _double_quoted(command: str, i: int, status: str) -> tuple[str, int]:
    """The text of the double-quoted string opening at ``command[i]`` and the index after its closing quote:
    backslash escapes only ``"``, ``\\``, ``$`` and a backquote, and ``$?`` expands, as in sh."""
    text, i, n = [], i + 1, len(command)
    while i < n and command[i] != '"':
        if command[i] == "\\" and i + 1 < n and command[i + 1] in '"\\$`':
            text.append(command[i + 1])
            i += 2
        elif command.startswith("$?", i):
            text.append(status)
            i += 2
        else:
            text.append(command[i])
            i += 1
    if i >= n:
        raise SyntaxError("unterminated quoted string")
    return "".join(text), i + 1


def tokenize(command: str, last_status: int | None = None) -> list[Token]:
    """Words and operators; ``$?`` becomes :data:`STATUS` (or ``last_status`` when given)."""
    status = STATUS if last_status is None else str(last_status)
    tokens: list[Token] = []
    word: list[str] = []
    has_word = False
    i, n = 0, len(command)

    def flush() -> None:
        nonlocal word, has_word
        if has_word:
            tokens.append(Token("".join(word)))
        word, has_word = [], False

    while i < n:
        c = command[i]
        operator = next((op for op in OPERATORS if command.startswith(op, i)), None)
        if c in " \t\n":
            flush()
            i += 1
        elif c == "'":
            end = command.find("'", i + 1)
            if end < 0:
                raise SyntaxError("unterminated quoted string")
            word.append(command[i + 1 : end])
            has_word, i = True, end + 1
        elif c == '"':
            text, i = _double_quoted(command, i, status)
            word.append(text)
            has_word = True
        elif c == "\\" and i + 1 < n:
            word.append(command[i + 1])
            has_word, i = True, i + 2
        elif command.startswith("$?", i):
            word.append(status)
            has_word, i = True, i + 2
        elif operator:
            flush()
            tokens.append(Token(operator, op=True))
            i += len(operator)
        else:
            word.append(c)
            has_word, i = True, i + 1
    flush()
    return tokens


@dataclass
class Streams:
    out: Callable[[bytes], None]
    err: Callable[[bytes], None]


@dataclass
class PhoneState:
    """Everything shell commands may touch: files, properties, thermals, and the running programs."""

    fs: SandboxFS
    profile: PhoneProfile
    thermal: ThermalModel
    disconnect: Callable[[], None] = lambda: None
    running: dict[int, tuple[str, threading.Event]] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)  # every command line run, in order (for tests)
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_pid: int = 4000


class MiniShell:
    def __init__(self, phone: PhoneState, cancel: threading.Event) -> None:
        self.phone = phone
        self.cancel = cancel
        self.cwd = "/"
        self.status = 0

    # ---- parsing and control flow -------------------------------------------------------------
    def run(self, command: str, output: Output) -> int:
        self.phone.history.append(command)
        try:
            tokens = tokenize(command)
        except SyntaxError as exc:
            output(2, f"{SH}: syntax error: {exc}\n".encode())
            return 2
        if any(t.op and t.text in ("|", "&", "<") for t in tokens):
            output(
                2, f"{SH}: pipes, background jobs and input redirection are not supported by the emulator\n".encode()
            )
            return 2
        segment: list[Token] = []
        connector = ";"
        for token in tokens + [Token(";", op=True)]:
            if token.op and token.text in (";", "&&", "||"):
                if segment:
                    if (
                        connector == ";"
                        or (connector == "&&" and self.status == 0)
                        or (connector == "||" and self.status != 0)
                    ):
                        segment = [Token(t.text.replace(STATUS, str(self.status)), t.op) for t in segment]
                        self.status = self._simple(segment, output)
                        if self.status == -1:  # 'exit'
                            return self._exit_code
                connector = token.text
                segment = []
            else:
                segment.append(token)
            if self.cancel.is_set():
                return 130
        return self.status

    def _simple(self, tokens: list[Token], output: Output) -> int:
        args: list[str] = []
        out_target: tuple[str, bool] | None = None
        err_mode = "err"  # 'err', 'out' (2>&1), 'null'
        i = 0
        while i < len(tokens):
            t = tokens[i]
            if t.op and t.text in (">", ">>", "2>"):
                if i + 1 >= len(tokens) or tokens[i + 1].op:
                    output(2, f"{SH}: syntax error: redirection without a file\n".encode())
                    return 2
                target = tokens[i + 1].text
                if t.text == "2>":
                    err_mode = "null" if target == "/dev/null" else "err"
                else:
                    out_target = (target, t.text == ">>")
                i += 2
                continue
            if t.op and t.text == "2>&1":
                err_mode = "out"
                i += 1
                continue
            args.append(t.text)
            i += 1
        if not args:
            return 0
        captured: list[bytes] = []
        write_out: Callable[[bytes], None]
        if out_target is None:
            write_out = lambda b: output(1, b)
        elif out_target[0] == "/dev/null":
            write_out = lambda b: None
        else:
            write_out = captured.append
        write_err = {"err": lambda b: output(2, b), "out": write_out, "null": lambda b: None}[err_mode]
        status = self.execute(args, Streams(write_out, write_err))
        if out_target is not None and out_target[0] != "/dev/null":
            path = self.phone.fs.normalize(out_target[0], self.cwd)
            if not self.phone.fs.writable(path):
                output(2, f"{SH}: can't create {out_target[0]}: Read-only file system\n".encode())
                return 1
            host = self.phone.fs.host(path)
            host.parent.mkdir(parents=True, exist_ok=True)
            with open(host, "ab" if out_target[1] else "wb") as handle:
                handle.write(b"".join(captured))
        return status

    # ---- commands ---------------------------------------------------------------------------------
    def execute(self, args: list[str], io: Streams) -> int:
        name = args[0]
        if "/" in name:
            return self._run_file(args, io)
        handler = getattr(self, f"cmd_{name.replace('[', 'bracket')}", None)
        if handler is None:
            io.err(f"{SH}: {name}: not found\n".encode())
            return 127
        return handler(args[1:], io)

    def _path(self, p: str) -> str:
        return self.phone.fs.normalize(p, self.cwd)

    def _run_file(self, args: list[str], io: Streams) -> int:
        from .benchmark_tool import BINARY_MARKER, run_benchmark_model

        fs = self.phone.fs
        path = self._path(args[0])
        host = fs.host(path)
        if not host.is_file():
            io.err(f"{SH}: {args[0]}: inaccessible or not found\n".encode())
            return 127
        if not host.stat().st_mode & 0o111:
            io.err(f"{SH}: {args[0]}: can't execute: Permission denied\n".encode())
            return 126
        head = host.read_bytes()[:64]
        # Our emulated tool, or a real Android benchmark_model ELF (which cannot execute on this host
        # and is emulated by name): both behave as the real tool does.
        if head.startswith(BINARY_MARKER) or (
            head.startswith(b"\x7fELF") and "benchmark_model" in os.path.basename(path)
        ):
            with self.phone.lock:
                pid = self.phone.next_pid
                self.phone.next_pid += 1
                self.phone.running[pid] = (" ".join(args), self.cancel)  # the command line, as pkill -f matches it
            try:
                return run_benchmark_model(args, self.phone, io, self.cancel, crash_marker=b"CRASH" in head)
            finally:
                with self.phone.lock:
                    self.phone.running.pop(pid, None)
        io.err(f"{SH}: {args[0]}: can't execute: Exec format error\n".encode())
        return 126

    def cmd_echo(self, args, io):
        newline = True
        if args and args[0] == "-n":
            newline, args = False, args[1:]
        io.out((" ".join(args) + ("\n" if newline else "")).encode())
        return 0

    def cmd_true(self, args, io):
        return 0

    def cmd_false(self, args, io):
        return 1

    def cmd_exit(self, args, io):
        self._exit_code = int(args[0]) if args else self.status
        return -1

    def cmd_pwd(self, args, io):
        io.out(f"{self.cwd}\n".encode())
        return 0

    def cmd_cd(self, args, io):
        path = self._path(args[0] if args else "/")
        if not self.phone.fs.is_dir(path):
            io.err(f"{SH}: cd: {path}: No such file or directory\n".encode())
            return 2
        self.cwd = path
        return 0

    def cmd_id(self, args, io):
        io.out(b"uid=2000(shell) gid=2000(shell) groups=2000(shell)\n")
        return 0

    def cmd_uname(self, args, io):
        io.out(b"aarch64\n" if "-m" in args else b"Linux\n")
        return 0

    def cmd_getprop(self, args, io):
        props = self.phone.profile.props
        if args:
            io.out((props.get(args[0], args[1] if len(args) > 1 else "") + "\n").encode())
        else:
            io.out("".join(f"[{k}]: [{v}]\n" for k, v in sorted(props.items())).encode())
        return 0

    def cmd_sleep(self, args, io):
        end = time.monotonic() + float(args[0] if args else 0)
        while time.monotonic() < end:
            if self.cancel.wait(0.05):
                return 130
        return 0

    def cmd_cat(self, args, io):
        status = 0
        for a in args:
            path = self._path(a)
            if self.phone.fs.is_dir(path) or not self.phone.fs.exists(path):
                why = "Is a directory" if self.phone.fs.is_dir(path) else "No such file or directory"
                io.err(f"cat: {a}: {why}\n".encode())
                status = 1
                continue
            io.out(self.phone.fs.read(path))
        return status

    def cmd_ls(self, args, io):
        paths = [a for a in args if not a.startswith("-")] or [self.cwd]
        status = 0
        for a in paths:
            path = self._path(a)
            if not self.phone.fs.exists(path):
                io.err(f"ls: {a}: No such file or directory\n".encode())
                status = 1
            elif self.phone.fs.is_dir(path):
                io.out("".join(f"{n}\n" for n in self.phone.fs.listdir(path)).encode())
            else:
                io.out(f"{a}\n".encode())
        return status

    def cmd_mkdir(self, args, io):
        parents = "-p" in args
        for a in (x for x in args if not x.startswith("-")):
            path = self._path(a)
            if not self.phone.fs.writable(path + "/"):
                io.err(f"mkdir: '{a}': Read-only file system\n".encode())
                return 1
            host = self.phone.fs.host(path)
            try:
                host.mkdir(parents=parents, exist_ok=parents)
            except FileExistsError:
                io.err(f"mkdir: '{a}': File exists\n".encode())
                return 1
            except FileNotFoundError:
                io.err(f"mkdir: '{a}': No such file or directory\n".encode())
                return 1
        return 0

    def cmd_rm(self, args, io):
        flags = "".join(a[1:] for a in args if a.startswith("-"))
        status = 0
        for a in (x for x in args if not x.startswith("-")):
            path = self._path(a)
            host = self.phone.fs.host(path)
            if not host.exists():
                if "f" not in flags:
                    io.err(f"rm: {a}: No such file or directory\n".encode())
                    status = 1
                continue
            if not self.phone.fs.writable(path + ("/" if host.is_dir() else "")):
                io.err(f"rm: {a}: Read-only file system\n".encode())
                status = 1
            elif host.is_dir():
                if "r" not in flags:
                    io.err(f"rm: {a}: Is a directory\n".encode())
                    status = 1
                else:
                    shutil.rmtree(host)
            else:
                host.unlink()
        return status

    def cmd_chmod(self, args, io):
        if len(args) < 2:
            io.err(b"chmod: Need 2 arguments\n")
            return 1
        mode_text, files = args[0], args[1:]
        for a in files:
            host = self.phone.fs.host(self._path(a))
            if not host.exists():
                io.err(f"chmod: {a}: No such file or directory\n".encode())
                return 1
            current = host.stat().st_mode & 0o7777
            if mode_text == "+x":
                mode = current | 0o111
            else:
                try:
                    mode = int(mode_text, 8)
                except ValueError:
                    io.err(f"chmod: bad mode '{mode_text}'\n".encode())
                    return 1
            os.chmod(host, mode)
        return 0

    def cmd_md5sum(self, args, io):
        status = 0
        for a in args:
            path = self._path(a)
            host = self.phone.fs.host(path)
            if not host.is_file():
                io.err(f"md5sum: {a}: No such file or directory\n".encode())
                status = 1
                continue
            io.out(f"{hashlib.md5(host.read_bytes()).hexdigest()}  {a}\n".encode())
        return status

    def cmd_test(self, args, io):
        if len(args) == 2 and args[0] in ("-f", "-d", "-e", "-x", "-s"):
            path = self._path(args[1])
            fs = self.phone.fs
            host = fs.host(path)
            ok = {
                "-e": fs.exists(path),
                "-d": fs.is_dir(path),
                "-f": fs.exists(path) and not fs.is_dir(path),
                "-x": host.is_file() and bool(host.stat().st_mode & 0o111),
                "-s": host.is_file() and host.stat().st_size > 0,
            }[args[0]]
            return 0 if ok else 1
        if len(args) == 3 and args[1] in ("=", "!="):
            return 0 if (args[0] == args[2]) == (args[1] == "=") else 1
        if len(args) == 1:
            return 0 if args[0] else 1
        io.err(b"test: unsupported expression\n")
        return 2

    def cmd_bracket(self, args, io):
        if not args or args[-1] != "]":
            io.err(b"[: missing ]\n")
            return 2
        return self.cmd_test(args[:-1], io)

    def cmd_taskset(self, args, io):
        if len(args) < 2:
            io.err(b"taskset: Need 2 arguments\n")
            return 1
        try:
            mask = int(args[0], 16)
        except ValueError:
            io.err(f"taskset: bad mask '{args[0]}'\n".encode())
            return 1
        if mask == 0 or mask >> 8:
            io.err("taskset: sched_setaffinity: Invalid argument\n".encode())
            return 1
        return self.execute(args[1:], io)

    def cmd_sh(self, args, io):
        if len(args) >= 2 and args[0] == "-c":
            child = MiniShell(self.phone, self.cancel)
            return child.run(args[1], lambda kind, data: (io.out if kind == 1 else io.err)(data))
        io.err(b"sh: only 'sh -c COMMAND' is supported by the emulator\n")
        return 2

    def cmd_dumpsys(self, args, io):
        if args[:1] != ["battery"]:
            io.err(b"dumpsys: only 'dumpsys battery' is emulated\n")
            return 1
        temp = self.phone.thermal.text(10)
        io.out(
            (
                "Current Battery Service state:\n  AC powered: false\n  USB powered: true\n  Wireless powered: false\n"
                f"  status: 2\n  health: 2\n  present: true\n  level: 87\n  scale: 100\n  voltage: 4213\n  "
                f"temperature: {temp}\n"
                "  technology: Li-ion\n"
            ).encode()
        )
        return 0

    def cmd_pkill(self, args, io):
        names = [a for a in args if not a.startswith("-")]
        hit = 0
        with self.phone.lock:
            for _pid, (name, event) in list(self.phone.running.items()):
                if any(n in name for n in names):
                    event.set()
                    hit += 1
        return 0 if hit else 1

    cmd_killall = cmd_pkill
