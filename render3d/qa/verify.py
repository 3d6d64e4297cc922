"""Verify a placement: IoU between a face's rendered mask and a landmark polygon of its lower face."""
from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from render3d.face.landmark_sets import LOWER_FACE_POLYGON, LOWER_FACE_TOP, NOSE_RIDGE
from render3d.geometry import Window

if TYPE_CHECKING:
    from render3d.face.fitting import FittedFace

POLYGON_CHEEK = 50
POLYGON_TOP_EDGE = [123, 50, 195, 280, 352]     # cheek to cheek over the nose bridge
# The face's front: its midline from the nose bridge to the bottom of the chin, which on a turned head
# stands out past the jaw line, between the cheeks and the jaw.
FACE_FRONT = [195, 5, 4, 1, 2, 164, 0, 13, 14, 17, 18, 200, 199, 175, 152,
              50, 280, 136, 150, 149, 176, 148, 377, 400, 378, 379, 365]
BELOW_CM = 30.0
CHIN_BOTTOM = 152


def filled(outlines: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """Boolean image of the union of (N, 2) pixel polygons."""
    image = np.zeros(shape, np.uint8)
    for outline in outlines:                     # one at a time, so that overlaps stay filled
        cv2.fillPoly(image, [np.round(outline * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    return image.astype(bool)


def face_region(landmarks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Boolean image of the lower face: the lower-face polygon and the outline of the face's front."""
    front = cv2.convexHull(landmarks[FACE_FRONT, :2].astype(np.float32))[:, 0].astype(float)
    return filled([landmarks[LOWER_FACE_POLYGON, :2], front], shape)


def worn_outline(landmarks: np.ndarray, wear: str, outline: list[int]) -> tuple[FittedFace, np.ndarray]:
    """The face fitted to `landmarks` and the canonical face's landmarks `outline` moved as a mask worn in
    style `wear` is (the lower-face polygon's top edge and chin standing for the mask's), then following
    the fitted face's expression where they land (an open mouth takes them down with the lower lip):
    (N, 3) canonical cm."""
    from render3d.face.fitting import fit_face
    from render3d.face.topology import canonical_face
    from render3d.mask.placement import bind, followed
    from render3d.mask.wear import corner_x, lowered, wear_drop

    fitted = fit_face(landmarks)
    face = canonical_face().vertices
    # The polygon's top edge runs straight from the nose bridge to the cheek.
    top, cheek = face[LOWER_FACE_TOP], face[POLYGON_CHEEK]
    beside_corner = top + (cheek - top) * corner_x() / abs(cheek[0])
    moved = lowered(face[outline], wear_drop(top, beside_corner, face[CHIN_BOTTOM], wear), keep_ears=False)
    return fitted, followed(moved, bind(moved), fitted)


def below_top_edge(landmarks: np.ndarray, wear: str) -> np.ndarray:
    """A pixel polygon holding everything below where the top edge of a mask worn in style `wear` lands:
    the lower-face polygon's top edge slid down the face as the mask is, and far below it."""
    fitted, edge = worn_outline(landmarks, wear, POLYGON_TOP_EDGE)
    far = edge[[-1, 0]] - [0.0, BELOW_CM, 0.0]
    return fitted.to_image(np.concatenate([edge, far]))[:, :2]


def lower_face_polygon(landmarks: np.ndarray, shape: tuple[int, int], wear: str = "correct") -> np.ndarray:
    """Boolean image of the region a mask worn in style `wear` should cover: the lower-face polygon; for
    a style worn lower, the lower face below where that style's top edge lands; with the chin out, the
    polygon gathered up as the mask is, its bottom under the lower lip."""
    from render3d.mask.wear import WEAR_BOTTOM_EDGE

    if wear == "correct":
        return filled([landmarks[LOWER_FACE_POLYGON, :2]], shape)
    if wear in WEAR_BOTTOM_EDGE:
        fitted, outline = worn_outline(landmarks, wear, LOWER_FACE_POLYGON)
        return filled([fitted.to_image(outline)[:, :2]], shape)
    return face_region(landmarks, shape) & filled([below_top_edge(landmarks, wear)], shape)


def face_box(landmarks: np.ndarray, shape: tuple[int, int]) -> Window:
    """The landmarks' box widened by 15% across and 25% down and up, clipped to the image."""
    (x0, y0), (x1, y1) = landmarks[:, :2].min(0), landmarks[:, :2].max(0)
    mx, my = 0.15 * (x1 - x0), 0.25 * (y1 - y0)
    h, w = shape
    return Window.from_corners(max(0, int(x0 - mx)), max(0, int(y0 - my)), min(w, int(x1 + mx)), min(h, int(y1 + my)))


STRAP_WIDTH_CM = 0.6             # loops and straps are narrower than this, the fabric much wider


def fabric(mask: np.ndarray, scale: float) -> np.ndarray:
    """A boolean mask image without its loops and straps (a morphological opening by a disc
    `STRAP_WIDTH_CM` across, at `scale` pixels per cm); the frame's edges do not wear it away."""
    size = 2 * max(1, round(STRAP_WIDTH_CM * scale / 2)) + 1
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, disc).astype(bool)


def placement_iou(segmentation: np.ndarray, landmarks: np.ndarray, wear: str = "correct",
                  visible: np.ndarray | None = None) -> float:
    """IoU of a boolean mask image's fabric (its loops and straps left out) with the region a face's
    mask should cover, inside the face's box.

    Only the visible part of that region counts: the part inside the frame and, when `visible` (an
    (H, W) bool image, False where something in front of the face hides it) is given, the part it
    leaves in view; the mask image is counted over the same pixels. So a frame or a hand that cuts the
    region leaves the score of a well placed mask as it is. A mask worn lower than `correct` is judged
    on the face only: where its fabric hangs below the jaw depends on the neck, which has no landmarks.
    """
    from render3d.face.fitting import fit_face

    box = face_box(landmarks, segmentation.shape).slices
    seen = np.ones(segmentation.shape, bool) if visible is None else visible.astype(bool)
    if wear != "correct":
        seen = seen & face_region(landmarks, segmentation.shape)
    seen = seen[box]
    mask = fabric(segmentation[box], fit_face(landmarks).scale) & seen
    polygon = lower_face_polygon(landmarks, segmentation.shape, wear)[box] & seen
    union = np.logical_or(mask, polygon).sum()
    return float(np.logical_and(mask, polygon).sum() / union) if union else 0.0


RIDGE_RADIUS_CM = 1.0


def clearance_report(fitted, body_positions: np.ndarray) -> dict[str, float]:
    """Clearance (cm) of a placed mask body over the fitted face, measured afresh on the deformed mesh.

    min_clearance: the lowest height of a mask vertex above the face surface, over the vertices that lie
    above an unfolded part of the face (negative = the mask cuts into the skin); nose_bridge_gap: the lowest height over the
    nose ridge, where the mask rests (NaN for a mask worn below it).
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
    bridge = height[above & ridge]
    return {"min_clearance": float(height[above].min()),
            "nose_bridge_gap": float(bridge.min()) if len(bridge) else float("nan")}
