"""Command-line conventions: --version, -h, python -m render3d, shell completion, readable metavars,
--quiet and --verbose."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import render3d

pytestmark = [pytest.mark.gl, pytest.mark.mediapipe]

RENDER3D = Path(sys.executable).with_name("render3d")
COMMANDS = ("fit", "batch", "masks", "export")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(RENDER3D), *args], capture_output=True, text=True, timeout=300, cwd=cwd,
                          env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})


def test_version_from_the_script_and_the_module():
    assert run("--version").stdout == f"render3d {render3d.__version__}\n"
    module = subprocess.run([sys.executable, "-m", "render3d", "--version"], capture_output=True, text=True)
    assert module.returncode == 0 and module.stdout == f"render3d {render3d.__version__}\n"


@pytest.mark.parametrize("command", COMMANDS)
def test_short_help_with_readable_metavars(command):
    short, long = run(command, "-h"), run(command, "--help")
    assert short.returncode == 0 and short.stdout == long.stdout
    assert f"Usage: render3d {command} [OPTIONS]" in short.stdout
    assert "<" not in short.stdout.replace("<=", "") and "{" not in short.stdout.split("\n", 3)[1]
    assert "list[" not in short.stdout


def test_readable_metavars_name_what_is_expected():
    usage = run("fit", "-h").stdout
    assert "Usage: render3d fit [OPTIONS] IMAGE" in usage
    options = [line.split() for line in usage.splitlines() if line.lstrip().startswith("-")]
    lines = {next(t.rstrip(",") for t in words if t.startswith("--")): " ".join(["", *words, ""]) for words in options}
    assert " N " in lines["--seed"] and " DIR " in lines["--mask-dir"] and " PATH " in lines["--texture"]
    assert " TEXT " in lines["--mask"]


def test_shell_completion_script():
    done = run("--show-completion", "bash")
    assert done.returncode == 0 and "_render3d_completion" in done.stdout and "complete " in done.stdout


def test_quiet_and_verbose(tmp_path, astronaut):
    Image.fromarray(astronaut).save(tmp_path / "a.png")
    quiet = run("--quiet", "fit", "a.png", "--out", "q", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stdout == "" and (tmp_path / "q/a_masked.png").is_file()
    verbose = run("--verbose", "fit", "a.png", "--out", "v", cwd=tmp_path)
    assert verbose.returncode == 0 and "v/a_masked.png\n" in verbose.stdout
    assert "render3d: a: decode=" in verbose.stderr and "landmarks=" in verbose.stderr
    both = run("-q", "-v", "masks")
    assert both.returncode == 2
