"""The `render3d` command's process set-up before the command line loads."""
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
