"""A saved ``benchmark_model`` output (CLI binary, or the benchmark APK's ``adb logcat``) -> a bench record.

Results from a device lab, a colleague's phone or the APK then enter ``mobiledepth report`` beside
ours. What the log does not say (the phone, the local model file) is given by the caller or left
out; nothing is guessed. The parse is the same one live runs use.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import RECORD_SCHEMA
from .errors import BenchError
from .hashing import sha256_file
from .parse import normalize_lines, parse_benchmark_output
from .runner import TOOL_VERSION, _us_to_ms, central_ms, delegation_status, latency_block, output_fields


@dataclass(frozen=True)
class LogFacts:
    """What the tool echoed about its own settings (``Graph: [...]``, ``Use gpu: [1]`` ...)."""

    graph: str | None
    delegate: str
    threads: int | None


def log_facts(text: str) -> LogFacts:
    params: dict[str, str] = {}
    for line in normalize_lines(text):
        m = re.match(r"^(?:INFO: )?([A-Za-z# ][A-Za-z #]*?)\s*: \[([^\]]*)\]$", line)
        if m:
            params[m.group(1).strip().lower()] = m.group(2)
    delegate = "gpu" if params.get("use gpu") == "1" else ("nnapi" if params.get("use nnapi") == "1" else "cpu")
    threads = params.get("num threads") or params.get("#threads used for cpu inference")
    return LogFacts(params.get("graph"), delegate, int(threads) if threads and threads.isdigit() else None)


def record_from_log(log: Path, device: str = "log", model: Path | None = None) -> dict[str, Any]:
    """Parse ``log``; ``model`` (the local .tflite it ran) lets the report join it on the file's sha256."""
    text = log.read_text(errors="replace")
    facts = log_facts(text)
    parsed = parse_benchmark_output(text, facts.delegate)
    if parsed.failed:
        detail = "; ".join(parsed.errors) or "no timed runs in it"
        raise BenchError(f"{log}: not a finished benchmark_model run ({detail})")
    stats = parsed.runs
    repeat = {
        "median_ms": _us_to_ms(stats.median),
        "avg_ms": _us_to_ms(stats.avg),
        "min_ms": _us_to_ms(stats.min),
        "max_ms": _us_to_ms(stats.max),
        "count": stats.count,
    }
    latency = latency_block([repeat], stats, 1)
    model_block: dict[str, Any] = {
        "path": str(model or facts.graph or log),
        "format": "tflite",
        "name": Path(model.name if model else (facts.graph or log.name)).stem,
    }
    if model is not None:
        model_block.update(sha256=sha256_file(model), size_bytes=model.stat().st_size)
    else:
        model_block["sha256"] = f"log:{log.name}"  # no file to hash: the row stands alone in the report
    return {
        "record": "bench",
        "schema": RECORD_SCHEMA,
        "tool": {"name": "mobiledepth", "harness": TOOL_VERSION},
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "source": {"log": str(log), "format": "logcat" if "I tflite" in text else "benchmark_model"},
        "model": model_block,
        "device": {"name": device},
        "delegate": facts.delegate,
        "delegation": asdict(parsed.delegation) | {"coverage": parsed.delegation.coverage},
        "status": delegation_status(parsed, facts.delegate),
        "threads": facts.threads,
        "latency_ms": latency,
        "fps": 1000.0 / central_ms(latency),
        **output_fields(parsed),
    }
