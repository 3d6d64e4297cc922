"""A progress bar for batches on a terminal (rich, which typer already brings), silent otherwise."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator


@contextmanager
def progress_bar(total: int, enabled: bool) -> Iterator[Callable[[], None]]:
    """Yield `advance()`, to call once per finished image; draws nothing unless `enabled`."""
    if not enabled:
        yield lambda: None
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
