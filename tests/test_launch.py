"""The `render3d` command's process set-up before the command line loads, and its stops once a command runs."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = ("import os, sys\nsys.argv = ['render3d', '--help']\nfrom render3d.launch import main\n"
         "try:\n    main()\nexcept SystemExit:\n    pass\n"
         "print('threads:', os.environ['OPENBLAS_NUM_THREADS'], os.environ['LP_NUM_THREADS'])")


@pytest.mark.parametrize("preset, expected", [(None, "1 0"), ("2", "2 2")])
def test_the_command_keeps_blas_and_llvmpipe_to_one_thread_unless_told_otherwise(preset, expected):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "LP_NUM_THREADS")}
    if preset is not None:
        env["OPENBLAS_NUM_THREADS"] = env["LP_NUM_THREADS"] = preset
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, check=True, capture_output=True, text=True).stdout
    assert out.splitlines()[-1] == f"threads: {expected}"


# A command's start: stops delivered, SIGTERM arriving before the command has handlers of its own.
TERMINATED = ("import os, signal, sys, time\nfrom render3d.launch import HELD, stops_delivered\n"
              "signal.pthread_sigmask(signal.SIG_BLOCK, HELD)\n"
              "try:\n    with stops_delivered():\n        os.kill(os.getpid(), signal.SIGTERM)\n        time.sleep(5)\n"
              "except KeyboardInterrupt:\n    print('interrupted')\n"
              "print('default action kept:', signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)")


def test_a_sigterm_as_a_command_starts_stops_it_as_ctrl_c_does():
    """Between a command's start and its own handlers, SIGTERM raises KeyboardInterrupt (the command then
    prints its one line and exits 130) instead of killing the process without a word; afterwards the
    action is as it was."""
    done = subprocess.run([sys.executable, "-c", TERMINATED], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done
    assert done.stdout.splitlines() == ["interrupted", "default action kept: True"]
