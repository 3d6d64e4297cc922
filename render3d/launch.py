"""The `render3d` command's entry point: a Ctrl-C while the command line is still loading stops it with
one line and exit code 130, as it does later on (Python's imports turn a KeyboardInterrupt into other
errors, so Ctrl-C and SIGTERM are held back until the import is done)."""
from __future__ import annotations

import os
import signal

INTERRUPTED = 130
HELD = {signal.SIGINT, signal.SIGTERM}


def main() -> None:
    """Load the command line and run it."""
    signal.pthread_sigmask(signal.SIG_BLOCK, HELD)
    try:
        from render3d.cli import main as run
        if signal.sigpending() & HELD:      # a stop that came while loading: nothing has started yet
            os.write(2, b"render3d: interrupted\n")
            os._exit(INTERRUPTED)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD)     # children started later get the usual mask
    run()
