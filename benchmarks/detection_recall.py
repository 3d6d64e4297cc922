"""Face detection recall and speed: one plain face-mesh call against find_faces.

For every photo under the --images folders (searched recursively) it counts the faces each method
finds, times it (the fastest of --repeat runs), and checks it against reference faces chosen the
way tools/placement_eval.py chooses them: hand-annotated iBUG 68-point files ({stem}.pts or
{stem}_N.pts) where present, otherwise MediaPipe face mesh (20 faces, no refinement). A reference
face counts as found when its nose tip lies inside a detection's landmark box. For the iBUG faces
found by both methods it also gives the landmark error: the mean distance over 12 points with a
clear counterpart in both schemes (eye corners, nose, mouth, chin), over the outer eye corners'
distance.

    python benchmarks/detection_recall.py --images ../shared/faces/unmasked ../shared/faces/landmarks_68
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from render3d.face.detect import find_faces  # noqa: E402
from render3d.face.landmarks import LandmarkModel  # noqa: E402

IMAGE_EXT = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
MESH_NOSE = 1
IBUG_NOSE = 30
# iBUG 68 points and the MediaPipe landmarks at the same places.
IBUG_POINTS = [36, 39, 42, 45, 27, 30, 33, 48, 54, 51, 57, 8]
MESH_POINTS = [33, 133, 362, 263, 168, 1, 2, 61, 291, 0, 17, 152]


def load_rgb(path: Path) -> np.ndarray:
    return np.ascontiguousarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))


def read_pts(path: Path) -> np.ndarray | None:
    rows = []
    for line in path.read_text().splitlines():
        parts = line.replace(",", " ").split()
        if len(parts) == 2:
            try:
                rows.append([float(parts[0]), float(parts[1])])
            except ValueError:
                pass
    return np.array(rows) if len(rows) == 68 else None


def annotated_faces(image: Path) -> list[np.ndarray]:
    paths = [image.with_suffix(".pts")] + sorted(image.parent.glob(image.stem + "_*.pts"))
    faces = [read_pts(p) for p in paths if p.exists()]
    return [f for f in faces if f is not None]


class ReferenceMesh:
    """The scorer's fallback reference: MediaPipe face mesh, 20 faces, no refinement."""

    def __init__(self):
        from mediapipe.python.solutions import face_mesh

        self._mesh = face_mesh.FaceMesh(static_image_mode=True, max_num_faces=20,
                                        refine_landmarks=False, min_detection_confidence=0.5)

    def noses(self, rgb: np.ndarray) -> list[np.ndarray]:
        h, w = rgb.shape[:2]
        result = self._mesh.process(rgb)
        return [np.array([f.landmark[MESH_NOSE].x * w, f.landmark[MESH_NOSE].y * h])
                for f in result.multi_face_landmarks or []]


def holding(nose: np.ndarray, faces: list[np.ndarray]) -> np.ndarray | None:
    """The first face whose landmark box holds the point."""
    for face in faces:
        (x0, y0), (x1, y1) = face[:, :2].min(0), face[:, :2].max(0)
        if x0 <= nose[0] <= x1 and y0 <= nose[1] <= y1:
            return face
    return None


def landmark_error(face: np.ndarray, annotated: np.ndarray) -> float:
    eyes = np.linalg.norm(annotated[36] - annotated[45])
    return float(np.linalg.norm(face[MESH_POINTS, :2] - annotated[IBUG_POINTS], axis=1).mean() / eyes)


def fastest_ms(repeat: int, fn, *args):
    best, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, 1000 * (time.perf_counter() - start))
    return result, best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", nargs="+", type=Path, required=True, help="folders of photos")
    ap.add_argument("--max-faces", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3, help="runs per photo and method; the fastest counts")
    args = ap.parse_args()

    missing = [d for d in args.images if not d.is_dir()]
    if missing:
        print(f"skip: no image folder at {', '.join(map(str, missing))}")
        return 0
    images = sorted(p for d in args.images for p in d.rglob("*") if p.suffix.lower() in IMAGE_EXT)

    plain_model = LandmarkModel(max_faces=args.max_faces)
    robust_model = LandmarkModel(max_faces=args.max_faces)
    reference = ReferenceMesh()
    warm = np.zeros((64, 64, 3), np.uint8)
    plain_model(warm), find_faces(warm, robust_model, args.max_faces)

    names = ("plain", "robust")
    totals = {n: Counter() for n in names}
    times = {n: [] for n in names}
    errors = {n: [] for n in names}
    sources = Counter()
    count = Counter()
    print(f"{'image':46s} {'size':>10s} {'ref':>4s} {'plain':>5s} {'hit':>4s} {'robust':>6s} {'hit':>4s} "
          f"{'ms':>7s} {'ms':>7s}  sources")
    for path in images:
        try:
            rgb = load_rgb(path)
        except Exception as exc:  # unreadable photo: reported, not counted
            print(f"skip {path.name}: {exc}")
            continue
        count["images"] += 1
        annotated = annotated_faces(path)
        noses = [a[IBUG_NOSE] for a in annotated] or reference.noses(rgb)
        count["ref"] += len(noses)
        count["ibug"] += len(annotated)
        plain, plain_ms = fastest_ms(args.repeat, plain_model, rgb)
        robust, robust_ms = fastest_ms(args.repeat, find_faces, rgb, robust_model, args.max_faces)
        sources.update(f.source for f in robust)
        found = {"plain": plain, "robust": [f.landmarks for f in robust]}
        hits = {}
        for name, ms in (("plain", plain_ms), ("robust", robust_ms)):
            faces = found[name]
            hits[name] = sum(holding(n, faces) is not None for n in noses)
            totals[name].update(images=bool(faces), faces=len(faces), ref=hits[name],
                                ibug=hits[name] if annotated else 0)
            times[name].append(ms)
        for a in annotated:
            matched = {name: holding(a[IBUG_NOSE], found[name]) for name in names}
            if all(m is not None for m in matched.values()):
                for name in names:
                    errors[name].append(landmark_error(matched[name], a))
        print(f"{path.name[:46]:46s} {rgb.shape[1]:>4d}x{rgb.shape[0]:<5d} {len(noses):>3d}{'*' if annotated else ' '}"
              f"{len(plain):>6d} {hits['plain']:>4d} {len(robust):>6d} {hits['robust']:>4d} "
              f"{plain_ms:>7.1f} {robust_ms:>7.1f}  {','.join(sorted({f.source for f in robust}))}")

    print("\n* reference faces from hand-annotated iBUG 68-point files, the others from plain MediaPipe")
    print(f"{'method':8s} {'images>=1 face':>15s} {'faces':>6s} {'ref found':>10s} {'iBUG found':>11s} "
          f"{'iBUG error':>11s} {'ms median':>10s} {'ms p95':>7s}")
    stats = {}
    for name in names:
        t = totals[name]
        stats[name] = (float(np.median(times[name])), float(np.percentile(times[name], 95)),
                       float(np.mean(errors[name])) if errors[name] else float("nan"))
        print(f"{name:8s} {t['images']:>8d}/{count['images']:<6d} {t['faces']:>6d} {t['ref']:>4d}/{count['ref']:<5d} "
              f"{t['ibug']:>5d}/{count['ibug']:<5d} {stats[name][2]:>11.4f} {stats[name][0]:>10.1f} {stats[name][1]:>7.1f}")
    print("faces by source: " + ", ".join(f"{s} {n}" for s, n in sorted(sources.items())))
    p, r = totals["plain"], totals["robust"]
    print(f"summary: images with a face {p['images']} -> {r['images']} of {count['images']}, faces {p['faces']} -> "
          f"{r['faces']}, reference faces found {p['ref']} -> {r['ref']} of {count['ref']} (iBUG {p['ibug']} -> "
          f"{r['ibug']} of {count['ibug']}, error on the {len(errors['plain'])} both found "
          f"{stats['plain'][2]:.4f} -> {stats['robust'][2]:.4f}), ms/image median {stats['plain'][0]:.1f} -> "
          f"{stats['robust'][0]:.1f}, p95 {stats['plain'][1]:.1f} -> {stats['robust'][1]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
