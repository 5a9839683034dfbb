"""``keep``: the first model at or under each milestone (parameters like ``1.9M``, latency like ``25ms``) is
saved as ``keep_<label>`` on the way, so one run gives a family of sizes."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from ..errors import MobileDepthError
from ..records.pruning import Milestone, PruneHistory, PruneIteration


def parse_keep(items: list[str]) -> list[tuple[str, float]]:
    """'1.9M' (parameters) or '25ms' (latency) milestones."""
    out = []
    for item in items:
        m = re.fullmatch(r"\s*([0-9.]+)\s*(M|ms)\s*", item)
        if not m:
            raise MobileDepthError(f"--keep {item!r}: use parameter counts like 1.9M or latencies like 25ms")
        out.append(("params" if m.group(2) == "M" else "ms", float(m.group(1)) * (1e6 if m.group(2) == "M" else 1.0)))
    return out


def label_of(kind: str, value: float) -> str:
    return f"{value / 1e6:g}M" if kind == "params" else f"{value:g}ms"


def keep_milestones(history: PruneHistory, milestones: list[tuple[str, float]], chosen, record: PruneIteration,
                    parts, out: Path) -> PruneHistory:  # fmt: skip
    """The history with every milestone this iteration reached for the first time saved and recorded."""
    kept = dict(history.kept)
    for kind, value in milestones:
        label = label_of(kind, value)
        hit = (kind == "params" and record.params <= value) or (kind == "ms" and record.measured_ms <= value)
        if label in kept or not hit:
            continue
        config = getattr(chosen, "config", None)
        meta = {"trained": True, "name": f"{getattr(config, 'name', 'model')}-{label}",
                "metrics": {"val_whdr": record.whdr, "measured_ms": record.measured_ms}}  # fmt: skip
        parts.save(chosen, out / f"keep_{label}", meta)
        kept[label] = Milestone(record.iteration, record.params, record.measured_ms)
    return replace(history, kept=kept)
