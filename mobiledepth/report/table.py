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

from ..records import as_dict


@dataclass
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
    low_ms: float | None = None  # spread for error bars: p10 of the samples (p5 where the tool gives only that)
    high_ms: float | None = None  # p90 (or p95)
    delegate_applied: bool = True  # False: a GPU/NNAPI request that ran on the CPU
    paired_baseline: str = ""  # paired runs: the first file; this row's latency is a median of round medians
    paired_rounds: int | None = None
    paired_ratio: float | None = None  # this file / the baseline, per round; None for the baseline itself
    paired_low: float | None = None  # 95% bootstrap interval of that ratio
    paired_high: float | None = None


def spread(latency: dict[str, Any]) -> tuple[float | None, float | None]:
    """p10-p90 of the timed runs when they were kept, else the tool's own p5/p95, else nothing."""
    samples = latency.get("samples") or []
    if len(samples) >= 5:
        import numpy as np

        low, high = np.percentile(samples, [10, 90])
        return float(low), float(high)
    return latency.get("p5"), latency.get("p95")


COLUMNS = [
    ("model", "Model"),
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


def _device_label(device: dict[str, Any]) -> str:
    name = device.get("name", "?")
    model = device.get("model")
    return name if name == "host" or not model or model == name else f"{name} ({model})"


def _converted(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """sha256 of every converted file -> what its convert record knows (precision, source name, gate)."""
    out: dict[str, dict[str, Any]] = {}
    for rec in records:
        if rec["record"] != "convert":
            continue
        source = rec["source"]
        for f in rec.get("files", []):
            out[f["sha256"]] = {"precision": f["precision"], "params": f.get("params"), "name": source.get("name"),
                                "trained": source.get("trained"), "format": f.get("format"),
                                "convert_status": f.get("status", "ok"), "task": f.get("task")}  # fmt: skip
    return out


def _model_fields(model: dict[str, Any], known: dict[str, Any], whdr: float | None) -> dict[str, Any]:
    """The row's model columns: the convert record's knowledge first, the bench/eval record's second."""
    notes = ["untrained"] if known.get("trained", model.get("trained")) is False else []
    if known.get("convert_status", "ok") != "ok":
        drop = (known.get("task") or {}).get("drop")
        notes.append(
            f"convert gate {known['convert_status']}" + (f" (WHDR drop {drop:+.4f})" if drop is not None else "")
        )
    return {
        "model": known.get("name") or model.get("name"),
        "precision": known.get("precision") or model.get("precision", ""),
        "params": known.get("params") or model.get("params"),
        "size_mb": model["size_bytes"] / 1e6 if model.get("size_bytes") else None, "whdr": whdr,
        "format": model.get("format", ""), "note": ", ".join(notes), "sha256": model["sha256"],
    }  # fmt: skip


def _bench_flag(rec: dict[str, Any]) -> str:
    """What the Note column must say about a timing: CPU fallback, partial delegation, a mean for a median."""
    lat = rec.get("latency_ms") or {}
    flags = []
    status = rec.get("status", "ok")
    if status == "delegate-not-applied":
        flags.append("delegate NOT applied (CPU timings)")
    elif status == "delegate-partial":
        d = rec.get("delegation") or {}
        nodes = f" ({d['delegated_nodes']}/{d['total_nodes']} nodes)" if d.get("delegated_nodes") is not None else ""
        flags.append("delegate partial" + nodes)
    if lat.get("median") is None and lat.get("mean") is not None:
        flags.append("mean: the tool printed no median")
    return ", ".join(flags)


def _paired_fields(rec: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A paired record's ratio to its baseline (the only latency comparison the report states) and its note."""
    paired = rec.get("paired")
    if not paired:
        return {}, ""
    baseline = Path(paired["baseline"]).name
    ratio = paired.get("ratio_to_baseline")
    out = {"paired_baseline": baseline, "paired_rounds": paired.get("rounds")}
    if ratio is None:
        return out, f"paired baseline ({paired.get('rounds')} rounds)"
    out.update(paired_ratio=ratio["median"], paired_low=ratio["low"], paired_high=ratio["high"])
    return out, (f"paired: {ratio['median']:.3f}x {baseline} [{ratio['low']:.3f}-{ratio['high']:.3f}], "
                 f"{paired.get('rounds')} rounds")  # fmt: skip


def _bench_row(rec: dict[str, Any], fields: dict[str, Any]) -> ReportRow:
    lat = rec.get("latency_ms") or {}
    paired, paired_note = _paired_fields(rec)
    flag = ", ".join(n for n in (_bench_flag(rec), paired_note) if n)
    if flag:
        fields = {**fields, "note": ", ".join(n for n in (fields["note"], flag) if n)}
    low, high = spread(lat)
    median = lat.get("median") if lat.get("median") is not None else lat.get("mean")
    applied = rec.get("status", "ok") != "delegate-not-applied"
    return ReportRow(device=_device_label(rec.get("device", {})), delegate=rec.get("delegate", ""),
                     threads=rec.get("threads"), median_ms=median, p90_ms=lat.get("p90"), fps=rec.get("fps"),
                     **fields, low_ms=low, high_ms=high, delegate_applied=applied, **paired)  # fmt: skip


def build_rows(records: list[Any]) -> list[ReportRow]:
    """One row per bench record (joined with eval and convert records on the file's sha256), then one per
    evaluated file that was never timed. Typed records (BenchRecord) are taken in their JSON form."""
    records = [as_dict(r) for r in records]
    converted = _converted(records)
    whdr: dict[str, float] = {}
    models: dict[str, dict[str, Any]] = {}
    for rec in records:
        if rec["record"] == "eval":
            whdr[rec["model"]["sha256"]] = rec["whdr"]
            models.setdefault(rec["model"]["sha256"], rec["model"])

    def fields(model: dict[str, Any]) -> dict[str, Any]:
        return _model_fields(model, converted.get(model["sha256"], {}), whdr.get(model["sha256"]))

    benches = [rec for rec in records if rec["record"] == "bench"]
    rows = [_bench_row(rec, fields(rec["model"])) for rec in benches]
    benched = {rec["model"]["sha256"] for rec in benches}
    for sha, model in models.items():
        if sha not in benched:
            rows.append(ReportRow(device="", delegate="", threads=None, median_ms=None, p90_ms=None, fps=None,
                                  **fields(model)))  # fmt: skip
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
