"""What a run says while it works: a live progress bar on a terminal (rich), plain lines
with a count and the elapsed time in logs (CI), nothing with --quiet.

A run goes through stages (training and building, measuring, the firmware's libraries
and images), each of a known number of steps: `stage(log, name, total, unit)` starts one,
and `log(message, start=True)` marks the start of its next step. The bar and the count
are the stage's, so both move through the long work, and say what they count."""

import sys
import time
from typing import Any, Protocol


class Log(Protocol):
    """Where a run reports progress: a line, or the start of a step (`start=True`)."""

    def __call__(self, message: str, start: bool = False) -> None: ...


def plain(message: str, start: bool = False) -> None:
    print(message, flush=True)


def stage(log: "Log", name: str, total: int, unit: str) -> None:
    """Start the stage `name` of `total` steps (`unit`: what a step is): a Progress resets
    its bar and count; another log gets one line."""
    start = getattr(log, "stage", None)
    if start is not None:
        start(name, total, unit)
    else:
        log(f"{name}: {total} {unit}")


LOG_EVERY_STEP = 100  # a log names every step of a stage this long (models, variants)
LOG_EVERY_S = 5.0  # and of a longer one (files) its first, its last and one this often


class Progress:
    """A `log` for `run()`: `log(message, start=True)` marks the start of one of `total`
    steps (a variant to build and measure); other messages are notes and warnings."""

    def __init__(self, total: int, quiet: bool = False, live: bool | None = None):
        self.total, self.quiet, self.done = total, quiet, 0
        self.name, self.unit = "loading data", "variants"  # what `total` counts at first
        self.live = sys.stdout.isatty() if live is None else live
        self.started = self.printed = time.perf_counter()
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

    def stage(self, name: str, total: int, unit: str) -> None:
        """A new stage: its own count, total and ETA."""
        self.name, self.total, self.unit, self.done = name, total, unit, 0
        if self.quiet:
            return
        if self._bar is not None and self._task is not None:
            self._bar.reset(self._task, total=total, description=_short(name))
            return
        self(f"{name}: {total} {unit}")

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
        now = time.perf_counter()
        many = self.total > LOG_EVERY_STEP  # a library's files: a line every few seconds
        if start and many and self.done not in (1, self.total) and now - self.printed < LOG_EVERY_S:
            return
        self.printed = now
        line = f"[{self.done}/{self.total} {self.unit} {now - self.started:6.1f} s] {message}"
        print(line, flush=True)


def _short(message: str, width: int = 56) -> str:
    """A message cut to fit the bar's description."""
    return message if len(message) <= width else message[: width - 1] + "…"
