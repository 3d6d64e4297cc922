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
# OpenBLAS hands even the engine's small products (a face's skin samples against 9 SH terms, a mask's
# vertices against a rotation) to its threads, which then spin between calls: on a busy 2-core machine
# that took 4.4 -> 18.6 ms of CPU per image in the light fit alone. Mesa's llvmpipe rasterises in
# threads of its own, which on the same machine cost a batch worker about 3% more CPU per image than
# drawing in the calling thread (end to end over one face-mesh call: 18.9 -> 18.3, 250 px photos). A
# process, or a batch worker, keeps to one core. Read when numpy loads and when the GL context is
# made; spawned workers inherit it.
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "LP_NUM_THREADS": "0"}


def single_threaded() -> None:
    """Keep numpy's BLAS and llvmpipe to the calling thread, unless the environment says otherwise
    (before numpy loads and the GL context is made)."""
    for name, value in SINGLE_THREADED.items():
        os.environ.setdefault(name, value)


def stop_pending() -> bool:
    """Whether a held Ctrl-C or SIGTERM is waiting to be delivered."""
    return bool(signal.sigpending() & HELD)


def interrupt(signum, frame) -> None:
    """A SIGTERM handler that stops the command as Ctrl-C does."""
    raise KeyboardInterrupt


@contextmanager
def stops_delivered() -> Iterator[None]:
    """Deliver Ctrl-C and SIGTERM inside the block, and hold them back again after it, as they were.
    One held back until now raises KeyboardInterrupt on entering it, and a SIGTERM inside raises it as
    Ctrl-C does (SIGTERM's own action would end the process without a word) until a command installs
    its own handlers."""
    if stop_pending():
        raise KeyboardInterrupt
    previous_action = signal.signal(signal.SIGTERM, interrupt)
    previous = signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        signal.signal(signal.SIGTERM, previous_action)


def main() -> None:
    """Load the command line and run it, Ctrl-C and SIGTERM held back until its command starts."""
    signal.pthread_sigmask(signal.SIG_BLOCK, HELD)
    single_threaded()
    from render3d.cli import main as run
    if stop_pending():                  # a stop that came while loading: nothing has started yet
        os.write(2, INTERRUPTED_LINE)
        os._exit(INTERRUPTED)
    run()
