"""Contact sheet: every mask on the astronaut photo, frontal and with the head turned.

Turned views re-render the photo's own face as a textured mesh from the fitted landmarks, so the
mask is seen on a real face at poses the photo does not have.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from render3d.face.fitting import fit_face, occluder_mesh, turn_head
from render3d.face.topology import closed_triangles
from render3d.geometry import Window
from render3d.mask.library import load_mask
from render3d.mask.placement import closed_face_vertices
from render3d.pipeline import Engine, FitOptions, draw_parts
from render3d.render.renderer import DrawPart

SHEET_YAWS = (-50, 0, 50)
CELL = 220
LABEL_HEIGHT = 28
BACKGROUND = 0.55


def face_part(photo: np.ndarray, landmarks: np.ndarray, posed: np.ndarray) -> DrawPart:
    """The photo's face as a mesh at `posed` landmarks, textured from its place in the photo."""
    triangles, loops = closed_triangles()
    h, w = photo.shape[:2]
    texture_xy = closed_face_vertices(landmarks, loops)[:, :2]
    uvs = np.c_[texture_xy[:, 0] / w, 1 - texture_xy[:, 1] / h]
    positions = closed_face_vertices(posed, loops)
    return DrawPart(positions, np.zeros_like(positions), uvs, triangles, f"photo:{id(photo)}", photo, None,
                    shaded=False)


def square_window(landmarks: np.ndarray, grow: float = 1.5) -> Window:
    """A square window `grow` times the landmarks' larger side, a little below their centre."""
    (x0, y0), (x1, y1) = landmarks[:, :2].min(0), landmarks[:, :2].max(0)
    side = int(max(x1 - x0, y1 - y0) * grow)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + 0.1 * side
    return Window(int(cx - side / 2), int(cy - side / 2), side, side)


def posed_cell(engine: Engine, photo: np.ndarray, landmarks: np.ndarray, options: FitOptions,
               yaw: float) -> np.ndarray:
    """The photo's face turned by `yaw` degrees and masked: an (s, s, 3) uint8 cell of `square_window`."""
    posed = turn_head(landmarks, yaw)
    fitted = fit_face(posed)
    choice = options.choose(1)[0]
    parts = [face_part(photo, landmarks, posed)] + draw_parts(load_mask(choice.path, choice.wear), fitted, choice)
    rgba = engine.renderer.render(square_window(posed), [occluder_mesh(fitted)], parts)
    cell = rgba[..., :3] * rgba[..., 3:] + BACKGROUND * (1 - rgba[..., 3:])
    return cv2.resize((cell * 255).round().astype(np.uint8), (CELL, CELL), interpolation=cv2.INTER_AREA)


def contact_sheet(engine: Engine, photo: np.ndarray, masks: dict[str, Path]) -> np.ndarray:
    """Rows of masks, columns of head turns, each cell labelled with the mask's name."""
    landmarks = engine.landmark_model(1)(photo)[0]
    rows = []
    for name, path in masks.items():
        options = FitOptions(mask=str(path), vary=False)
        cells = [posed_cell(engine, photo, landmarks, options, yaw) for yaw in SHEET_YAWS]
        label = np.full((LABEL_HEIGHT, CELL * len(cells), 3), 255, np.uint8)
        cv2.putText(label, name, (8, LABEL_HEIGHT - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (20, 20, 20), 2, cv2.LINE_AA)
        rows.append(np.vstack([label, np.hstack(cells)]))
    return np.vstack(rows)
