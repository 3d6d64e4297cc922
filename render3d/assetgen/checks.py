"""Validation of a mask on the canonical face: clearance, nose-bridge contact, and checks in a
frontal view (an orthographic raster, 20 px per cm): coverage of nose, mouth and chin, clear eyes
and brows, overlap with the lower-face outline."""
from __future__ import annotations

import cv2
import numpy as np

from render3d.assetgen.face import BUILD_CLEARANCE_CM, Face
from render3d.assetgen.parts import Part
from render3d.face.landmark_sets import CLEAR_OF_MASK, COVERED_BY_MASK, LOWER_FACE_POLYGON, NOSE_BRIDGE

CONTACT_GAP_CM = (0.1, 0.3)
MIN_IOU = 0.55
CLEAR_MARGIN_CM = 1.2
COVER_MARGIN_CM = 0.3

PX_PER_CM = 20
VIEW = (-16.0, 10.0, 32.0, 40.0)        # left, top, width, height in cm


def to_pixels(xy: np.ndarray) -> np.ndarray:
    """Canonical (N, 2) cm x, y -> pixel coordinates of the frontal check raster."""
    return np.column_stack([xy[:, 0] - VIEW[0], VIEW[1] - xy[:, 1]]) * PX_PER_CM


def raster(meshes: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Frontal silhouette (uint8 0/1) of (vertices, triangles) meshes."""
    image = np.zeros((int(VIEW[3] * PX_PER_CM), int(VIEW[2] * PX_PER_CM)), np.uint8)
    for vertices, triangles in meshes:
        pixels = np.round(to_pixels(vertices[:, :2]) * 16).astype(np.int32)
        for triangle in pixels[triangles]:
            cv2.fillConvexPoly(image, triangle, 1, cv2.LINE_8, 4)
    return image


def sample(image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Values of a (H, W) raster at (N, 2) canonical cm points (nearest pixel)."""
    col, row = np.round(to_pixels(xy)).astype(int).T
    return image[row, col]


def frontal_checks(landmarks: np.ndarray, body: tuple[np.ndarray, np.ndarray],
                   others: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """Worst margins (cm) of the cover points inside the body and of the eyes and brows outside
    every part, and the body's IoU with the lower-face outline (above the chin)."""
    body_image = raster([body])
    every_image = body_image | raster(others) if others else body_image
    cover = np.vstack([landmarks[COVERED_BY_MASK, :2], (landmarks[14, :2] + landmarks[152, :2]) / 2])
    inside = cv2.distanceTransform(body_image, cv2.DIST_L2, 5) / PX_PER_CM
    outside = cv2.distanceTransform(1 - every_image, cv2.DIST_L2, 5) / PX_PER_CM
    outline = np.zeros_like(body_image)
    cv2.fillPoly(outline, [np.round(to_pixels(landmarks[LOWER_FACE_POLYGON, :2]) * 16).astype(np.int32)], 1,
                 cv2.LINE_8, 4)
    face_part = body_image.copy()                   # the neck below the chin is not the face's
    face_part[int(np.ceil(to_pixels(landmarks[[152], :2])[0, 1])) + 1:] = 0
    iou = (outline & face_part).sum() / (outline | face_part).sum()
    return {"cover_margin": float(sample(inside, cover).min()),
            "clear_margin": float(sample(outside, landmarks[CLEAR_OF_MASK, :2]).min()),
            "iou": float(iou)}



def check(face: Face, name: str, parts: list[Part]) -> dict[str, float]:
    """Validate a mask on the canonical face; raise if it breaks a rule."""
    body = parts[0]
    report = {"vertices": len(body.vertices), "triangles": len(body.triangles), "parts": len(parts),
              "clearance": min(float(face.clearance(p.vertices).min()) for p in parts)}
    lm = face.landmarks
    seen_from_bridge = np.linalg.norm(body.vertices[:, None, :2] - lm[NOSE_BRIDGE, :2][None], axis=2)
    near_bridge = seen_from_bridge.min(1) < 1.2
    report["bridge_gap"] = float(face.clearance(body.vertices[near_bridge]).min())
    report.update(frontal_checks(lm, (body.vertices, body.triangles),
                                 [(p.vertices, p.triangles) for p in parts[1:]]))
    problems = []
    if report["clearance"] < BUILD_CLEARANCE_CM:
        problems.append(f"touches the skin (clearance {report['clearance']:.3f} cm)")
    if not CONTACT_GAP_CM[0] <= report["bridge_gap"] <= CONTACT_GAP_CM[1]:
        problems.append(f"nose-bridge gap {report['bridge_gap']:.3f} cm outside {CONTACT_GAP_CM}")
    if report["cover_margin"] < COVER_MARGIN_CM:
        problems.append(f"leaves nose, mouth or chin uncovered (margin {report['cover_margin']:.2f} cm)")
    if report["clear_margin"] < CLEAR_MARGIN_CM:
        problems.append(f"comes within {report['clear_margin']:.2f} cm of the eyes or brows")
    if report["iou"] < MIN_IOU:
        problems.append(f"overlaps the lower face poorly (IoU {report['iou']:.3f})")
    if any(np.any((p.uvs < 0) | (p.uvs > 1)) for p in parts):
        problems.append("texture coordinates outside [0, 1]")
    if problems:
        raise ValueError(f"mask {name!r}: " + "; ".join(problems))
    return report
