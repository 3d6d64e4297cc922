"""Clearance of every mask over real faces: the lowest height of each mask body above the fitted face
mesh (must stay >= 0: the mask never cuts into the skin) and its gap over the nose ridge.

    python benchmarks/clearance.py DIR [--limit N]

Each mask geometry is placed on every face found in DIR, with its expression, and measured afresh on
the deformed face mesh (render3d.qa.verify.clearance_report).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from throughput import images_in

from render3d import Render3DError, default_engine
from render3d.face.detect import find_faces
from render3d.face.fitting import fit_face
from render3d.io.image_in import load_image
from render3d.mask.library import available_masks, load_mask, load_mask_spec
from render3d.pipeline import draw_parts
from render3d.qa.verify import clearance_report


def distinct_geometries() -> dict[str, Path]:
    """One mask per body mesh: colour variants share their geometry."""
    by_mesh = {}
    for name, path in available_masks().items():
        by_mesh.setdefault(load_mask_spec(path).parts[0]["mesh"], (name, path))
    return dict(by_mesh.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    model = default_engine().landmark_model(10)
    faces = []
    for path in images_in(args.folder, args.limit):
        try:
            faces += [fit_face(f.landmarks) for f in find_faces(load_image(path).rgb, model)]
        except Render3DError:
            continue
    report = {}
    for name, path in distinct_geometries().items():
        mask = load_mask(path)
        rows = [clearance_report(f, draw_parts(mask, f)[0].positions) for f in faces]
        clear = np.array([r["min_clearance"] for r in rows])
        gap = np.array([r["nose_bridge_gap"] for r in rows])
        report[name] = {"faces": len(rows), "min_clearance_cm": round(float(clear.min()), 3),
                        "clearance_p5_cm": round(float(np.percentile(clear, 5)), 3),
                        "nose_gap_median_cm": round(float(np.median(gap)), 3),
                        "nose_gap_max_cm": round(float(gap.max()), 3)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
