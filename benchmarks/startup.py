"""Start-up: whole-process wall time of `render3d --help`, `render3d masks` and `render3d fit PHOTO`
as ratios to a bare one-shot MediaPipe face-mesh script on the same photo, alternated in one run;
the same for their CPU time (user + system), which a busy machine disturbs less.

    python benchmarks/startup.py [PHOTO] [--rounds 7]

Targets (issue #12): --help and masks at most 0.5x the bare script, fit at most 2x.
Without PHOTO the astronaut (skimage) is used.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BARE_SCRIPT = """
import sys
import cv2
import mediapipe as mp
image = cv2.cvtColor(cv2.imread(sys.argv[1]), cv2.COLOR_BGR2RGB)
with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True) as mesh:
    found = mesh.process(image).multi_face_landmarks
print(len(found or []))
"""


def commands(photo: Path, out: Path) -> dict[str, list[str]]:
    cli = str(Path(sys.executable).with_name("render3d"))
    return {
        "bare_mediapipe": [sys.executable, "-c", BARE_SCRIPT, str(photo)],
        "help": [cli, "--help"],
        "masks": [cli, "masks"],
        "fit": [cli, "fit", str(photo), "--out", str(out)],
    }


def timed_run(command: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, the process and its children) of one command."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def measure(photo: Path, rounds: int) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        runs = commands(photo, Path(scratch) / "out")
        for command in runs.values():                 # warm the file cache; not counted
            timed_run(command)
        seconds: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
        for _ in range(rounds):
            for name, command in runs.items():
                seconds[name].append(timed_run(command))
    wall = {name: float(np.median([w for w, _ in values])) for name, values in seconds.items()}
    cpu = {name: float(np.median([c for _, c in values])) for name, values in seconds.items()}
    return {
        "photo": str(photo),
        "rounds": rounds,
        "median_s": {name: round(value, 3) for name, value in wall.items()},
        "over_bare_mediapipe": {name: round(value / wall["bare_mediapipe"], 2) for name, value in wall.items()
                                if name != "bare_mediapipe"},
        "median_cpu_s": {name: round(value, 3) for name, value in cpu.items()},
        "cpu_over_bare_mediapipe": {name: round(value / cpu["bare_mediapipe"], 2) for name, value in cpu.items()
                                    if name != "bare_mediapipe"},
        "targets": {"help": 0.5, "masks": 0.5, "fit": 2.0},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path, nargs="?")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        photo = args.photo
        if photo is None:
            import imageio.v3 as iio
            import skimage.data

            photo = Path(scratch) / "astronaut.jpg"
            iio.imwrite(photo, skimage.data.astronaut())
        print(json.dumps(measure(photo.resolve(), args.rounds), indent=2))


if __name__ == "__main__":
    main()
