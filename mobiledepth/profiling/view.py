"""Per-layer tables for the terminal: one model, or two side by side joined on the layer's module."""

from __future__ import annotations

from ..records.profiling import LayerProfile
from ..tables import Table


def layer_table(profile: LayerProfile, top: int = 20) -> Table:
    extra = f"; unprofiled median {profile.unprofiled_ms:.2f} ms" if profile.unprofiled_ms is not None else ""
    table = Table(
        title=f"{profile.model} on {profile.device} ({profile.runtime}, {profile.runs} runs): layers sum "
        f"{profile.layer_sum_ms:.2f} ms = {100 * profile.coverage:.1f}% of the {profile.end_to_end_ms:.2f} ms "
        f"end-to-end median{extra}" + (f"; {profile.note}" if profile.note else "")
    )
    for col in ("#", "Layer (module)", "Op", "ms", "Share %", "Cumulative %"):
        table.add_column(col, overflow="fold")
    for i, r in enumerate(profile.ranked()[:top], start=1):
        table.add_row(
            str(i), r.module or r.name, r.op, f"{r.ms:.3f}", f"{100 * r.share:.1f}", f"{100 * r.cumulative:.1f}"
        )
    return table


def comparison_rows(a: LayerProfile, b: LayerProfile, top: int = 20) -> list[list[str]]:
    """Milliseconds per module (three levels deep) of two files, slowest first, with b/a: where one is faster."""
    left, right = a.by_module(depth=3), b.by_module(depth=3)
    keys = sorted(set(left) | set(right), key=lambda k: -max(left.get(k, 0.0), right.get(k, 0.0)))[:top]
    rows = []
    for k in keys:
        x, y = left.get(k), right.get(k)
        rows.append(
            [k, "" if x is None else f"{x:.3f}", "" if y is None else f"{y:.3f}", f"{y / x:.2f}" if x and y else ""]
        )
    return rows


def comparison_table(a: LayerProfile, b: LayerProfile, top: int = 20) -> Table:
    table = Table(title=f"Per module: {a.model} vs {b.model} (ms, median per run)")
    for col in ("Module", a.model, b.model, "Ratio"):
        table.add_column(col, overflow="fold")
    for row in comparison_rows(a, b, top):
        table.add_row(*row)
    return table
