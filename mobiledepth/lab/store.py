"""A sweep's results folder: one record file per job, named by its key, written atomically as each job ends.

Why a folder of files and not one JSON list: two sweeps (or a sweep and its re-run) may end jobs at the
same time, and a killed run must leave every finished job readable. A job is done when its file says
``done``; a failed job's file is replaced when a re-run measures it; nothing else is ever rewritten.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import MobileDepthError
from ..records.lab import JobKey, SweepJobRecord
from ..records.store import read_json, read_record, write_record

JOBS_FOLDER = "jobs"


class ResultsStore:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise MobileDepthError(f"{self.folder}: --results must be a folder (a sweep keeps one file per job)")

    def path(self, key: JobKey) -> Path:
        return self.folder / JOBS_FOLDER / f"{key.name}.json"

    def read(self, key: JobKey) -> SweepJobRecord | None:
        """The job's record, or None when it never ended (or its file is not a sweep record: measured again)."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            record = read_record(path, read_json(path))
        except MobileDepthError:
            return None
        return record if isinstance(record, SweepJobRecord) and record.key == key else None

    def write(self, record: SweepJobRecord) -> Path:
        return write_record(self.path(record.key), record)

    def records(self) -> list[SweepJobRecord]:
        """Every job file of the folder, in name order (a damaged file fails with its name)."""
        out = []
        for path in sorted((self.folder / JOBS_FOLDER).glob("*.json")):
            record = read_record(path, read_json(path))
            if isinstance(record, SweepJobRecord):
                out.append(record)
        return out
