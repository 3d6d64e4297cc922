"""Batch progress: a bar on a terminal (rich, which typer already brings), timed lines in a job log."""
from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator


@contextmanager
def progress_bar(total: int, enabled: bool, every_s: float = 0.0) -> Iterator[Callable[[], None]]:
    """Yield `advance()`, to call once per finished image.

    `enabled`: draw a bar on stderr. Otherwise, with `every_s` > 0, print a line to stderr every
    `every_s` seconds (see `progress_line`), so job logs show progress; else nothing.
    """
    if not enabled:
        with progress_lines(total, every_s) as advance:
            yield advance
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    rate = TextColumn("{task.fields[rate]}")
    with Progress(TextColumn("masking"), BarColumn(), MofNCompleteColumn(), rate, TextColumn("ETA"),
                  TimeRemainingColumn(), console=Console(stderr=True)) as bar:
        task = bar.add_task("", total=total, rate="")

        def advance() -> None:
            bar.advance(task)
            speed = bar.tasks[task].speed
            bar.update(task, rate=f"{speed:.1f} images/s" if speed else "")

        yield advance


def progress_line(done: int, total: int, seconds: float) -> str:
    """'render3d: 120/5000 images (2.4%), 3.40 images/s, ETA 23m54s' (ETA from the mean rate so far)."""
    rate = done / seconds if seconds > 0 else 0.0
    eta = f"{format_duration((total - done) / rate)}" if rate > 0 else "unknown"
    share = 100.0 * done / total if total else 100.0
    return f"render3d: {done}/{total} images ({share:.1f}%), {rate:.2f} images/s, ETA {eta}"


def format_duration(seconds: float) -> str:
    """12 -> '12s', 754 -> '12m34s', 45296 -> '12h34m56s'."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


@contextmanager
def progress_lines(total: int, every_s: float) -> Iterator[Callable[[], None]]:
    """Yield `advance()`; a thread prints `progress_line` to stderr every `every_s` seconds (none if 0)."""
    done, start, stop = 0, time.perf_counter(), threading.Event()

    def advance() -> None:
        nonlocal done
        done += 1

    def report() -> None:
        while not stop.wait(every_s):
            print(progress_line(done, total, time.perf_counter() - start), file=sys.stderr, flush=True)

    reporter = threading.Thread(target=report, name="render3d-progress", daemon=True)
    if every_s > 0:
        reporter.start()
    try:
        yield advance
    finally:
        stop.set()
        if reporter.is_alive():
            reporter.join()
