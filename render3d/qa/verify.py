"""Verify a placement: IoU between a face's rendered mask and a landmark polygon of its lower face."""
from __future__ import annotations

import cv2
import numpy as np

from render3d.face.landmark_sets import LOWER_FACE_POLYGON, LOWER_FACE_TOP, NOSE_RIDGE
from render3d.geometry import Window


def wear_polygon(landmarks: np.ndarray, wear: str) -> np.ndarray:
    """The lower-face polygon in image pixels, moved down the face as a mask worn in style `wear` is:
    its top from the nose bridge to where that style's top edge lands."""
    if wear == "correct":
        return landmarks[LOWER_FACE_POLYGON, :2]
    from render3d.face.fitting import fit_face
    from render3d.face.topology import canonical_face
    from render3d.mask.library import WEAR_TOP_EDGE

    rest = canonical_face().vertices
    above, below = WEAR_TOP_EDGE[wear]
    drop = (rest[above, 1] + rest[below, 1]) / 2 - rest[LOWER_FACE_TOP, 1]
    fitted = fit_face(landmarks)
    return fitted.to_image(fitted.to_canonical(landmarks[LOWER_FACE_POLYGON]) + [0.0, drop, 0.0])[:, :2]


def lower_face_polygon(landmarks: np.ndarray, shape: tuple[int, int], wear: str = "correct") -> np.ndarray:
    """Boolean image of the region a mask worn in style `wear` should cover."""
    polygon = np.zeros(shape, np.uint8)
    cv2.fillPoly(polygon, [np.round(wear_polygon(landmarks, wear) * 16).astype(np.int32)], 1,
                 lineType=cv2.LINE_8, shift=4)
    return polygon.astype(bool)


def face_box(landmarks: np.ndarray, shape: tuple[int, int]) -> Window:
    """The landmarks' box widened by 15% across and 25% down and up, clipped to the image."""
    (x0, y0), (x1, y1) = landmarks[:, :2].min(0), landmarks[:, :2].max(0)
    mx, my = 0.15 * (x1 - x0), 0.25 * (y1 - y0)
    h, w = shape
    return Window.from_corners(max(0, int(x0 - mx)), max(0, int(y0 - my)), min(w, int(x1 + mx)), min(h, int(y1 + my)))


def placement_iou(segmentation: np.ndarray, landmarks: np.ndarray, wear: str = "correct") -> float:
    """IoU of a boolean mask image with the region a face's mask should cover, inside the face's box."""
    box = face_box(landmarks, segmentation.shape).slices
    mask = segmentation[box].astype(bool)
    polygon = lower_face_polygon(landmarks, segmentation.shape, wear)[box]
    union = np.logical_or(mask, polygon).sum()
    return float(np.logical_and(mask, polygon).sum() / union) if union else 0.0


RIDGE_RADIUS_CM = 1.0


def clearance_report(fitted, body_positions: np.ndarray) -> dict[str, float]:
    """Clearance (cm) of a placed mask body over the fitted face, measured afresh on the deformed mesh.

    min_clearance: the lowest height of a mask vertex above the face surface, over the vertices that lie
    above an unfolded part of the face (negative = the mask cuts into the skin); nose_bridge_gap: the lowest height over the
    nose ridge, where the mask rests.
    """
    import trimesh

    from render3d.face.topology import canonical_face, closed_triangles
    from render3d.mask.placement import closed_face_vertices

    triangles, loops = closed_triangles()
    face = trimesh.Trimesh(closed_face_vertices(fitted.to_canonical(fitted.landmarks), loops), triangles,
                           process=False)
    points = fitted.to_canonical(body_positions)
    closest, distance, triangle = trimesh.proximity.closest_point(face, points)
    height = np.einsum("ij,ij->i", points - closest, face.face_normals[triangle])
    above = np.abs(height) >= 0.9 * distance            # the closest point is inside a triangle, not on the rim
    # Skin folded over by a landmark fit (a triangle facing the other way from the canonical face's) has no
    # outside to measure from.
    rest = trimesh.Trimesh(closed_face_vertices(canonical_face().vertices, loops), triangles, process=False)
    above &= np.einsum("ij,ij->i", face.face_normals, rest.face_normals)[triangle] > 0
    ridge = np.linalg.norm(closest[:, None] - face.vertices[NOSE_RIDGE][None], axis=2).min(1) < RIDGE_RADIUS_CM
    return {"min_clearance": float(height[above].min()), "nose_bridge_gap": float(height[above & ridge].min())}
