"""What a run says while it works: a live progress bar on a terminal (rich), plain lines
with a count and the elapsed time in logs (CI), nothing with --quiet."""

import sys
import time
from typing import Any, Protocol


class Log(Protocol):
    """Where a run reports progress: a line, or the start of a step (`start=True`)."""

    def __call__(self, message: str, start: bool = False) -> None: ...


def plain(message: str, start: bool = False) -> None:
    print(message, flush=True)


class Progress:
    """A `log` for `run()`: `log(message, start=True)` marks the start of one of `total`
    steps (a variant to build and measure); other messages are notes and warnings."""

    def __init__(self, total: int, quiet: bool = False, live: bool | None = None):
        self.total, self.quiet, self.done = total, quiet, 0
        self.live = sys.stdout.isatty() if live is None else live
        self.started = time.perf_counter()
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> "Progress":
        if self.live and not self.quiet:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                transient=True,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("loading data", total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def __call__(self, message: str, start: bool = False) -> None:
        if self.quiet:
            return
        if start:
            self.done += 1
        if self._bar is not None and self._task is not None:
            # the bar names what runs now: training, building, measuring, the firmware
            self._bar.update(
                self._task, completed=max(0, self.done - 1), description=_short(message)
            )
            if not start:
                self._bar.console.print(message)
            return
        elapsed = time.perf_counter() - self.started
        print(f"[{self.done}/{self.total} {elapsed:6.1f} s] {message}", flush=True)


def _short(message: str, width: int = 56) -> str:
    """A message cut to fit the bar's description."""
    return message if len(message) <= width else message[: width - 1] + "…"
