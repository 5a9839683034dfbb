"""Worker process for one host benchmark (see :mod:`mobiledepth.bench.host`). Not a user command."""

from __future__ import annotations

import json
import sys

from ..errors import MobileDepthError
from .host import ERROR, PROGRESS, RESULT, HostBenchOptions, run_timed


def main() -> int:
    request = json.loads(sys.argv[1])
    options = HostBenchOptions(**request["options"]) if "paired" not in request else HostBenchOptions()
    step = max(1, options.runs // 50)

    def report(done: int, total: int) -> None:
        if done % step == 0 or done == total:
            print(f"{PROGRESS} {done} {total}", flush=True)

    try:
        if "paired" in request:
            from .paired import PairedOptions, paired_host

            hw = tuple(request["input_hw"]) if request.get("input_hw") else None
            result = paired_host(request["paired"], PairedOptions(**request["options"]), hw).to_dict()
        else:
            result = run_timed(request["path"], options, report)
    except MobileDepthError as exc:
        print(f"{ERROR} {exc}", flush=True)
        return 1
    print(RESULT + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
