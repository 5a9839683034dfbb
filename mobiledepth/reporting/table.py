"""Join bench, eval and convert records into one FPS + WHDR table (one row per benchmark run).

Records are joined on the model file's sha256: a bench record and an eval record of the same file
make one row; a convert record supplies precision and parameter counts for the files it wrote. A
model evaluated but never benchmarked still gets a row (latency empty).
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from android_bench.stats import LatencyStats

from ..records import BenchRecord, ConvertReport, EvalRecord, FileReport, ModelInfo
from ..records.lab import SweepJobRecord
from ..records.store import AnyRecord


@dataclass(frozen=True)
class ReportRow:
    model: str
    precision: str
    params: int | None
    size_mb: float | None
    whdr: float | None
    device: str
    delegate: str
    threads: int | None
    median_ms: float | None
    p90_ms: float | None
    fps: float | None
    format: str = ""
    note: str = ""
    sha256: str = ""
    file: str = ""  # the file's name: rows of one model differ by file, precision, runtime and pairing
    low_ms: float | None = None  # spread for error bars: p10 of the samples (p5 where the tool gives only that)
    high_ms: float | None = None  # p90 (or p95)
    delegate_applied: bool = True  # False: a GPU/NNAPI request that ran on the CPU
    emulated: bool = False  # timed on an emulated phone: not a phone's speed
    paired_baseline: str = ""  # paired runs: the first file; this row's latency is a median of round medians
    paired_rounds: int | None = None
    paired_ratio: float | None = None  # this file / the baseline, per round; None for the baseline itself
    paired_low: float | None = None  # 95% bootstrap interval of that ratio
    paired_high: float | None = None

    @property
    def label(self) -> str:
        """A row's unique name in plots: file, runtime and pairing (two rows of one model never read alike)."""
        paired = " (paired)" if self.paired_baseline else ""
        return f"{self.file or self.model} {self.delegate}{paired}".strip()


def spread(latency: LatencyStats) -> tuple[float | None, float | None]:
    """p10-p90 of the timed runs when they were kept, else the tool's own p5/p95, else nothing."""
    if len(latency.samples) >= 5:
        import numpy as np

        low, high = np.percentile(latency.samples, [10, 90])
        return float(low), float(high)
    return latency.p5, latency.p95


COLUMNS = [
    ("model", "Model"),
    ("file", "File"),
    ("precision", "Precision"),
    ("params", "Params"),
    ("size_mb", "Size MB"),
    ("whdr", "WHDR"),
    ("device", "Device"),
    ("delegate", "Delegate"),
    ("threads", "Threads"),
    ("median_ms", "Median ms"),
    ("p90_ms", "p90 ms"),
    ("fps", "FPS"),
    ("note", "Note"),
]


def _converted(records: list[AnyRecord]) -> dict[str, tuple[ConvertReport, FileReport]]:
    """sha256 of every converted file -> its convert report and entry (precision, source name, gate)."""
    out: dict[str, tuple[ConvertReport, FileReport]] = {}
    for rec in records:
        if isinstance(rec, ConvertReport):
            for f in rec.files:
                out[f.sha256] = (rec, f)
    return out


def _model_fields(model: ModelInfo, known: tuple[ConvertReport, FileReport] | None, whdr: float | None) -> dict:
    """The row's model columns: the convert record's knowledge first, the bench/eval record's second."""
    report, entry = known if known else (None, None)
    trained = report.source.trained if report else model.trained
    notes = ["untrained"] if trained is False else []
    if entry is not None and entry.status != "ok":
        why = (
            f" ({entry.gate.metric} {entry.task.drop:+.4f})"
            if entry.gate and entry.task and entry.task.drop is not None
            else ""
        )
        if entry.gate is None or entry.gate.verdict == "passed":  # failed on parity, not on the task gate
            why = " (parity)"
        notes.append(f"convert gate {entry.status}{why}")
    return {
        "model": (report.source.name if report else "") or model.name,
        "precision": (entry.precision if entry else "") or model.precision,
        "params": (entry.params if entry else None) or model.params,
        "size_mb": model.size_bytes / 1e6 if model.size_bytes else None,
        "whdr": whdr,
        "format": model.format,
        "note": ", ".join(notes),
        "sha256": model.sha256,
        "file": model.file_name,
    }


def _bench_flag(rec: BenchRecord) -> str:
    """What the Note column must say about a timing: CPU fallback, partial delegation, a mean for a median."""
    flags = []
    if rec.device.emulated:
        flags.append("emulated phone")
    if rec.status == "delegate-not-applied":
        flags.append("delegate NOT applied (CPU timings)")
    elif rec.status == "delegate-partial":
        d = rec.phone.delegation if rec.phone else None
        nodes = f" ({d.delegated_nodes}/{d.total_nodes} nodes)" if d and d.delegated_nodes is not None else ""
        flags.append("delegate partial" + nodes)
    if rec.latency_ms.median is None:
        flags.append("mean: the tool printed no median")
    return ", ".join(flags)


def _paired_fields(rec: BenchRecord) -> tuple[dict, str]:
    """A paired record's ratio to its baseline (the only latency comparison the report states) and its note."""
    paired = rec.paired
    if paired is None:
        return {}, ""
    baseline = Path(paired.baseline).name
    ratio = paired.ratio_to_baseline
    out = {"paired_baseline": baseline, "paired_rounds": paired.rounds}
    if ratio is None:
        return out, f"paired baseline ({paired.rounds} rounds)"
    out.update(paired_ratio=ratio.median, paired_low=ratio.low, paired_high=ratio.high)
    return out, f"paired: {ratio.median:.3f}x {baseline} [{ratio.low:.3f}-{ratio.high:.3f}], {paired.rounds} rounds"


def _bench_row(rec: BenchRecord, fields: dict) -> ReportRow:
    paired, paired_note = _paired_fields(rec)
    flag = ", ".join(n for n in (_bench_flag(rec), paired_note) if n)
    if flag:
        fields = {**fields, "note": ", ".join(n for n in (fields["note"], flag) if n)}
    low, high = spread(rec.latency_ms)
    return ReportRow(
        device=rec.device.label,
        delegate=rec.delegate,
        threads=rec.threads,
        median_ms=rec.central_ms,
        p90_ms=rec.latency_ms.p90,
        fps=rec.fps,
        **fields,
        low_ms=low,
        high_ms=high,
        delegate_applied=rec.status != "delegate-not-applied",
        emulated=rec.device.emulated,
        **paired,
    )


def build_rows(records: list[AnyRecord]) -> list[ReportRow]:
    """One row per bench record (joined with eval and convert records on the file's sha256), then one per
    evaluated file that was never timed. A device-lab job record stands for the bench records it holds."""
    records = [x for r in records for x in (r.results if isinstance(r, SweepJobRecord) else (r,))]
    converted = _converted(records)
    whdr: dict[str, float] = {}
    models: dict[str, ModelInfo] = {}
    for rec in records:
        if isinstance(rec, EvalRecord) and not rec.dataset.real:
            whdr[rec.model.sha256] = rec.whdr
            models.setdefault(rec.model.sha256, rec.model)

    def fields(model: ModelInfo) -> dict:
        return _model_fields(model, converted.get(model.sha256), whdr.get(model.sha256))

    benches = [rec for rec in records if isinstance(rec, BenchRecord)]
    rows = [_bench_row(rec, fields(rec.model)) for rec in benches]
    benched = {rec.model.sha256 for rec in benches}
    for sha, model in models.items():
        if sha not in benched:
            rows.append(
                ReportRow(device="", delegate="", threads=None, median_ms=None, p90_ms=None, fps=None, **fields(model))
            )
    return rows


def format_cell(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key == "params":
        return f"{value / 1e6:.2f}M"
    if key == "whdr":
        return f"{value:.4f}"
    if key in ("size_mb", "median_ms", "p90_ms", "fps"):
        return f"{value:.2f}" if key != "fps" else f"{value:.1f}"
    return str(value)


def to_markdown(rows: list[ReportRow]) -> str:
    head = "| " + " | ".join(title for _, title in COLUMNS) + " |"
    rule = "|" + "|".join("---" for _ in COLUMNS) + "|"
    body = ["| " + " | ".join(format_cell(k, getattr(r, k)) for k, _ in COLUMNS) + " |" for r in rows]
    return "\n".join([head, rule, *body]) + "\n"


def to_csv(rows: list[ReportRow]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[f.name for f in fields(ReportRow)])
    writer.writeheader()
    for row in rows:
        writer.writerow(asdict(row))
    return buffer.getvalue()
