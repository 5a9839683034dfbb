"""A saved ``benchmark_model`` output (CLI binary, or the benchmark APK's ``adb logcat``) -> a phone result.

Results from a device lab, a colleague's phone or the APK then enter ``mobiledepth report`` beside
ours. What the log does not say (the phone, the local model file) is given by the caller or left
out; nothing is guessed. The parse is the same one live runs use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from .devices import DeviceInfo
from .errors import BenchError
from .hashing import sha256_file
from .parse import normalize_lines, parse_benchmark_output
from .runner import PhoneModel, PhoneResult, RunPlan, repeat_of, result_of
from .timing import Timing


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


def result_from_log(log: Path, device: str = "log", model: Path | None = None) -> PhoneResult:
    """Parse ``log``; ``model`` (the local .tflite it ran) lets the report join it on the file's sha256."""
    text = log.read_text(errors="replace")
    facts = log_facts(text)
    parsed = parse_benchmark_output(text, facts.delegate)
    if parsed.failed:
        detail = "; ".join(parsed.errors) or "no timed runs in it"
        raise BenchError(f"{log}: not a finished benchmark_model run ({detail})")
    try:
        repeat = repeat_of(parsed.runs)
    except BenchError as exc:
        raise BenchError(f"{log}: {exc}") from None
    name = Path(model.name if model else (facts.graph or log.name)).stem
    if model is not None:
        phone_model = PhoneModel(str(model), name, sha256_file(model), model.stat().st_size)
    else:  # no file to hash: the row stands alone in the report
        phone_model = PhoneModel(str(facts.graph or log), name, f"log:{log.name}")
    plan = RunPlan(facts.delegate, Timing(threads=facts.threads))
    result = result_of(phone_model, DeviceInfo(serial="", state="log"), device, plan, [repeat], parsed)
    log_format = "logcat" if "I tflite" in text else "benchmark_model"
    return replace(result, details=replace(result.details, log=str(log), log_format=log_format))
