"""What a batch shows on stderr while it runs, and the summary at the end.

On a terminal: one Rich progress bar (done/failed/skipped, tokens, elapsed,
ETA) with failures printed above it, and a table at the end.  Elsewhere (CI
logs, ``2> log``): one plain line per finished file, so a log reads top to
bottom, and a one-line summary.  ``-q``: only failures, then the one-line
summary (a script reads one line to learn what happened, wherever stderr goes).
stdout is never touched: it belongs to ``--diff`` and ``--dry-run``.
"""

from __future__ import annotations

import threading
from collections import Counter

from .. import status
from ..names import display_name
from ..terminal import stderr_console, stderr_is_terminal
from .work import Result

LABELS = {"done": "done", "skipped": "skipped", "failed": "FAILED", "interrupted": "interrupted", "diff": "diffed"}


class Display:
    """Plain lines (not a terminal); ``quiet`` keeps only failures."""

    def __init__(self, total: int, *, quiet: bool = False) -> None:
        self.total = total
        self.quiet = quiet
        self.counts: Counter[str] = Counter()
        self.tokens = 0
        self.finished_count = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        pass

    def finished(self, result: Result) -> None:
        with self._lock:
            self.counts[result.status] += 1
            self.tokens += result.tokens_in + result.tokens_out
            self.finished_count += 1
            self._show(result)

    def _show(self, result: Result) -> None:
        if self.quiet and result.status != "failed":
            return
        status.note(self._line(result))

    def _line(self, result: Result) -> str:
        where = f"{result.job.shown}"
        if result.status == "done":
            in_place = result.job.target == result.job.source
            where += " (in place)" if in_place else f" -> {display_name(result.job.target)}"
        detail = ""
        if result.status in ("done", "diff"):
            tokens = result.tokens_in + result.tokens_out
            chunks = f", {result.chunks} chunks" if result.chunks > 1 else ""
            detail = f" ({result.seconds:.1f} s, {tokens} tokens{chunks})"
            if result.reason:
                detail += f" [{result.reason}]"
        elif result.reason:
            detail = f": {result.reason}"
        return f"[{self.finished_count}/{self.total}] {LABELS.get(result.status, result.status)} {where}{detail}"

    def retry(self, job, line: str) -> None:
        if self.quiet:
            return
        self.note(f"{job.shown}: {line}")

    def note(self, text: str) -> None:
        status.note(text)

    def stop(self) -> None:
        pass


class RichDisplay(Display):
    """A live bar on a terminal's stderr; file lines only for failures (and retries) above it."""

    def start(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = stderr_console()
        self.progress = Progress(
            SpinnerColumn(), TextColumn("batch"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"), TextColumn("{task.fields[tokens]} tok"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=self.console, transient=False,
        )
        self.task = self.progress.add_task("batch", total=self.total, counts=self._counts(), tokens=0)
        self.progress.start()

    def _counts(self) -> str:
        c = self.counts
        return f"done {c['done'] + c['diff']} · failed {c['failed']} · skipped {c['skipped']}"

    def _show(self, result: Result) -> None:
        if result.status == "failed":
            from rich.text import Text

            self.progress.console.print(Text(f"{status.PREFIX}: " + self._line(result), style="red"))
        self.progress.update(self.task, advance=1, counts=self._counts(), tokens=self.tokens)

    def note(self, text: str) -> None:
        from rich.text import Text

        self.progress.console.print(Text(f"{status.PREFIX}: {text}", style="dim"))

    def stop(self) -> None:
        self.progress.stop()


def make_display(total: int, *, quiet: bool, stdout_busy: bool = False) -> Display:
    """A live bar only when stderr is a terminal and nothing else draws on it.

    ``stdout_busy``: diffs are printed to the same terminal as they come; a live bar
    would be left behind between them, so plain lines are used instead.
    """
    if not quiet and not stdout_busy and stderr_is_terminal():
        return RichDisplay(total)
    return Display(total, quiet=quiet)


def summary(results: list[Result], total: int, seconds: float, *, quiet: bool, interrupted: bool) -> None:
    """The closing table (terminal) or one line (elsewhere, and always with ``-q``) on stderr; failures named.

    Failures were named as they happened (a line each, even with ``-q``); the
    terminal's table is the only view that lists them again below itself.
    """
    counts = Counter(r.status for r in results)
    tokens_in = sum(r.tokens_in for r in results)
    tokens_out = sum(r.tokens_out for r in results)
    tokens_reasoning = sum(r.tokens_reasoning for r in results)
    not_run = total - len(results)
    failed = [r for r in results if r.status == "failed"]
    rows = [
        ("done", str(counts["done"] + counts["diff"])),
        ("skipped", str(counts["skipped"])),
        ("failed", str(counts["failed"])),
    ]
    if counts["interrupted"] or not_run:
        rows.append(("not done (interrupted)", str(counts["interrupted"] + not_run)))
    rows += [
        ("tokens in / out",
         f"{tokens_in} / {tokens_out}" + (f" ({tokens_reasoning} reasoning)" if tokens_reasoning else "")),
        ("wall time", f"{seconds:.1f} s"),
    ]
    if quiet or not stderr_is_terminal():
        status.note(summary_line(rows, interrupted=interrupted))
        return
    from rich.table import Table

    table = Table(title="llmcli batch" + (" (interrupted)" if interrupted else ""), show_header=False)
    for name, value in rows:
        table.add_row(name, value)
    stderr_console().print(table)
    for r in failed:
        status.error(f"{r.job.shown}: {r.reason}")


def summary_line(rows: list[tuple[str, str]], *, interrupted: bool = False) -> str:
    """``summary: done 8, skipped 1, failed 1, tokens in / out 120 / 340, wall time 3.2 s``: for logs and scripts."""
    line = "summary: " + ", ".join(f"{name} {value}" for name, value in rows)
    return line + (" (interrupted)" if interrupted else "")
