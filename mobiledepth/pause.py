"""A test hook for kill -9 at chosen points: with ``MOBILEDEPTH_PAUSE_AT=<name>`` a process reaching
:func:`pause_point` of that name (after skipping ``MOBILEDEPTH_PAUSE_SKIP`` earlier hits) writes its pid
to ``MOBILEDEPTH_PAUSE_FILE`` and waits to be killed.

Crash-safety claims ("after a kill at any point --resume finds every file it refers to") are only as
good as the kills tested; this lets a test kill exactly between two writes instead of hoping a timer
lands there. Without the variable the call is a dictionary lookup.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

_hits: dict[str, int] = {}


def pause_point(name: str) -> None:
    if os.environ.get("MOBILEDEPTH_PAUSE_AT") != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] <= int(os.environ.get("MOBILEDEPTH_PAUSE_SKIP", "0")):
        return
    Path(os.environ["MOBILEDEPTH_PAUSE_FILE"]).write_text(str(os.getpid()))
    while True:  # the test kills us here
        time.sleep(1.0)
