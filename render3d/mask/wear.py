"""Wearing styles: where a mask worn below its proper place rests on the face.

A pulled-down mask slides down the face as fabric does. Each canonical column (fixed x) has a rail:
the face's profile at that x, smoothed over its hollows, continued up the forehead and, past the
jaw, back under the chin toward the neck and down it. A mask vertex keeps its height above its
column's rail and moves along the rail by the style's drop (arc length), so a mask worn on the chin
rests on the chin and folds under the jaw instead of hanging in front of the neck. A mask worn with
the chin out keeps its top edge on the nose and is gathered up below it along the same rails (its
pleats left folded), so that its bottom edge lies under the lower lip. Fabric that comes to rest on
the skin is held off it along the skin's normal; on a wide-open mouth these styles are worn on the face
with its jaw opened further (`worn_face`), as MediaPipe draws it less open than it is.
"""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from render3d.face.fitting import JAW_HINGE, fit_face, open_jaw
from render3d.face.landmark_sets import MOUTH_CORNER
from render3d.face.topology import canonical_face, closed_triangles
from render3d.geometry import unit
from render3d.mask.placement import MIN_CLEARANCE_CM, OVER_FACE_COSINE, closed_face_vertices, surface_normals
from render3d.tolerances import LENGTH_FLOOR

if TYPE_CHECKING:
    from render3d.face.fitting import FittedFace
    from scipy.interpolate import LinearNDInterpolator
    from scipy.spatial import cKDTree

# MaskedFace-Net's class names for the same styles (its IMFD subfolders).
WEAR_ALIASES = {"Mask_Mouth_Chin": "nose-out", "Mask_Chin": "chin", "Mask_Nose_Mouth": "chin-out"}
# How a mask is moved on the face (see `lowered`): cm of arc length down the face at the middle and
# from the mouth corners out, and the fraction by which its fabric below the nose ridge is gathered up.
Drop = tuple[float, float, float]
NO_DROP: Drop = (0.0, 0.0, 0.0)
DROP_DECIMALS = 6              # a body's drop is rounded to this (cm): the last bits of its sums vary by machine

# The mask's top edge lands, at the middle, halfway between these landmarks' heights: under the
# nostrils above the upper lip (nose-out), or below the lower lip, above the chin's front (chin).
UNDER_LOWER_LIP = (17, 200)
WEAR_TOP_EDGE = {"nose-out": (2, 0), "chin": UNDER_LOWER_LIP}
# With the chin out, the mask's bottom edge lands at the middle halfway between these landmarks' heights
# (where the chin style's top edge lands), and its fabric is gathered up from the nose ridge's height down.
WEAR_BOTTOM_EDGE = {"chin-out": UNDER_LOWER_LIP}
GATHER_FROM = 195
GATHER_FADE_CM = 0.3           # below that height, fabric hanging off the face is laid on it over this much arc
# Beside the mouth corners the top edge lands this high (cm) above them with nose-out, so the fabric
# bends under the nose rather than sliding down whole; on the chin it lands as high as at the middle,
# so the edge is pulled straight under the lower lip.
CORNER_COVER_CM = {"nose-out": 1.2}
EAR_FADE_Z = (-7.5, -5.5)      # canonical z: loops keep their ear ends, the front moves fully

RAIL_STEP_CM = 0.1
RAIL_SMOOTH_CM = 0.6           # Gaussian smoothing of the profile: fabric bridges the face's hollows
RAIL_COLUMN_CM = 0.25          # rails are built every this many cm across the face
RAIL_MAX_X_CM = 6.0            # columns further out use this one's rail (the face turns away there)
# Past the jaw: (direction in (y, z), length cm): back under the chin to the neck, then down it.
UNDER_JAW = (((-0.4, -0.92), 7.5), ((-1.0, 0.0), 12.0))
OVER_FOREHEAD_CM = 10.0
NEAR_SKIN_CM = 1.0             # points less deep than this under the face's surface are fabric on it
HOLD_FADE = (0.05, 0.2)        # held off the skin fades out over this much cosine and depth (cm) past those limits
HOLD_PASSES = 2
# MediaPipe draws a wide-open jaw less open than it is, its lower lip up on the teeth or the tongue: on
# the hand-annotated faces of landmarks_68 whose inner lips (13, 14) are more than LIPS_APART_CM apart,
# the lower lip's bottom lies 0.1 to 0.7 cm below landmark 17, about JAW_UNDERDRAWN of the excess.
LIPS_APART_CM = 1.0
JAW_UNDERDRAWN = 0.25
INNER_LIPS = (13, 14)
LOWER_LIP = 17


def worn_face(fitted: FittedFace, wear: str) -> FittedFace:
    """The face a mask worn in style `wear` is placed on, occluded by and verified against: `fitted`, or
    for a style worn off its proper place (whose edges rest by the lips) on a wide-open mouth, `fitted`
    with its jaw turned further open about the hinge, so that its lower lip drops by `JAW_UNDERDRAWN` of
    the inner lips' gap past `LIPS_APART_CM`."""
    if wear == "correct":
        return fitted
    face = canonical_face().vertices
    upper, lower = (face[i, 1] + fitted.residual[i, 1] for i in INNER_LIPS)
    drop = JAW_UNDERDRAWN * (upper - lower - LIPS_APART_CM)
    if drop <= 0:
        return fitted
    # Turning by a small angle moves the lip down by the angle times its depth in front of the hinge.
    lip = face[LOWER_LIP] + fitted.residual[LOWER_LIP]
    return fit_face(open_jaw(fitted.landmarks, float(np.degrees(drop / (lip - JAW_HINGE)[2]))))


def resolve_wear(wear: str) -> str:
    """A wearing style's name: itself, or the style a MaskedFace-Net class name stands for."""
    return WEAR_ALIASES.get(wear, wear)


@lru_cache(maxsize=1)
def face_depth() -> LinearNDInterpolator:
    """Canonical face depth z (cm) at (x, y), the mouth and eyes closed; NaN off the face."""
    face = canonical_face()
    _, loops = closed_triangles()
    points = closed_face_vertices(face.vertices, loops)
    from scipy.interpolate import LinearNDInterpolator  # here, not at import: scipy costs the CLI's start-up

    return LinearNDInterpolator(points[:, :2], points[:, 2])


@lru_cache(maxsize=128)
def rail(x: float) -> tuple[np.ndarray, np.ndarray]:
    """The rail of column `x`: (N, 2) points in (y, z), from above the forehead down the neck, and their
    arc length (N,), cm, 0 at the top of the face."""
    column = min(abs(x), RAIL_MAX_X_CM)
    ys = np.arange(6.0, -14.0, -RAIL_STEP_CM)
    zs = face_depth()(np.full_like(ys, column), ys)
    on_face = np.flatnonzero(np.isfinite(zs))
    profile = np.c_[ys[on_face], zs[on_face]]
    pieces = [profile[0] + np.outer(np.arange(OVER_FOREHEAD_CM, 0, -RAIL_STEP_CM), [1.0, 0.0]), profile]
    end = profile[-1]
    for direction, length in UNDER_JAW:
        direction = np.asarray(direction) / np.linalg.norm(direction)
        pieces.append(end + np.outer(np.arange(RAIL_STEP_CM, length + 1e-9, RAIL_STEP_CM), direction))
        end = pieces[-1][-1]
    points = np.concatenate(pieces)
    step = np.linalg.norm(np.diff(points, axis=0), axis=1).mean()
    from scipy.ndimage import gaussian_filter1d

    points = gaussian_filter1d(points, RAIL_SMOOTH_CM / step, axis=0, mode="nearest")
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    return points, arc - arc[len(pieces[0])]


def on_rail(points: np.ndarray, x: float) -> tuple[np.ndarray, np.ndarray]:
    """Arc length along column `x`'s rail of the nearest rail point to each (y, z) point, and the point's
    height above the rail (cm, positive in front of the face)."""
    track, arc = rail(x)
    _, nearest = rail_tree(x).query(points)
    # The closest point lies on one of the two segments beside the nearest rail vertex.
    candidates = np.clip(np.stack([nearest - 1, nearest], 1), 0, len(track) - 2)
    start, segment = track[candidates], track[candidates + 1] - track[candidates]
    length = np.linalg.norm(segment, axis=2)
    along = np.clip(np.einsum("pcd,pcd->pc", points[:, None] - start, segment) / length ** 2, 0, 1)
    closest = start + along[..., None] * segment
    best = np.linalg.norm(points[:, None] - closest, axis=2).argmin(1)
    rows = np.arange(len(points))
    tangent = segment[rows, best] / length[rows, best, None]
    height = np.einsum("pd,pd->p", points - closest[rows, best], np.c_[tangent[:, 1], -tangent[:, 0]])
    return arc[candidates[rows, best]] + along[rows, best] * length[rows, best], height


@lru_cache(maxsize=128)
def rail_tree(x: float) -> cKDTree:
    """A KD-tree over the points of column `x`'s rail."""
    from scipy.spatial import cKDTree

    return cKDTree(rail(x)[0])


def rail_point(position: np.ndarray, height: np.ndarray, x: float) -> np.ndarray:
    """(y, z) at arc lengths `position` along column `x`'s rail, `height` in front of it."""
    track, arc = rail(x)
    spot = np.c_[np.interp(position, arc, track[:, 0]), np.interp(position, arc, track[:, 1])]
    # The rail's tangent at its points, interpolated between them: a step from segment to segment would
    # make the last bits of `position` choose the direction `height` is laid along.
    along = np.gradient(track, axis=0)
    tangent = unit(np.c_[np.interp(position, arc, along[:, 0]), np.interp(position, arc, along[:, 1])])
    return spot + height[:, None] * np.c_[tangent[:, 1], -tangent[:, 0]]


def column_of(x: np.ndarray) -> np.ndarray:
    """Canonical x (cm) rounded to the rail column it uses."""
    return np.round(np.asarray(x) / RAIL_COLUMN_CM) * RAIL_COLUMN_CM


def slid(points: np.ndarray, drop: np.ndarray, gather: float = 0.0) -> np.ndarray:
    """Canonical points (N, 3) moved down their columns' rails by `drop` (N,) cm of arc length
    (negative: up), each keeping its height above the face; with `gather`, the arc length of those
    below the nose ridge's height is first shortened by that fraction, toward that height, and fabric
    hanging further off the face (a gaiter in front of the neck) is laid on it. A point between two rail
    columns moves as the blend of its moves on both, by where it lies between them, so its move is
    continuous in it (a rounding to the nearer column made the last bits of x choose)."""
    steps = points[:, 0] / RAIL_COLUMN_CM
    lower = np.floor(steps)
    share = (steps - lower)[:, None]
    moved = points.copy()
    moved[:, 1:] = ((1 - share) * slid_on(points, lower * RAIL_COLUMN_CM, drop, gather)
                    + share * slid_on(points, (lower + 1) * RAIL_COLUMN_CM, drop, gather))
    return moved


def slid_on(points: np.ndarray, columns: np.ndarray, drop: np.ndarray, gather: float) -> np.ndarray:
    """(N, 2) y, z of canonical points (N, 3) slid as `slid` says along the rails of `columns` (N,) cm."""
    moved = np.empty((len(points), 2))
    for x in np.unique(columns):
        rows = columns == x
        position, height = on_rail(points[rows, 1:], float(x))
        if gather:
            start = rail_arc(float(x), canonical_face().vertices[GATHER_FROM, 1])
            past = np.maximum(position - start, 0.0)
            position = np.minimum(position, start) + past * (1.0 - gather)
            laid = np.clip(past / GATHER_FADE_CM, 0.0, 1.0)
            height = height + laid * (np.minimum(height, NEAR_SKIN_CM) - height)
        moved[rows] = rail_point(position + drop[rows], height, float(x))
    return moved


def top_edge(body: np.ndarray, x: float) -> np.ndarray:
    """The highest front vertex of a mask body within half a cm of column +-x."""
    front = body[(np.abs(np.abs(body[:, 0]) - x) < 0.5) & (body[:, 2] > EAR_FADE_Z[1])]
    return front[front[:, 1].argmax()]


def bottom_edge(body: np.ndarray) -> np.ndarray:
    """The front vertex of a mask body within half a cm of the midline that lies furthest down its rail."""
    front = body[(np.abs(body[:, 0]) < 0.5) & (body[:, 2] > EAR_FADE_Z[1])]
    return front[on_rail(front[:, 1:], 0.0)[0].argmax()]


def rail_arc(x: float, target_y: float) -> float:
    """Arc length (cm) down column `x`'s rail to where it last is on the face at height `target_y` or above."""
    track, arc = rail(x)
    on_face = (arc >= 0) & (track[:, 0] >= target_y)
    return float(arc[on_face].max()) if on_face.any() else 0.0


def rail_drop(point: np.ndarray, target_y: float) -> float:
    """Arc length (cm) that takes `point` down its column's rail to the face at height `target_y`."""
    x = float(column_of(point[0]))
    return float(rail_arc(x, target_y) - on_rail(point[None, 1:], x)[0][0])


def between(landmarks: tuple[int, int]) -> float:
    """Canonical y (cm) halfway between two landmarks' heights."""
    face = canonical_face().vertices
    return float(face[list(landmarks), 1].mean())


def wear_drop(top_middle: np.ndarray, top_corner: np.ndarray, bottom_middle: np.ndarray, wear: str) -> Drop:
    """How a mask moves (see `Drop`) so that its edges, at canonical points `top_middle` (x = 0),
    `top_corner` (beside a mouth corner) and `bottom_middle` (its bottom at x = 0), land where style
    `wear` puts them: the top edge for a style worn lower, the bottom edge for one gathered up."""
    if wear in WEAR_BOTTOM_EDGE:
        start = rail_arc(0.0, canonical_face().vertices[GATHER_FROM, 1])
        bottom = on_rail(bottom_middle[None, 1:], 0.0)[0][0]
        return 0.0, 0.0, float(1.0 - (rail_arc(0.0, between(WEAR_BOTTOM_EDGE[wear])) - start) / (bottom - start))
    if wear not in WEAR_TOP_EDGE:
        return NO_DROP
    middle_y = between(WEAR_TOP_EDGE[wear])
    corner_y = (canonical_face().vertices[MOUTH_CORNER, 1] + CORNER_COVER_CM[wear] if wear in CORNER_COVER_CM
                else middle_y)
    middle = rail_drop(top_middle, middle_y)
    return middle, min(middle, rail_drop(top_corner, corner_y)), 0.0


def body_drop(body: np.ndarray, wear: str) -> Drop:
    """`wear_drop` of a mask body (V, 3), from its own edges, to DROP_DECIMALS: the same on every machine,
    so a baked drop is found again."""
    if wear == "correct":
        return NO_DROP
    drop = wear_drop(top_edge(body, 0.0), top_edge(body, corner_x()), bottom_edge(body), wear)
    return tuple(round(value, DROP_DECIMALS) for value in drop)


def corner_x() -> float:
    """|x| (cm) of the canonical face's mouth corners."""
    return float(abs(canonical_face().vertices[MOUTH_CORNER, 0]))


def held_off_face(points: np.ndarray) -> np.ndarray:
    """Canonical points (N, 3) moved along the closed canonical face's normal to `MIN_CLEARANCE_CM` above
    it where they lie over it lower than that, down to `NEAR_SKIN_CM` under it (fading out over
    `HOLD_FADE` past both limits): fabric that a smoothed rail runs under a bump of the face, or that
    gathering lays on the cheek's steep side, rests on the skin (and is bound over it, so placement holds
    it off the fitted face too). The face is symmetric, and each point moves as the mean of its own move
    and its mirror image's, mirrored back: a point on the midline over a groove has two closest points, and
    the last bits of its x would choose one."""
    mirror = np.array([-1.0, 1.0, 1.0])
    return (lifted_off_face(points) + lifted_off_face(points * mirror) * mirror) / 2


def lifted_off_face(points: np.ndarray) -> np.ndarray:
    """`held_off_face` of canonical points (N, 3) on their own side. A point lifted along the face's smooth
    normal has a new closest point on a curved face; a second lift from there closes what the first left."""
    for _ in range(HOLD_PASSES):
        closest, distance, normal = surface_normals(points)
        height = np.einsum("ij,ij->i", points - closest, normal)
        over = np.clip((np.abs(height) / np.maximum(distance, LENGTH_FLOOR) - OVER_FACE_COSINE) / HOLD_FADE[0] + 1,
                       0, 1)
        shallow = np.clip((height + NEAR_SKIN_CM) / HOLD_FADE[1] + 1, 0, 1)
        points = points + (np.maximum(MIN_CLEARANCE_CM - height, 0.0) * over * shallow)[:, None] * normal
    return points


def lowered(vertices: np.ndarray, drop: Drop, keep_ears: bool = True) -> np.ndarray:
    """Vertices slid down the face, by drop[0] at the middle and drop[1] from the mouth corners out,
    after gathering by drop[2] (with `keep_ears`, fading out toward the ears so that loops stay on them),
    and held off the skin they rest on."""
    if drop == NO_DROP:
        return vertices
    moved = slid(vertices, np.interp(np.abs(vertices[:, 0]), [0.0, corner_x()], drop[:2]), drop[2])
    if keep_ears:
        toward_ears = np.clip((vertices[:, 2] - EAR_FADE_Z[0]) / (EAR_FADE_Z[1] - EAR_FADE_Z[0]), 0, 1)
        moved = vertices + (moved - vertices) * toward_ears[:, None]
    return held_off_face(moved)
