"""Shaping a mask surface. A sheet is a structured grid of rays; the mask surface sits at a
radius r along each ray, found as a membrane stretched over the skin (plus clearance).

Also the shared shapes of edges and seams that the recipes in `recipes.py` are built from.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

import numpy as np
import scipy.sparse as sp
from scipy.interpolate import PchipInterpolator
from scipy.sparse.linalg import spsolve

from render3d.assetgen.face import Face
from render3d.face.landmark_sets import JAW
from render3d.geometry import grid_triangles, vertex_normals
from render3d.tolerances import RATIO_FLOOR

# Upper edges sit this much below their control points, so that turned heads keep the far eye clear.
EYE_RELIEF_CM = 0.8


@dataclass(frozen=True)
class Sphere:
    """Rays from a centre behind the face: a = angle around y (0 toward the camera), b = angle
    above the horizontal."""
    centre: np.ndarray

    def rays(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(..., 3) origins and unit directions (canonical cm) of the rays at frame coordinates (a, b)."""
        d = np.stack([np.sin(a) * np.cos(b), np.sin(b), np.cos(a) * np.cos(b)], -1)
        return np.broadcast_to(self.centre, d.shape).copy(), d

    def coords(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Frame coordinates (a, b) of (..., 3) canonical points."""
        d = points - self.centre
        return np.arctan2(d[..., 0], d[..., 2]), np.arctan2(d[..., 1], np.hypot(d[..., 0], d[..., 2]))


@dataclass(frozen=True)
class Cylinder:
    """Horizontal rays from a vertical axis through (x, z) = axis: a = angle around y, b = height."""
    axis: tuple[float, float]

    def rays(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(..., 3) origins and unit directions (canonical cm) of the rays at frame coordinates (a, b)."""
        d = np.stack([np.sin(a), np.zeros_like(a), np.cos(a)], -1)
        o = np.stack([np.full_like(a, self.axis[0]), b, np.full_like(a, self.axis[1])], -1)
        return o, d

    def coords(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Frame coordinates (a, b) of (..., 3) canonical points."""
        return np.arctan2(points[..., 0] - self.axis[0], points[..., 2] - self.axis[1]), points[..., 1]


Frame = Union[Sphere, Cylinder]


def grid_laplacian(points: np.ndarray, tension: tuple[float, float]) -> tuple[sp.csr_matrix, np.ndarray]:
    """Weighted graph Laplacian of a structured (rows, cols) grid of 3D points (L r = sum of
    w (r_neighbour - r)), and each node's area."""
    rows, cols = points.shape[:2]
    index = np.arange(rows * cols).reshape(rows, cols)
    du = np.linalg.norm(np.diff(points, axis=1), axis=-1)          # (rows, cols-1)
    dv = np.linalg.norm(np.diff(points, axis=0), axis=-1)          # (rows-1, cols)
    hu = np.pad(du, ((0, 0), (1, 1)), mode="edge")
    hu = (hu[:, :-1] + hu[:, 1:]) / 2                               # node widths
    hv = np.pad(dv, ((1, 1), (0, 0)), mode="edge")
    hv = (hv[:-1] + hv[1:]) / 2                                     # node heights
    w_u = tension[0] * (hv[:, :-1] + hv[:, 1:]) / 2 / np.maximum(du, RATIO_FLOOR)
    w_v = tension[1] * (hu[:-1] + hu[1:]) / 2 / np.maximum(dv, RATIO_FLOOR)
    i = np.concatenate([index[:, :-1].ravel(), index[:-1].ravel()])
    j = np.concatenate([index[:, 1:].ravel(), index[1:].ravel()])
    w = np.concatenate([w_u.ravel(), w_v.ravel()])
    return laplacian(i, j, w, rows * cols), (hu * hv).ravel()


def laplacian(i: np.ndarray, j: np.ndarray, w: np.ndarray, n: int) -> sp.csr_matrix:
    """(n, n) sparse graph Laplacian of the undirected edges (i, j) with weights w."""
    off = sp.coo_matrix((np.concatenate([w, w]), (np.concatenate([i, j]), np.concatenate([j, i]))),
                        shape=(n, n)).tocsr()
    return (off - sp.diags(np.asarray(off.sum(1)).ravel())).tocsr()


def obstacle_solve(lap: sp.csr_matrix, source: np.ndarray, obstacle: np.ndarray,
                   fixed: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Membrane heights r >= obstacle with lap r + source = 0 off contact, fixed nodes held at
    their values (primal-dual active set)."""
    free = ~fixed
    contact = free & np.isfinite(obstacle)
    r = np.where(fixed, values, 0.0)
    for _ in range(200):
        unknown = free & ~contact
        known = ~unknown
        r = np.where(fixed, values, np.where(contact, obstacle, 0.0))
        if unknown.any():
            a = lap[unknown][:, unknown].tocsc()
            b = -source[unknown] - lap[unknown][:, known] @ r[known]
            r[unknown] = spsolve(a, b)
        force = -(lap @ r) - source
        new_contact = free & np.isfinite(obstacle) & (
            (contact & (force > 1e-9)) | (~contact & (r < obstacle - 1e-9)))
        if np.array_equal(new_contact, contact):
            return r
        contact = new_contact
    raise RuntimeError("membrane solve did not converge")


def taut_loop(points: np.ndarray, obstacle: np.ndarray, pull: np.ndarray) -> np.ndarray:
    """Radii of a closed elastic string around the sheet's rim, pulled toward the face with
    strength `pull` per cm and held off it by the obstacle."""
    n = len(points)
    length = np.linalg.norm(np.roll(points, -1, axis=0) - points, axis=1)
    i = np.arange(n)
    lap = laplacian(i, (i + 1) % n, 1 / np.maximum(length, RATIO_FLOOR), n)
    span = (length + np.roll(length, 1)) / 2
    return obstacle_solve(lap, -pull * span, obstacle, np.zeros(n, bool), np.zeros(n))


def upper_edge(face: Face, frame: Frame, control: list[tuple[float, float]], corner: np.ndarray,
               cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Ray coordinates of an upper edge through frontal (x, y) control points (x >= 0, from the
    middle out, mirrored) lifted onto the skin, ending at a corner point (x > 0, mirrored);
    `cols` samples evenly spaced in a."""
    control = np.array(control) - [0.0, EYE_RELIEF_CM]
    x = np.linspace(-control[-1, 0], control[-1, 0], 401)
    y = PchipInterpolator(control[:, 0], control[:, 1])(np.abs(x))
    a, b = frame.coords(face.lift(np.column_stack([x, y])))
    corner_a, corner_b = frame.coords(np.array([corner * [-1, 1, 1], corner]))
    a, b = np.r_[corner_a[0], a, corner_a[1]], np.r_[corner_b[0], b, corner_b[1]]
    if np.any(np.diff(a) <= 0):
        raise ValueError("the upper edge folds over itself")
    a_even = np.linspace(a[0], a[-1], cols)
    return a_even, PchipInterpolator(a, b)(a_even)


def lower_edge(face: Face, frame: Sphere, corner: float, tuck: tuple[float, float],
               cols: int, fullness: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Ray coordinates of a lower edge running `tuck` radians past the jaw line: tuck[0] under
    the chin, tuck[1] at the corners (a = -corner, +corner); a lower `fullness` rounds the
    chin by tucking in further beside it."""
    jaw_a, jaw_b = frame.coords(face.landmarks[JAW])
    a = np.linspace(-corner, corner, cols)
    weight = np.cos(np.pi / 2 * a / corner) ** fullness
    return a, np.interp(a, jaw_a, jaw_b) - (tuck[1] + (tuck[0] - tuck[1]) * weight)


def jaw_lower_edge(face: Face, frame: Sphere, cols: int, corner_landmark: int, tuck_degrees: tuple[float, float],
                   inset: float = 0.0, fullness: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """`lower_edge` with its corners at `corner_landmark`'s angle less `inset` radians, tucked
    `tuck_degrees` (under the chin, at the corners) past the jaw line."""
    corner_a, _ = frame.coords(face.landmarks[corner_landmark])
    tuck = (np.radians(tuck_degrees[0]), np.radians(tuck_degrees[1]))
    return lower_edge(face, frame, abs(corner_a) - inset, tuck, cols, fullness=fullness)


def rim(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid indices around the border, clockwise from the top-left corner seen from the front,
    and which edge each lies on (0 upper, 1 side, 2 lower)."""
    index = np.arange(rows * cols).reshape(rows, cols)
    loop = np.concatenate([index[0], index[1:, -1], index[-1, -2::-1], index[-2:0:-1, 0]])
    edge = np.concatenate([np.zeros(cols), np.ones(rows - 1), np.full(cols - 1, 2), np.ones(rows - 2)])
    return loop, edge.astype(int)


@dataclass
class Sheet:
    """A shaped mask surface on a (rows, cols) grid; u runs across, v down, both 0..1."""
    u: np.ndarray
    v: np.ndarray
    origins: np.ndarray
    directions: np.ndarray
    skin: np.ndarray           # radius of the skin along each ray, NaN where there is none
    bound: np.ndarray          # the least radius the mask may take (skin plus clearance)
    radius: np.ndarray         # radius of the mask along each ray
    points: np.ndarray         # (rows, cols, 3)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the grid."""
        return self.u.shape

    def normals(self) -> np.ndarray:
        """(rows, cols, 3) unit vertex normals of the grid mesh."""
        rows, cols = self.shape
        return vertex_normals(self.points.reshape(-1, 3), grid_triangles(rows, cols)).reshape(rows, cols, 3)


Pins = Callable[[Sheet], tuple[np.ndarray, np.ndarray]]
Relief = Callable[[Sheet], np.ndarray]


def stretch(face: Face, frame: Frame, top: tuple[np.ndarray, np.ndarray],
            bottom: tuple[np.ndarray, np.ndarray], v: np.ndarray, clearance: float,
            tension: tuple[float, float] = (1.0, 1.0), pressure: float = 0.0,
            pull: tuple[float, float, float] = (0.3, 1.0, 1.0),
            pins: Pins | None = None, relief: Relief | None = None,
            backing: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None, level: float = 0.0) -> Sheet:
    """Stretch a membrane between an upper and a lower edge over the skin.

    The rim is an elastic string pulled onto the skin (`pull` per edge: upper, sides, lower),
    spanning hollows; the interior is a membrane with `tension` across and down, pushed out
    by `pressure` (per cm, bulges it into a dome), resting on the skin at `clearance` cm. Pins
    hold chosen nodes at chosen radii; relief then displaces the surface along its normals.
    `backing` gives the radius of a stand-in head for rays that miss the face.

    Rows of v run between the edges. With `level` 0 they are spaced evenly down each column; with
    `level` 1 shorter columns start with the tallest one's spacing (up to twice their own, closing
    up toward the lower edge) and, below the upper edge, the rows lose its bends (a quadratic
    through it): a pleated sheet's folds run level across the face."""
    cols = len(top[0])
    u = np.linspace(0.0, 1.0, cols)
    uu, vv = np.meshgrid(u, v)
    height = top[1] - bottom[1]
    gain = np.minimum(height.max() / height, 2.0) ** level - 1        # a monotonic quadratic: at most 2x
    along = vv * (1 + gain[None, :] * (1 - vv))                         # 0 at the upper edge, 1 at the lower
    even_top = np.polyval(np.polyfit(top[0], top[1], 2), top[0])
    top_b = top[1] + level * (even_top - top[1]) * smoothstep(0.0, 0.3, vv)
    a = (1 - along) * top[0] + along * bottom[0]
    b = (1 - along) * top_b + along * bottom[1]
    origins, dirs = frame.rays(a, b)
    skin, cosine = face.cast(origins.reshape(-1, 3), dirs.reshape(-1, 3))
    if backing is not None:
        miss = np.isnan(skin)
        skin[miss] = backing(origins.reshape(-1, 3)[miss], dirs.reshape(-1, 3)[miss])
    skin = skin.reshape(uu.shape)
    obstacle = skin + clearance / np.maximum(cosine.reshape(uu.shape), 0.3)
    obstacle = np.where(np.isnan(skin), -np.inf, obstacle).ravel()
    nominal = origins + np.nanmedian(skin) * dirs
    lap, area = grid_laplacian(nominal, tension)
    loop, edge = rim(*uu.shape)
    rim_pull = np.asarray(pull)[edge]
    floor = np.full(obstacle.shape, -np.inf)
    sheet = Sheet(uu, vv, origins, dirs, skin, obstacle.reshape(uu.shape), np.zeros_like(skin), origins.copy())
    for _ in range(12):
        bound = np.maximum(obstacle, floor)
        sheet.bound = bound.reshape(uu.shape)
        fixed = np.zeros(len(bound), bool)
        values = np.zeros(len(bound))
        rim_points = nominal.reshape(-1, 3)[loop]
        fixed[loop] = True
        values[loop] = taut_loop(rim_points, bound[loop], rim_pull)
        if pins is not None:
            sheet.radius = values.reshape(uu.shape)              # pins see the rim's radii
            pinned, radii = pins(sheet)
            pinned = pinned.ravel() & ~fixed
            fixed |= pinned
            values[pinned] = np.maximum(radii.ravel()[pinned], bound[pinned])
        radius = obstacle_solve(lap, pressure * area, bound, fixed, values)
        sheet.radius = radius.reshape(uu.shape)
        sheet.points = origins + sheet.radius[..., None] * dirs
        if relief is not None:
            sheet.points = sheet.points + relief(sheet)[..., None] * sheet.normals()
        gap = face.clearance(sheet.points.reshape(-1, 3))
        short = gap < clearance - 0.02
        if not short.any():
            return sheet
        floor[short] = np.maximum(floor[short], radius[short] + 1.2 * (clearance - gap[short]) + 0.01)
    raise ValueError(f"the sheet keeps touching the skin (clearance {gap.min():.3f} cm)")



def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 at edge0 to 1 at edge1, elementwise over x."""
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def rows_with_folds(count: int, folds: tuple[float, ...], width: float) -> np.ndarray:
    """Evenly spaced v rows with extra rows packed at each fold line."""
    extra = [f + d for f in folds for d in (-width, 0.0, width)]
    base = np.linspace(0.0, 1.0, count)
    keep = np.min(np.abs(base[:, None] - np.array(extra)[None]), axis=1) > 1.5 * width
    return np.unique(np.r_[base[keep], extra])


def sphere_frame(face: Face) -> Sphere:
    """The sphere frame most masks are shaped in, centred behind the face."""
    lm = face.landmarks
    return Sphere(np.array([0.0, lm[1, 1] - 0.6, lm[234, 2] - 1.3]))


def sphere_sheet(face: Face, cols: int, v: np.ndarray, control: list[tuple[float, float]], corner: np.ndarray,
                 bottom: dict, **shaping) -> Sheet:
    """A sheet on the sphere frame: its upper edge through `control` to `corner` (see `upper_edge`), its
    lower edge under the jaw (`jaw_lower_edge` with the `bottom` settings), shaped by `stretch(**shaping)`."""
    frame = sphere_frame(face)
    top = upper_edge(face, frame, control, corner, cols)
    return stretch(face, frame, top, jaw_lower_edge(face, frame, cols, **bottom), v, **shaping)


def under_the_eyes(lm: np.ndarray, bridge: float,
                   drops: tuple[float, float, float, float]) -> list[tuple[float, float]]:
    """Frontal control points of an upper edge: `bridge` cm below landmark 6 on the midline, then `drops`
    cm below the left eye's inner corner, lower lid, outer corner, and the cheekbone (362, 374, 263, 346)."""
    return [(0.0, lm[6, 1] - bridge)] + [(lm[i, 0], lm[i, 1] - drop) for i, drop in zip((362, 374, 263, 346), drops)]


def standard_top(face: Face, drop: float = 0.0) -> tuple[list[tuple[float, float]], np.ndarray]:
    """Frontal control points of an upper edge across the nose bridge and under the eyes, and
    its side corner in front of the ear; `drop` lowers the sides (cm)."""
    lm = face.landmarks
    control = [(0.0, lm[6, 1] - 0.15), (lm[362, 0], lm[362, 1] - 1.05 - 0.3 * drop),
               (lm[374, 0], lm[374, 1] - 0.85 - 0.6 * drop), (lm[263, 0], lm[263, 1] - 1.35 - drop),
               (lm[346, 0], lm[346, 1] - 0.3 - drop)]
    return control, lm[454] + [-0.3, -0.6 - drop, 2.0]



def seam(sheet: Sheet, col: int, push: float) -> tuple[np.ndarray, np.ndarray]:
    """Pins for a stiff seam down grid column `col`: a line from the upper to the lower edge,
    bowed out from the skin by `push` (per cm) and resting on it where it must."""
    rows, cols = sheet.shape
    bound = sheet.bound[:, col]
    radius = np.where(np.isfinite(bound), bound, sheet.radius[:, col])
    points = sheet.origins[:, col] + radius[:, None] * sheet.directions[:, col]
    length = np.linalg.norm(np.diff(points, axis=0), axis=1)
    i = np.arange(rows - 1)
    lap = laplacian(i, i + 1, 1 / np.maximum(length, RATIO_FLOOR), rows)
    span = np.r_[length[0], length[:-1] + length[1:], length[-1]] / 2
    ends = np.zeros(rows, bool)
    ends[[0, -1]] = True
    line = obstacle_solve(lap, push * span, bound, ends, sheet.radius[:, col])
    pinned = np.zeros((rows, cols), bool)
    pinned[:, col] = True
    radii = np.zeros((rows, cols))
    radii[:, col] = line
    return pinned, radii
