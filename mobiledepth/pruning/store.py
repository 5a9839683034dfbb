"""A NetAdapt run's folder: its history, latency cache, log, checkpoints and milestones, and its resume.

Everything a resumed run needs is written before the step that depends on it, each file atomically,
so a kill at any point leaves a folder ``--resume`` continues from: after the latency cache but before
the history, the cache's sample of the unrecorded iteration is dropped and that iteration runs again;
with a cache but no history at all (killed while measuring the base), the run starts over and reuses the
cache. A damaged history is one line saying so; a damaged cache is measured again.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from ..codec import RecordError, decode
from ..errors import MobileDepthError
from ..fileio import write_json
from ..records.pruning import PruneHistory
from .latency import LatencyModel

HISTORY = "history.json"


@dataclass
class RunStore:
    out: Path
    echo: Callable[[str], None] = print

    @property
    def history_path(self) -> Path:
        return self.out / HISTORY

    def log(self, message: str) -> None:
        line = f"{_dt.datetime.now().strftime('%H:%M:%S')} {message}"
        with open(self.out / "log.txt", "a") as handle:
            handle.write(line + "\n")
        self.echo(line)

    def save(self, history: PruneHistory) -> None:
        write_json(self.history_path, history)

    def load(self) -> PruneHistory | None:
        """The run's history, or None when there is none yet; a damaged one is one line, never a traceback."""
        if not self.history_path.is_file():
            return None
        try:
            return decode(PruneHistory, migrate_history(json.loads(self.history_path.read_text())))
        except (OSError, ValueError, RecordError, KeyError, TypeError) as exc:
            raise MobileDepthError(f"{self.history_path}: damaged ({exc.__class__.__name__}: {str(exc)[:120]}); "
                                   "cannot resume: start again without --resume in a new folder") from None  # fmt: skip

    def latency(self, cache_name: str, key) -> LatencyModel | None:
        return LatencyModel.load(self.out / cache_name, key)

    def keep_latency(self, cache_name: str, latency: LatencyModel) -> None:
        latency.save(self.out / cache_name)

    @staticmethod
    def forget_unrecorded(latency: LatencyModel, history: PruneHistory) -> LatencyModel:
        """A kill between saving the cache and the history leaves samples of an iteration the history never
        recorded; that iteration runs again, so its old samples go."""
        known = {f"iter_{it.iteration:03d}" for it in history.iterations}
        kept = [s for s in latency.samples if not s.label.startswith("iter_") or s.label == "iter_000" or
                s.label in known]  # fmt: skip
        latency = replace(latency, samples=kept)
        latency.fit()
        return latency


def migrate_history(item: dict) -> dict:
    """Histories written before the typed records: options kept by name, verifications without rounds (before
    paired verification) dropped, measurer keys without a runtime read as LiteRT's."""
    from ..records.pruning import PruneOptionsRecord

    item = dict(item)
    known = set(PruneOptionsRecord.__dataclass_fields__)
    options = {k: v for k, v in (item.get("options") or {}).items() if k in known}
    item["options"] = {**options, "data": None if options.get("data") is None else str(options["data"])}
    for it in item.get("iterations") or []:
        if isinstance(it.get("verification"), dict) and "rounds" not in it["verification"]:
            it["verification"] = None
        for rejected in it.get("rejected") or []:
            if isinstance(rejected.get("verification"), dict) and "rounds" not in rejected["verification"]:
                rejected["verification"] = None
    return item


def checked_out(out: Path) -> Path:
    """The output folder, created; a file of that name is one line."""
    if out.exists() and not out.is_dir():
        raise MobileDepthError(f"{out}: not a folder")
    out.mkdir(parents=True, exist_ok=True)
    return out
