"""2D fallback: warp the mask flat onto a face's landmarks where its 3D placement fails verification.

The mask's mesh is laid on the neutral canonical face and projected frontally. Each vertex is
tied (barycentrically) to a Delaunay triangulation of the canonical landmarks, extended by two
rings outside the face oval, and follows those landmarks into the photo: a piecewise-affine
warp. The warped mesh is then textured with the mask's albedo, simply shaded, and drawn in
software (cv2 and numpy, no GL), far triangles first, at `SUPERSAMPLE` times the resolution.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Optional

import cv2
import numpy as np

from render3d.colourspace import LINEAR_LUT, linear_to_srgb
from render3d.errors import EngineError
from render3d.face.fitting import CANONICAL_TO_IMAGE_AXES, FittedFace
from render3d.face.landmark_sets import COVERED_BY_MASK
from render3d.face.topology import canonical_face
from render3d.geometry import Window, unpremultiply
from render3d.kinds import FaceStatus, FallbackReason
from render3d.qa.verify import placement_iou
from render3d.render import outline
from render3d.render.composite import SEGMENTATION_THRESHOLD
from render3d.render.renderer import DrawPart
from render3d.tolerances import DEGENERATE_DET

if TYPE_CHECKING:
    from scipy.spatial import Delaunay

Render = tuple[Window, np.ndarray]                  # a window and its straight-alpha RGBA float32

SUPERSAMPLE = 3
RING_SCALES = (1.6, 3.0)       # rings around the face oval, as multiples of its size about its centre
LIGHT = np.array([0.0, 0.45, 0.89])   # camera frame (y up, z toward the camera): from the upper front
AMBIENT = 0.72
MARGIN = 2
# The warp folds triangles on a turned face's far side into teeth, and bends thin loops into broken
# strokes: an opening as wide as this share of the warped mask's width trims both off its outline.
OPENING_SHARE = 0.05
# Wider teeth, where the warp crosses from the landmarks into the rigid rings, are smoothed away: the
# outline is pulled taut (`outline.taut`) over this share of the mask's width, which fills notches too,
# and what that takes off over the nose, mouth and chin (the hull of COVERED_BY_MASK, widened) is given back.
OUTLINE_SMOOTH_SHARE = 0.06
KEPT_REACH_CM = 1.0            # that hull widened by this


@dataclass(frozen=True)
class FaceRender:
    """What was drawn for one face, and how it was verified."""
    render: Optional[Render]       # what to draw for the face (None: nothing)
    status: FaceStatus             # 'ok' (3D), 'fallback' (2D warp) or 'failed' (neither verified)
    reason: Optional[FallbackReason] = None   # why the 3D render was not kept
    detail: Optional[str] = None   # the scores or the error, in words


def neutral_face() -> FittedFace:
    """The canonical face itself as a fitted face: 1 pixel per cm, frontal, in image axes."""
    landmarks = canonical_face().vertices @ CANONICAL_TO_IMAGE_AXES
    return FittedFace(landmarks, 1.0, CANONICAL_TO_IMAGE_AXES, np.zeros(3), np.zeros_like(landmarks))


@lru_cache(maxsize=1)
def anchors() -> tuple[np.ndarray, Delaunay]:
    """Canonical anchor points (468 landmarks, then the rings, in image axes) and their triangulation."""
    from scipy.spatial import Delaunay

    face = canonical_face()
    points = face.vertices[:468] @ CANONICAL_TO_IMAGE_AXES
    oval = points[face.outer_loop]
    centre = oval.mean(0)
    rings = [centre + (oval - centre) * [k, k, 1.0] for k in RING_SCALES]
    points = np.concatenate([points, *rings])
    return points, Delaunay(points[:, :2])


def anchor_positions(fitted: FittedFace) -> np.ndarray:
    """Where the anchors land in the photo: landmarks as detected, rings following the head rigidly."""
    canonical, _ = anchors()
    rings = fitted.to_image(canonical[468:] @ CANONICAL_TO_IMAGE_AXES)
    return np.concatenate([fitted.landmarks[:468], rings])


def warp_points(points: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Map frontal canonical points (image axes) to the photo through the anchor triangulation."""
    _, triangulation = anchors()
    xy = points[:, :2]
    simplex = triangulation.find_simplex(xy)
    outside = simplex < 0
    if outside.any():          # beyond the outer ring: use the nearest anchor triangle, extrapolated
        centres = triangulation.points[triangulation.simplices].mean(1)
        simplex[outside] = np.argmin(((xy[outside, None] - centres[None]) ** 2).sum(2), axis=1)
    transform = triangulation.transform[simplex]
    bary = np.einsum("nij,nj->ni", transform[:, :2], xy - transform[:, 2])
    weights = np.concatenate([bary, 1 - bary.sum(1, keepdims=True)], axis=1)
    return np.einsum("nk,nkd->nd", weights, targets[triangulation.simplices[simplex]])


def shade(part: DrawPart) -> np.ndarray:
    """Per-vertex brightness of the neutral mask under one soft light from the upper front."""
    return AMBIENT + (1 - AMBIENT) * np.clip(part.normals @ LIGHT, 0.0, 1.0)


def warp_mask(parts: list[DrawPart], fitted: FittedFace, shape: tuple[int, int]) -> Optional[Render]:
    """The mask parts (placed on `neutral_face()`) warped flat onto `fitted`'s landmarks and drawn."""
    targets = anchor_positions(fitted)
    warped = [warp_points(part.positions, targets) for part in parts]
    window = Window.around(np.concatenate(warped)[:, :2], shape, MARGIN)
    if window is None:
        return None
    x0, y0, width, height = window
    size = height * SUPERSAMPLE, width * SUPERSAMPLE
    premultiplied = np.zeros((*size, 4), np.float32)
    # Far parts first; within a part, far triangles first (image z points away from the camera).
    for part, positions in sorted(zip(parts, warped), key=lambda pw: -pw[1][:, 2].mean()):
        pixels = (positions[:, :2] - [x0, y0]) * SUPERSAMPLE - 0.5    # integer = pixel centre
        draw_part(premultiplied, part, pixels, positions[:, 2])
    small = cv2.resize(premultiplied, (width, height), interpolation=cv2.INTER_AREA)
    reach = max(1, round(KEPT_REACH_CM * fitted.scale))
    covered = cv2.convexHull(np.round(fitted.landmarks[COVERED_BY_MASK, :2] - [x0, y0]).astype(np.int32))
    kept = cv2.dilate(cv2.fillConvexPoly(np.zeros((height, width), np.uint8), covered, 1),
                      cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))).astype(bool)
    return window, trimmed(unpremultiply(small), fitted.scale, kept)


def trimmed(rgba: np.ndarray, scale: float, kept: np.ndarray | None = None) -> np.ndarray:
    """Straight-alpha (h, w, 4) `rgba` at `scale` pixels per cm with what is thinner than `OPENING_SHARE`
    of its width taken off its alpha (a morphological opening): the teeth and broken strokes a
    piecewise-affine warp leaves; then its outline pulled taut over `OUTLINE_SMOOTH_SHARE` of its width
    (`outline.taut`), keeping its coverage where (h, w) bool `kept` is set."""
    size = max(3, int(round(OPENING_SHARE * rgba.shape[1])) | 1)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    opened = rgba.copy()
    opened[..., 3] = cv2.morphologyEx(rgba[..., 3], cv2.MORPH_OPEN, disc)
    smoothed = outline.taut(opened, scale, sigma=OUTLINE_SMOOTH_SHARE * rgba.shape[1])
    if kept is not None:
        smoothed[..., 3] = np.where(kept, np.maximum(smoothed[..., 3], opened[..., 3]), smoothed[..., 3])
    return smoothed


def draw_part(target: np.ndarray, part: DrawPart, pixels: np.ndarray, depth: np.ndarray) -> None:
    """Rasterise one textured part into premultiplied RGBA `target`, over what is there."""
    triangles = part.triangles[np.argsort(-depth[part.triangles].mean(1), kind="stable")]
    ids = np.full(target.shape[:2], -1, np.int32)
    fixed_point = np.round(pixels * 16).astype(np.int32)                # 4 fractional bits
    for k, triangle in enumerate(triangles):
        cv2.fillConvexPoly(ids, fixed_point[triangle], k, cv2.LINE_8, 4)
    ys, xs = np.nonzero(ids >= 0)
    if not len(xs):
        return
    corners = pixels[triangles[ids[ys, xs]]]                         # (N, 3, 2)
    edges = np.stack([corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]], axis=2)
    det = edges[:, 0, 0] * edges[:, 1, 1] - edges[:, 0, 1] * edges[:, 1, 0]
    keep = np.abs(det) > DEGENERATE_DET
    ys, xs, corners, edges, det = ys[keep], xs[keep], corners[keep], edges[keep], det[keep]
    d = np.stack([xs, ys], axis=1) - corners[:, 0]
    b1 = np.clip((d[:, 0] * edges[:, 1, 1] - d[:, 1] * edges[:, 0, 1]) / det, 0, 1)
    b2 = np.clip((edges[:, 0, 0] * d[:, 1] - edges[:, 1, 0] * d[:, 0]) / det, 0, 1)
    weights = np.stack([1 - b1 - b2, b1, b2], axis=1)[:, :, None]
    corner_ids = triangles[ids[ys, xs]]
    uv = (weights * part.uvs[corner_ids]).sum(1)
    light = (weights[..., 0] * shade(part)[corner_ids]).sum(1)
    linear = LINEAR_LUT[sample(part.albedo, uv)] * np.asarray(part.tint, np.float32) * light[:, None]
    target[ys, xs, :3] = linear_to_srgb(linear)
    target[ys, xs, 3] = 1.0


def sample(texture: np.ndarray, uv: np.ndarray, row: int = 4096) -> np.ndarray:
    """Bilinear texture lookups at (N, 2) OBJ-convention uvs (v = 0 at the bottom), wrapping."""
    th, tw = texture.shape[:2]
    n = len(uv)
    maps = np.zeros((2, -(-n // row) * row), np.float32)      # cv2.remap wants fewer than 32767 columns
    maps[:, :n] = [uv[:, 0] * tw - 0.5, (1 - uv[:, 1]) * th - 0.5]
    shaped = [m.reshape(-1, row) for m in maps]
    return cv2.remap(texture, *shaped, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP).reshape(-1, 3)[:n]


def render_iou(render: Optional[Render], landmarks: np.ndarray, shape: tuple[int, int],
               wear: str = "correct") -> float:
    """IoU of one face's render (as it would segment) with the region its wearing style should cover."""
    if render is None:
        return 0.0
    window, rgba = render
    segmentation = np.zeros(shape, bool)
    segmentation[window.slices] = rgba[..., 3] >= SEGMENTATION_THRESHOLD
    return placement_iou(segmentation, landmarks, wear)


def verified(render_3d: Callable[[], Optional[Render]], render_2d: Callable[[], Optional[Render]],
             landmarks: np.ndarray, shape: tuple[int, int], min_iou: float, wear: str = "correct") -> FaceRender:
    """The 3D render when it succeeds and scores `min_iou` or more, else the 2D one if that does.
    When neither does, the better-scoring render is kept (nothing is lost) and the face is marked
    failed, so that datasets can leave it out by its status."""
    best, best_iou = None, -1.0
    try:
        best = render_3d()
        best_iou = render_iou(best, landmarks, shape, wear)
        if best_iou >= min_iou:
            return FaceRender(best, "ok")
        reason, detail = "low_iou", f"3D IoU {best_iou:.3f} < {min_iou}"
    except EngineError:             # a broken GL context fails every face: it stops the run
        raise
    except Exception as exc:        # any failure of one face's 3D path falls back, the image goes on
        reason, detail = "3d_error", f"3D placement failed: {describe(exc)}"
    try:
        render = render_2d()
        iou = render_iou(render, landmarks, shape, wear)
    except Exception as exc:
        return FaceRender(best, "failed", reason, f"{detail}; 2D fallback failed: {describe(exc)}")
    if iou >= min_iou:
        return FaceRender(render, "fallback", reason, f"{detail}; 2D IoU {iou:.3f}")
    kept = render if iou > best_iou else best
    return FaceRender(kept, "failed", reason, f"{detail}; 2D IoU {iou:.3f} < {min_iou}")


def describe(exc: BaseException) -> str:
    """An exception as one line: its type and message."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}".rstrip(": ")
