"""A sweep's progress as one live table: per phone, jobs done / running / failed / waiting.

On a terminal the table redraws in place; elsewhere (CI logs, tests) each job's end is one line and the
table is printed once at the end, so a log reads top to bottom.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console
from rich.live import Live
from rich.text import Text

from ..records.lab import SweepJobRecord
from ..tables import Table


@dataclass
class PhoneCounts:
    host: str
    label: str
    done: int = 0
    failed: int = 0
    waiting: int = 0
    running: bool = False
    earlier: int = 0  # done by an earlier run of the same sweep (not run again)


@dataclass
class SweepProgress:
    console: Console
    phones: dict[str, PhoneCounts] = field(default_factory=dict)
    live: Live | None = None

    def start(self, title: str) -> None:
        self.title = title
        if self.console.is_terminal:
            self.live = Live(self.table(), console=self.console, refresh_per_second=4, transient=False)
            self.live.start()

    def add(self, serial: str, host: str, label: str, earlier: bool) -> None:
        counts = self.phones.setdefault(serial, PhoneCounts(host, label))
        if earlier:
            counts.earlier += 1
        else:
            counts.waiting += 1

    def ended(self, serial: str, record: SweepJobRecord) -> None:
        counts = self.phones[serial]
        counts.waiting -= 1
        if record.status == "done":
            counts.done += 1
        else:
            counts.failed += 1
        if self.live is None:
            what = "done" if record.status == "done" else f"FAILED: {record.cause}"
            line = f"{counts.label} {record.key.delegate} t{record.key.threads} {', '.join(record.files)}: {what}"
            self.console.print(Text(line), highlight=False, soft_wrap=True)
        self.refresh()

    def running(self, busy: set[str]) -> None:
        for serial, counts in self.phones.items():
            counts.running = counts.waiting > 0 and serial in busy
        self.refresh()

    def refresh(self) -> None:
        if self.live is not None:
            self.live.update(self.table())

    def table(self) -> Table:
        table = Table(title=getattr(self, "title", "sweep"))
        for column in ("Phone", "Host", "Done", "Running", "Failed", "Waiting", "Earlier"):
            table.add_column(column, justify="left" if column in ("Phone", "Host") else "right")
        for counts in self.phones.values():
            table.add_row(Text(counts.label), Text(counts.host), str(counts.done), "1" if counts.running else "0",
                          str(counts.failed), str(counts.waiting - counts.running), str(counts.earlier))  # fmt: skip
        return table

    def stop(self) -> None:
        if self.live is not None:
            self.live.update(self.table())
            self.live.stop()
        else:
            self.console.print(self.table())
