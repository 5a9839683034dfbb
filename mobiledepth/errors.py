"""One exception type for problems the user can fix.

The CLI prints these as a single line (``error: ...``) and exits non-zero, so every message must name
the file and the problem on its own; tracebacks are kept for real bugs.
"""


class MobileDepthError(Exception):
    """A user-facing error: bad input file, bad option, failed conversion."""


def one_line(text: str, limit: int = 2000) -> str:
    """``text`` as one printable line: newlines, carriage returns, escapes and other control characters in a
    file name or a tool's output shown escaped (a name like ``a\\nerror: fine`` must not print a second,
    forged line), and very long messages cut."""
    out = "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in str(text).strip())
    return out if len(out) <= limit else out[: limit - 3] + "..."
