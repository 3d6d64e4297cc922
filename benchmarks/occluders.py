"""Foreground occluders: how much of a hand or object in front of the face the mask still covers, how
much true mask is wrongly removed where nothing is in front, and the cost.

    python benchmarks/occluders.py DIR [--labels benchmarks/data/occluders.json] [--limit N]

DIR is the dev photo folder (faces/unmasked, with its TAGS.csv). Every photo is fitted twice, with
`occluders="off"` (before) and `"auto"` (after), with the surgical mask:

- covered: on the labelled photos, the share of occluder pixels (the hand-drawn polygons) inside
  the mask's footprint (the `off` segmentation's fabric, loops and straps left out) that the
  segmentation still covers; want < 5%;
- removed: on the photos with no occluder tag, the share of the `off` fabric's pixels that `auto`
  removes; want < 1%;
- ms per face of the occluder stage, and its hand-model calls per face (palm detector, hand-landmark looks):
  nearly all of that stage's cost.
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import cv2
import numpy as np

from render3d import default_engine
from render3d.errors import Render3DError
from render3d.face.fitting import fit_face
from render3d.pipeline import FitOptions
from render3d.qa.verify import fabric, face_box

OCCLUDER_TAGS = {"hand_over_mouth", "hand_or_object_near_face", "object_in_mouth"}
LABELS = Path(__file__).parent / "data" / "occluders.json"


def occluder_image(shape: tuple[int, int], occluders: list[dict]) -> np.ndarray:
    """(H, W) bool: the union of the labelled occluder polygons."""
    image = np.zeros(shape, np.uint8)
    for occluder in occluders:
        cv2.fillPoly(image, [np.array(occluder["polygon"], np.int32)], 1)
    return image.astype(bool)


def untagged(folder: Path) -> list[str]:
    """Photos of `folder`'s TAGS.csv that carry none of the occluder tags."""
    with open(folder / "TAGS.csv", newline="") as f:
        return [row["file"] for row in csv.DictReader(f) if not OCCLUDER_TAGS & set(row["tags"].split(";"))]


def fabric_of(segmentation: np.ndarray, faces: list[dict]) -> np.ndarray:
    """(H, W) bool: the masks' fabric in a segmentation, each face's loops and straps opened away at its scale
    inside its box (with `off` the loops stay whole under hair, which `auto` hides: not the occluder stage's doing)."""
    body = np.zeros(segmentation.shape, bool)
    for face in faces:
        landmarks = np.array(face["landmarks"])
        box = face_box(landmarks, segmentation.shape).slices
        body[box] |= fabric(segmentation[box], fit_face(landmarks).scale)
    return body


def both(engine, path: Path):
    """(fabric off, segmentation auto, occluder seconds, faces) for one photo, or None without a face."""
    off = engine.fit(path, FitOptions(occluders="off"))
    auto = engine.fit(path, FitOptions(occluders="auto"))
    if not auto.metadata["faces"]:
        return None
    return (fabric_of(off.segmentation > 0, off.metadata["faces"]), auto.segmentation > 0, auto.timings["occluders"],
            len(auto.metadata["faces"]))


def counted(model, calls: dict) -> None:
    """Count the hand model's palm-detector and hand-landmark calls in `calls`, by method name."""
    for name in ("palms", "at"):
        method = getattr(model, name)

        def counting(*args, method=method, name=name):
            calls[name] += 1
            return method(*args)
        setattr(model, name, counting)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--limit", type=int, default=0, help="at most this many photos without occluders")
    args = parser.parse_args()
    engine = default_engine()
    engine.fit(np.zeros((8, 8, 3), np.uint8))            # start-up out of the timings
    calls = {"palms": 0, "at": 0}
    counted(engine.hand_model(), calls)
    seconds, faces = 0.0, 0
    labelled, covered_total, occluder_total = {}, 0, 0
    for name, occluders in json.loads(args.labels.read_text())["photos"].items():
        outcome = both(engine, args.folder / name)
        if outcome is None:
            continue
        off, auto, spent, count = outcome
        seconds, faces = seconds + spent, faces + count
        target = occluder_image(off.shape, occluders) & off
        covered_before, covered_after = int(target.sum()), int((target & auto).sum())
        covered_total, occluder_total = covered_total + covered_after, occluder_total + covered_before
        labelled[name] = {"occluder_px_in_footprint": covered_before,
                          "covered_after": round(covered_after / max(covered_before, 1), 4)}
    removed_px, mask_px, worst = 0, 0, (0.0, None)
    names = untagged(args.folder)
    for name in names[:args.limit or None]:
        try:
            outcome = both(engine, args.folder / name)
        except Render3DError:
            continue
        if outcome is None:
            continue
        off, auto, spent, count = outcome
        seconds, faces = seconds + spent, faces + count
        removed = int((off & ~auto).sum())
        removed_px, mask_px = removed_px + removed, mask_px + int(off.sum())
        worst = max(worst, (removed / max(int(off.sum()), 1), name), key=lambda pair: pair[0])
    report = {
        "labelled": labelled,
        "covered_before": 1.0 if occluder_total else None,
        "covered_after": round(covered_total / max(occluder_total, 1), 4),
        "clean_photos": min(len(names), args.limit or len(names)),
        "removed_on_clean": round(removed_px / max(mask_px, 1), 5),
        "worst_clean_photo": {"photo": worst[1], "removed": round(worst[0], 4)},
        "ms_per_face": round(1000 * seconds / max(faces, 1), 1),
        "palm_calls_per_face": round(calls["palms"] / max(faces, 1), 2),
        "landmark_looks_per_face": round(calls["at"] / max(faces, 1), 2),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
