"""Terminal tables of bench and eval records, shared by the CLI and the demo (one rendering, one place)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

if TYPE_CHECKING:
    from ..records import BenchRecord

BENCH_COLUMNS = ("Model", "Precision", "Device", "Delegate", "Threads", "Median", "Mean", "p90", "Std", "Min", "Max",
                 "FPS", "Peak MB", "Status")  # fmt: skip
LATENCY_KEYS = ("median", "mean", "p90", "std", "min", "max")


def bench_table(records: list[dict[str, Any]]) -> Table:
    table = Table(title="Benchmark (latency in ms)")
    for col in BENCH_COLUMNS:
        table.add_column(col)
    for r in records:
        lat = r["latency_ms"]
        peak = r.get("peak_memory_mb")
        table.add_row(
            Path(r["model"]["path"]).name, r["model"].get("precision", ""), r["device"]["name"], r["delegate"],
            str(r["threads"]), *(f"{lat[k]:.2f}" if lat.get(k) is not None else "-" for k in LATENCY_KEYS),
            f"{r['fps']:.1f}", "" if peak is None else f"{peak:.0f}", r.get("status", "ok"),
        )  # fmt: skip
    return table


def paired_table(records: list[BenchRecord]) -> Table:
    """Typed paired bench records (``BenchRecord`` with ``paired``): each file's median of round medians and
    its per-round ratio to the first file, the comparison a paired run exists for."""
    first = records[0].paired
    table = Table(
        title=f"Paired benchmark: {first['rounds']} interleaved rounds x {first['runs_per_round']} runs, "
        f"{records[0].threads} thread(s); "
        f"ratio = file / {Path(first['baseline']).name}, per-round, 95% bootstrap interval"
    )
    for col in ("Model", "Precision", "Median of rounds ms", "p90 ms", "FPS", "Ratio", "95% interval"):
        table.add_column(col)
    for r in records:
        ratio = r.paired["ratio_to_baseline"]
        table.add_row(
            r.file_name,
            r.model.get("precision", ""),
            f"{r.central_ms:.3f}",
            f"{r.latency_ms['p90']:.3f}",
            f"{r.fps:.1f}",
            "1 (baseline)" if ratio is None else f"{ratio['median']:.3f}",
            "" if ratio is None else f"{ratio['low']:.3f}-{ratio['high']:.3f}",
        )
    return table


def eval_table(records: list[dict[str, Any]]) -> Table:
    table = Table(title=f"Evaluation on {records[0]['dataset']['csv']}")
    for col in ("Model", "Precision", "Pairs", "WHDR", "RMSE", "delta1", "SI-RMSE"):
        table.add_column(col)
    for r in records:
        d = r["dense"] or {}
        table.add_row(
            Path(r["model"]["path"]).name, r["model"]["precision"], str(r["dataset"]["pairs"]), f"{r['whdr']:.4f}",
            *(f"{d[k]:.4f}" if k in d else "" for k in ("rmse", "delta1", "si_rmse")),
        )  # fmt: skip
    return table
