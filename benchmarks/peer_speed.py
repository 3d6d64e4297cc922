"""Side by side with MaskTheFace: images per CPU-second of `render3d batch` and of MaskTheFace's
`mask_the_face.py` on the same photos, whole processes (start-up included), alternated in one run.

    python benchmarks/peer_speed.py DIR --peer MASKTHEFACE_CHECKOUT --peer-python PYTHON [--rounds 1]

Both draw a surgical mask and write only the composite (`--outputs composite`; MaskTheFace writes
nothing else by default). MaskTheFace is never part of this project: build it into a temporary venv
as benchmarks/README.md describes. Target (issue #12, 250 px photos): render3d at least 2x
MaskTheFace's images per CPU-second.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from startup import timed_run

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png"}


def photos(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)


def commands(batch_in: Path, scratch: Path, peer: Path, peer_python: Path) -> dict[str, list[str]]:
    cli = str(Path(sys.executable).with_name("render3d"))
    return {
        "masktheface": [str(peer_python), str(peer / "mask_the_face.py"), "--path", str(batch_in),
                        "--mask_type", "surgical"],
        "render3d": [cli, "batch", str(batch_in), str(scratch / "render3d_out"), "--mask", "surgical",
                     "--workers", "1", "--outputs", "composite"],
    }


def measure(folder: Path, peer: Path, peer_python: Path, rounds: int) -> dict:
    count = len(photos(folder))
    cpu: dict[str, list[float]] = {"masktheface": [], "render3d": []}
    masked: dict[str, int] = {}
    for _ in range(rounds):
        for name in cpu:
            with tempfile.TemporaryDirectory() as scratch_dir:
                scratch = Path(scratch_dir)
                batch_in = scratch / "photos"           # MaskTheFace writes beside its input: a copy
                shutil.copytree(folder, batch_in)
                command = commands(batch_in, scratch, peer, peer_python)[name]
                _, seconds = timed_run(command, cwd=peer)    # MaskTheFace finds its model by a relative path
                cpu[name].append(seconds)
                written = scratch / ("photos_masked" if name == "masktheface" else "render3d_out")
                masked[name] = sum(1 for p in written.rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES)
    per_cpu_s = {name: count / float(np.median(values)) for name, values in cpu.items()}
    return {
        "photos": count,
        "rounds": rounds,
        "median_cpu_s": {name: round(float(np.median(values)), 2) for name, values in cpu.items()},
        "cpu_ms_per_photo": {name: round(1000 / value, 1) for name, value in per_cpu_s.items()},
        "photos_written": masked,
        "render3d_over_masktheface_images_per_cpu_s": round(per_cpu_s["render3d"] / per_cpu_s["masktheface"], 3),
        "target": 2.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--peer", type=Path, required=True, help="MaskTheFace checkout (with dlib_models/)")
    parser.add_argument("--peer-python", type=Path, required=True, help="the Python of MaskTheFace's venv")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(measure(args.folder.resolve(), args.peer.resolve(), args.peer_python.absolute(),
                             args.rounds), indent=2))


if __name__ == "__main__":
    main()
