"""One exception type for problems the user can fix.

The CLI prints these as a single line (``error: ...``) and exits non-zero, so every message must name
the file and the problem on its own; tracebacks are kept for real bugs.
"""


class MobileDepthError(Exception):
    """A user-facing error: bad input file, bad option, failed conversion."""
