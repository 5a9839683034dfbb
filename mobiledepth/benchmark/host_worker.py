"""Worker process for one host benchmark (see :mod:`mobiledepth.benchmark.host`). Not a user command."""

from __future__ import annotations

import json
import sys

from ..codec import decode, dumps
from ..errors import MobileDepthError
from .host import ERROR, PROGRESS, RESULT, HostJob, run_paired_job, run_timed


def main() -> int:
    job = decode(HostJob, json.loads(sys.argv[1]))
    step = max(1, (job.timing.runs or 1) // 50)

    def report(done: int, total: int) -> None:
        if done % step == 0 or done == total:
            print(f"{PROGRESS} {done} {total}", flush=True)

    try:
        result = run_paired_job(job) if job.paired else run_timed(job, report)
    except MobileDepthError as exc:
        print(f"{ERROR} {exc}", flush=True)
        return 1
    print(RESULT + dumps(result).replace("\n", " "), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
