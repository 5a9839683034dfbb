"""Terminal tables of bench and eval records, shared by the CLI and the demo (one rendering, one place)."""

from __future__ import annotations

from pathlib import Path

from ..records import BenchRecord, EvalRecord, Interval
from ..tables import Table

BENCH_COLUMNS = (
    "Model",
    "Precision",
    "Device",
    "Delegate",
    "Threads",
    "Median",
    "Mean",
    "p90",
    "Std",
    "Min",
    "Max",
    "FPS",
    "Peak MB",
    "Status",
)
LATENCY_KEYS = ("median", "mean", "p90", "std", "min", "max")


def bench_table(records: list[BenchRecord]) -> Table:
    table = Table(title="Benchmark (latency in ms)")
    for col in BENCH_COLUMNS:
        table.add_column(col)
    for r in records:
        lat = r.latency_ms
        peak = r.memory.peak_mb
        table.add_row(
            r.file_name,
            r.model.precision,
            r.device.label,
            r.delegate,
            str(r.threads),
            *(f"{getattr(lat, k):.2f}" if getattr(lat, k) is not None else "-" for k in LATENCY_KEYS),
            f"{r.fps:.1f}",
            "" if peak is None else f"{peak:.0f}",
            r.status,
        )
    return table


def paired_table(records: list[BenchRecord]) -> Table:
    """Paired bench records: each file's median of round medians and its per-round ratio to the first file,
    the comparison a paired run exists for."""
    first = records[0].paired
    assert first is not None
    table = Table(
        title=f"Paired benchmark: {first.rounds} interleaved rounds x {first.runs_per_round} runs, "
        f"{records[0].threads} thread(s); ratio = file / {Path(first.baseline).name}, per-round, 95% bootstrap "
        "interval"
    )
    for col in ("Model", "Precision", "Median of rounds ms", "p90 ms", "FPS", "Ratio", "95% interval", "Speed-up"):
        table.add_column(col)
    for r in records:
        ratio = r.paired.ratio_to_baseline if r.paired else None
        p90 = r.latency_ms.p90
        speed = "" if ratio is None else _speedup_text(ratio.speedup())
        table.add_row(
            r.file_name,
            r.model.precision,
            f"{r.central_ms:.3f}",
            "-" if p90 is None else f"{p90:.3f}",
            f"{r.fps:.1f}",
            "1 (baseline)" if ratio is None else f"{ratio.median:.3f}",
            "" if ratio is None else f"{ratio.low:.3f}-{ratio.high:.3f}",
            speed,
        )
    return table


def _speedup_text(speedup: Interval) -> str:
    """'2.10x faster' or '1.43x SLOWER' (the baseline's time over the file's), never a bare ratio to misread."""
    if speedup.low <= 1.0 <= speedup.high:
        return f"same speed ({speedup.low:.2f}-{speedup.high:.2f}x)"
    if speedup.median >= 1.0:
        return f"{speedup.median:.2f}x faster"
    return f"{1 / speedup.median:.2f}x SLOWER"


def eval_table(records: list[EvalRecord]) -> Table:
    table = Table(title=f"Evaluation on {records[0].dataset.name or records[0].dataset.csv}")
    columns = ["Model", "Precision", "Pairs", "WHDR", "RMSE", "delta1", "SI-RMSE"]
    prior = records[0].prior
    if prior is not None:
        columns.append(f"Prior ({prior.name})")
    for col in columns:
        table.add_column(col)
    for r in records:
        d = r.dense
        dense = [f"{getattr(d, k):.4f}" if d else "" for k in ("rmse", "delta1", "si_rmse")]
        row = [r.file_name, r.model.precision, str(r.dataset.pairs), f"{r.whdr:.4f}", *dense]
        table.add_row(*row, *([f"{r.prior.whdr:.4f}"] if prior is not None and r.prior else []))
    return table
