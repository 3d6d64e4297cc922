"""Realism report: a flat-vs-full contact sheet, and whether the mask's shading follows the skin's.

    python benchmarks/realism_report.py DIR --out report_dir [--mask surgical] [--sheet 36]

For every face it compares, in the face's own left and right halves (split at the nose midline),
the brightness ratio of the photo's skin where the mask will be with that of the rendered mask;
the correlation of the two log-ratios across faces says whether the lighting transfers (the flat,
unlit mask gives the baseline). Writes
`sheet.png` (crops around the largest face of the first --sheet photos: flat | full) and
`realism.json`, and prints the summary.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from scipy.spatial import cKDTree

from render3d import Render3DError, default_engine
from render3d.colourspace import LINEAR_LUT, LUMINANCE
from render3d.face.detect import find_faces
from render3d.face.fitting import fit_face
from render3d.face.topology import canonical_face
from render3d.pipeline import FitOptions
from render3d.realism.light import skin_triangles

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
TILE = 256
MIDLINE_CM = 0.4               # pixels nearest a landmark this close to the midline belong to neither half
MIN_PIXELS = 30


def images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def skin_raster(landmarks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Boolean image of the face's bare-skin triangles."""
    raster = np.zeros(shape, np.uint8)
    polygons = np.round(landmarks[skin_triangles()][:, :, :2] * 16).astype(np.int32)
    cv2.fillPoly(raster, list(polygons), 1, lineType=cv2.LINE_8, shift=4)
    return raster.astype(bool)


def half_ratio(linear: np.ndarray, pixels: np.ndarray, landmarks: np.ndarray) -> float | None:
    """Mean luminance of the subject's left half over the right half, among `pixels` (boolean image)."""
    ys, xs = np.nonzero(pixels)
    if len(xs) < 2 * MIN_PIXELS:
        return None
    side = canonical_face().vertices[:468, 0]
    _, nearest = cKDTree(landmarks[:468, :2]).query(np.c_[xs, ys])
    x = side[nearest]
    luminance = linear[ys, xs] @ LUMINANCE
    left, right = luminance[x > MIDLINE_CM], luminance[x < -MIDLINE_CM]
    if len(left) < MIN_PIXELS or len(right) < MIN_PIXELS or right.mean() <= 0:
        return None
    return float(left.mean() / right.mean())


def face_figures(full, flat, detected: list) -> list[dict]:
    """Per face: skin and mask (full and flat) left/right ratios inside that face's mask coverage."""
    covered = full.segmentation > 0
    photo, composite, unlit = LINEAR_LUT[full.image.rgb], LINEAR_LUT[full.composite], LINEAR_LUT[flat.composite]
    figures = []
    for face, found in zip(full.faces, detected):
        if face.status != "ok":
            continue
        fitted = fit_face(found.landmarks)
        x0, y0, x1, y1 = (int(v) for v in fitted.bbox)
        own = np.zeros_like(covered)
        own[max(0, y0):y1 + 1, max(0, x0):x1 + 1] = covered[max(0, y0):y1 + 1, max(0, x0):x1 + 1]
        skin = half_ratio(photo, own & skin_raster(fitted.landmarks, covered.shape), fitted.landmarks)
        mask = half_ratio(composite, own, fitted.landmarks)
        baseline = half_ratio(unlit, own, fitted.landmarks)
        if skin is not None and mask is not None and baseline is not None:
            figures.append({"face": face.index, "skin_lr": round(skin, 4), "mask_lr": round(mask, 4),
                            "flat_lr": round(baseline, 4)})
    return figures


def tile(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    x0, y0, x1, y1 = box
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, 0.8 * max(x1 - x0, y1 - y0)
    h, w = image.shape[:2]
    crop = image[max(0, int(cy - half)):min(h, int(cy + half)), max(0, int(cx - half)):min(w, int(cx + half))]
    scale = TILE / max(crop.shape[:2])
    crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
                      interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    out = np.zeros((TILE, TILE, 3), np.uint8)
    out[:crop.shape[0], :crop.shape[1]] = crop
    return out


def sheet(pairs: list[tuple[str, np.ndarray, np.ndarray]], columns: int = 3) -> np.ndarray:
    cells = []
    for name, flat, full in pairs:
        cell = np.concatenate([flat, full], axis=1)
        cv2.putText(cell, name[:40], (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1, cv2.LINE_AA)
        cells.append(cell)
    while len(cells) % columns:
        cells.append(np.zeros_like(cells[0]))
    rows = [np.concatenate(cells[i:i + columns], axis=1) for i in range(0, len(cells), columns)]
    return np.concatenate(rows, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--mask", default="surgical")
    parser.add_argument("--sheet", type=int, default=36, help="photos on the contact sheet")
    args = parser.parse_args()
    engine = default_engine()
    args.out.mkdir(parents=True, exist_ok=True)
    pairs, figures = [], []
    options = FitOptions(mask=args.mask)
    for path in images_in(args.folder):
        try:
            flat = engine.fit(path, replace(options, realism="flat"))
            full = engine.fit(path, options)
        except Render3DError:
            continue
        if not full.faces:
            continue
        # The engine's own landmark model, called again: the same faces, in the same order.
        detected = find_faces(full.image.rgb, engine.landmark_model(options.max_faces), options.max_faces)
        figures += [{"image": path.name, **f} for f in face_figures(full, flat, detected)]
        if len(pairs) < args.sheet:
            largest = max(full.faces, key=lambda f: (f.bbox[2] - f.bbox[0]))
            pairs.append((path.name, tile(flat.composite, largest.bbox), tile(full.composite, largest.bbox)))
    skin, mask, baseline = (np.log([f[key] for f in figures]) for key in ("skin_lr", "mask_lr", "flat_lr"))
    enough = len(figures) > 2
    summary = {"faces": len(figures),
               "lr_log_ratio_correlation": round(float(np.corrcoef(skin, mask)[0, 1]), 4) if enough else None,
               "mask_over_skin_log_ratio_slope": round(float(np.polyfit(skin, mask, 1)[0]), 4) if enough else None,
               "flat_lr_log_ratio_correlation": round(float(np.corrcoef(skin, baseline)[0, 1]), 4) if enough else None}
    (args.out / "realism.json").write_text(json.dumps({**summary, "per_face": figures}, indent=2) + "\n")
    if pairs:
        Image.fromarray(sheet(pairs)).save(args.out / "sheet.png")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
