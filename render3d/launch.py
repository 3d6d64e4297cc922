"""The `render3d` command's entry point: a Ctrl-C or SIGTERM at any time before the command itself runs
stops it with one line and exit code 130, as it does later on.

Both are held back (blocked) from the start until the command's own handlers are in place
(`stops_delivered`, entered by every command): Python's imports turn a KeyboardInterrupt into other
errors, and Typer turns one that lands while it parses the command line into a silent exit 130.
"""
from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from typing import Iterator

INTERRUPTED = 130
HELD = {signal.SIGINT, signal.SIGTERM}
INTERRUPTED_LINE = b"render3d: interrupted\n"


def stop_pending() -> bool:
    """Whether a held Ctrl-C or SIGTERM is waiting to be delivered."""
    return bool(signal.sigpending() & HELD)


@contextmanager
def stops_delivered() -> Iterator[None]:
    """Deliver Ctrl-C and SIGTERM inside the block, and hold them back again after it, as they were.
    One held back until now raises KeyboardInterrupt on entering it (SIGTERM's own action would end
    the process without a word)."""
    if stop_pending():
        raise KeyboardInterrupt
    previous = signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def main() -> None:
    """Load the command line and run it, Ctrl-C and SIGTERM held back until its command starts."""
    signal.pthread_sigmask(signal.SIG_BLOCK, HELD)
    from render3d.cli import main as run
    if stop_pending():                  # a stop that came while loading: nothing has started yet
        os.write(2, INTERRUPTED_LINE)
        os._exit(INTERRUPTED)
    run()
