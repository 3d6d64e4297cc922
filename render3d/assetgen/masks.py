"""Build the mask library: `assets/meshes/NAME.json`, its part meshes and their textures.

The asset format is documented, and enforced, by the loader, `render3d/mask/library.py`.

Every mask is shaped around the canonical face: a taut sheet resting on the nose bridge and
cheekbones and stretched over the hollows, its lower edge tucked under the chin, never
closer than `BUILD_CLEARANCE_CM` to the skin. The build validates each mask (clearance,
nose-bridge contact, frontal coverage of nose, mouth and chin, clear eyes and brows, overlap
with the lower-face outline) and fails if any check does not hold.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Union

import cv2
import numpy as np
import scipy.sparse as sp
import trimesh
from scipy.interpolate import PchipInterpolator, RegularGridInterpolator
from scipy.sparse.linalg import spsolve

from render3d.assetgen import textures
from render3d.face.landmark_sets import CLEAR_OF_MASK, COVERED_BY_MASK, JAW, LOWER_FACE_POLYGON, NOSE_BRIDGE
from render3d.face.topology import boundary_loops, read_obj_vertices_faces
from render3d.geometry import vertex_normals
from render3d.tolerances import DIRECTION_FLOOR, ON_EDGE, RATIO_FLOOR

# The assets keep this clear of the canonical skin: more than the floor that placement holds on every
# fitted face (`render3d.mask.placement.MIN_CLEARANCE_CM`), so a deformed face has room to take.
BUILD_CLEARANCE_CM = 0.1
CONTACT_GAP_CM = (0.1, 0.3)
MIN_IOU = 0.55
CLEAR_MARGIN_CM = 1.2
# Upper edges sit this much below their control points, so that turned heads keep the far eye clear.
EYE_RELIEF_CM = 0.8
COVER_MARGIN_CM = 0.3



# --------------------------------------------------------------------------------------------
# The canonical face


@dataclass(frozen=True)
class Face:
    """The canonical face for shaping and checking masks (canonical cm, y up, z toward the camera)."""
    landmarks: np.ndarray            # (478, 3) cm
    surface: trimesh.Trimesh         # the face with its mouth and eye holes closed
    outer_edges: frozenset           # sorted vertex pairs on the face oval
    outer_vertices: np.ndarray       # (V,) bool, on the face oval
    scene: trimesh.Trimesh           # surface plus a stand-in under-chin and neck, for shaping

    def clearance(self, points: np.ndarray) -> np.ndarray:
        """Signed distance of each point to the skin, positive in front of it.

        Points nearest the face oval's rim lie beside the surface, not behind it, and count
        their plain distance."""
        closest, distance, triangle = trimesh.proximity.closest_point(self.surface, points)
        corners = self.surface.faces[triangle]
        bary = trimesh.triangles.points_to_barycentric(self.surface.triangles[triangle], closest)
        normal = np.einsum("pk,pkd->pd", bary, self.surface.vertex_normals[corners])
        sign = np.where(np.einsum("pd,pd->p", points - closest, normal) < 0, -1.0, 1.0)
        on_rim = np.zeros(len(points), bool)
        for k in range(3):
            a, b = corners[:, (k + 1) % 3], corners[:, (k + 2) % 3]
            edge = np.array([(min(i, j), max(i, j)) in self.outer_edges for i, j in zip(a, b)])
            on_rim |= (bary[:, k] < ON_EDGE) & edge
            on_rim |= (bary[:, k] > 1 - ON_EDGE) & self.outer_vertices[corners[:, k]]
        return np.where(on_rim, distance, sign * distance)

    def cast(self, origins: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Farthest hit of each ray on the shaping scene (NaN: none), and the |cosine| between
        the ray and the surface normal there."""
        ray, triangle, t = ray_hits(self.scene, origins, directions)
        far = np.full(len(origins), np.nan)
        cosine = np.ones(len(origins))
        order = np.lexsort((t, ray))
        last = order[np.r_[ray[order][1:] != ray[order][:-1], True]] if len(ray) else order
        far[ray[last]] = t[last]
        cosine[ray[last]] = np.abs(np.einsum(
            "pd,pd->p", self.scene.face_normals[triangle[last]], directions[ray[last]]))
        return far, cosine

    def lift(self, xy: np.ndarray) -> np.ndarray:
        """The skin point seen at each frontal (x, y)."""
        origins = np.column_stack([xy, np.full(len(xy), 50.0)])
        directions = np.tile([0.0, 0.0, -1.0], (len(xy), 1))
        ray, _, t = ray_hits(self.surface, origins, directions)
        near = np.full(len(xy), np.inf)
        np.minimum.at(near, ray, t)
        if np.isinf(near).any():
            raise ValueError("a mask outline point misses the canonical face")
        return origins + near[:, None] * directions


def ray_hits(mesh: trimesh.Trimesh, origins: np.ndarray, directions: np.ndarray,
             chunk: int = 256) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every forward hit of unit rays on a mesh: ray and triangle indices and distances
    (Moller-Trumbore on the triangles whose bounding spheres the ray meets)."""
    corners = mesh.triangles
    centre = corners.mean(1)
    reach = np.linalg.norm(corners - centre[:, None], axis=2).max(1)
    rays, triangles = [], []
    for start in range(0, len(origins), chunk):
        offset = centre[None] - origins[start:start + chunk, None]
        along = np.einsum("rtk,rk->rt", offset, directions[start:start + chunk])
        near = (np.einsum("rtk,rtk->rt", offset, offset) - along ** 2 <= reach ** 2) & (along >= -reach)
        r, k = np.nonzero(near)
        rays.append(r + start)
        triangles.append(k)
    r, k = np.concatenate(rays), np.concatenate(triangles)
    o, d, v0 = origins[r], directions[r], corners[k, 0]
    e1, e2 = corners[k, 1] - v0, corners[k, 2] - v0
    p = np.cross(d, e2)
    det = np.einsum("ij,ij->i", e1, p)
    inv = 1 / np.where(np.abs(det) < 1e-12, np.inf, det)
    s = o - v0
    q = np.cross(s, e1)
    a, b = np.einsum("ij,ij->i", s, p) * inv, np.einsum("ij,ij->i", d, q) * inv
    t = np.einsum("ij,ij->i", e2, q) * inv
    edge = 1e-9                      # rays along the face's midline meet its edges exactly
    hit = (a >= -edge) & (b >= -edge) & (a + b <= 1 + edge) & (t > 0) & (inv != 0)
    return r[hit], k[hit], t[hit]


def load_face(path: Path) -> Face:
    """The shaping face built from a canonical-face OBJ file."""
    landmarks, triangles = read_obj_vertices_faces(path.read_text())
    loops = boundary_loops(triangles)
    outer, holes = loops[0], loops[1:]
    vertices = np.concatenate([landmarks[:468], [landmarks[loop].mean(0) for loop in holes]])
    fans = [np.stack([loop[::-1], np.roll(loop[::-1], -1), np.full(len(loop), 468 + k)], 1)
            for k, loop in enumerate(holes)]
    closed = np.concatenate([triangles, *fans])
    surface = trimesh.Trimesh(vertices, closed, process=False)
    edges = frozenset((min(a, b), max(a, b)) for a, b in zip(outer, np.roll(outer, -1)))
    on_outer = np.zeros(len(vertices), bool)
    on_outer[outer] = True
    skirt_vertices, skirt_triangles = under_chin(landmarks)
    scene = trimesh.Trimesh(np.concatenate([vertices, skirt_vertices]),
                            np.concatenate([closed, skirt_triangles + len(vertices)]), process=False)
    return Face(landmarks, surface, edges, on_outer, scene)


def head_axis_z(landmarks: np.ndarray) -> float:
    """z of the vertical axis of the head and neck, a little behind the ears."""
    return float(landmarks[234, 2] - 1.5)


def under_chin(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A stand-in for the skin the face mesh lacks: from the jaw line back under the chin to an
    elliptic neck, and down the neck. Used to shape masks, never to check clearance."""
    centre_z = head_axis_z(landmarks)
    radius_x, radius_z = 0.78 * abs(landmarks[234, 0]), 4.5
    jaw = landmarks[JAW]
    azimuth = np.arctan2(jaw[:, 0] / radius_x, (jaw[:, 2] - centre_z) / radius_z)
    neck_x, neck_z = radius_x * np.sin(azimuth), centre_z + radius_z * np.cos(azimuth)
    rows = [jaw]
    for drop in (1.3, 3.0, 6.0, 10.0, 16.0):
        rows.append(np.column_stack([neck_x, jaw[:, 1] - drop, neck_z]))
    rows = np.stack(rows)                                    # (rows, jaw points, 3)
    n = len(JAW)
    index = np.arange(rows.shape[0] * n).reshape(rows.shape[0], n)
    a, b, c, d = index[:-1, :-1], index[:-1, 1:], index[1:, :-1], index[1:, 1:]
    # The jaw runs from the subject's right to left, the rows run down: wind facing outward.
    triangles = np.concatenate([np.stack([a, c, b], -1).reshape(-1, 3),
                                np.stack([b, c, d], -1).reshape(-1, 3)])
    return rows.reshape(-1, 3), triangles


# --------------------------------------------------------------------------------------------
# Shaping. A sheet is a structured grid of rays; the mask surface sits at a radius r along
# each ray, found as a membrane stretched over the skin (plus clearance).


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


def grid_triangles(rows: int, cols: int) -> np.ndarray:
    """Two triangles per grid cell, counter-clockwise seen from the front (u right, v down)."""
    index = np.arange(rows * cols).reshape(rows, cols)
    a, b, c, d = index[:-1, :-1], index[:-1, 1:], index[1:, :-1], index[1:, 1:]
    return np.concatenate([np.stack([a, c, b], -1).reshape(-1, 3),
                           np.stack([b, c, d], -1).reshape(-1, 3)]).astype(np.int32)


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
            backing: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> Sheet:
    """Stretch a membrane between an upper and a lower edge over the skin.

    The rim is an elastic string pulled onto the skin (`pull` per edge: upper, sides, lower),
    spanning hollows; the interior is a membrane with `tension` across and down, pushed out
    by `pressure` (per cm, bulges it into a dome), resting on the skin at `clearance` cm. Pins
    hold chosen nodes at chosen radii; relief then displaces the surface along its normals.
    `backing` gives the radius of a stand-in head for rays that miss the face."""
    cols = len(top[0])
    u = np.linspace(0.0, 1.0, cols)
    uu, vv = np.meshgrid(u, v)
    a = (1 - vv) * top[0] + vv * bottom[0]
    b = (1 - vv) * top[1] + vv * bottom[1]
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


# --------------------------------------------------------------------------------------------
# Parts: meshes with texture coordinates and normals


@dataclass(frozen=True)
class Part:
    """One generated mask part: canonical-cm mesh, texture names and material settings."""
    suffix: str                # the mesh file is NAME_SUFFIX.obj
    vertices: np.ndarray
    uvs: np.ndarray            # (V, 2), v = 0 at the top of the texture image
    normals: np.ndarray
    triangles: np.ndarray
    albedo: str                # texture names, see `textures.TEXTURES`
    normal_map: str | None
    sheen: float
    recolor: bool


def sheet_part(sheet: Sheet, suffix: str, albedo: str, normal_map: str | None, sheen: float) -> Part:
    """A mask part of a shaped sheet's grid mesh, its texture names and sheen."""
    rows, cols = sheet.shape
    triangles = grid_triangles(rows, cols)
    vertices = sheet.points.reshape(-1, 3)
    uvs = np.column_stack([sheet.u.ravel(), sheet.v.ravel()])
    return Part(suffix, vertices, uvs, vertex_normals(vertices, triangles), triangles,
                albedo, normal_map, sheen, True)


def spline(points: np.ndarray, spacing: float) -> np.ndarray:
    """Centripetal Catmull-Rom curve through points, resampled every `spacing` cm."""
    ends = np.vstack([2 * points[0] - points[1], points, 2 * points[-1] - points[-2]])
    dense = []
    for k in range(1, len(ends) - 2):
        p0, p1, p2, p3 = ends[k - 1:k + 3]
        t1 = np.linalg.norm(p1 - p0) ** 0.5
        t2 = t1 + np.linalg.norm(p2 - p1) ** 0.5
        t3 = t2 + np.linalg.norm(p3 - p2) ** 0.5
        t = np.linspace(t1, t2, 24, endpoint=False)[:, None]
        a1 = (t1 - t) / t1 * p0 + t / t1 * p1
        a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
        a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
        b1 = (t2 - t) / t2 * a1 + t / t2 * a2
        b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
        dense.append((t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2)
    dense = np.vstack(dense + [points[-1:]])
    length = np.r_[0, np.cumsum(np.linalg.norm(np.diff(dense, axis=0), axis=1))]
    s = np.linspace(0, length[-1], max(int(np.ceil(length[-1] / spacing)), 2) + 1)
    return np.column_stack([np.interp(s, length, dense[:, k]) for k in range(3)])


def hold_off(face: Face, path: np.ndarray, distance: float) -> np.ndarray:
    """Push a path's inner points out of the skin until each is `distance` cm clear of it."""
    path = path.copy()
    for _ in range(40):
        inner = path[1:-1]
        gap = face.clearance(inner)
        short = gap < distance
        if not short.any():
            return path
        closest, length, triangle = trimesh.proximity.closest_point(face.surface, inner[short])
        away = (inner[short] - closest) / np.maximum(length, DIRECTION_FLOOR)[:, None]
        push = np.where((gap[short] > 1e-3)[:, None], away, face.surface.face_normals[triangle])
        inner[short] += (distance - gap[short] + 0.03)[:, None] * push
        path[1:-1] = 0.75 * inner + 0.125 * (path[:-2] + path[2:])
    raise ValueError("a strap cannot be routed clear of the skin")


def tube(path: np.ndarray, radius: float | tuple[float, float], axis_z: float,
         sides: int = 8) -> tuple[np.ndarray, ...]:
    """A tube along a path (elliptic for a (width, thickness) radius pair, the flat side
    facing away from the head's vertical axis at x = 0, z = axis_z): vertices, uvs (u along,
    v around), normals, triangles."""
    rx, ry = (radius, radius) if np.isscalar(radius) else radius
    tangent = np.gradient(path, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    out = path * [1, 0, 1] - [0, 0, axis_z]
    side = np.cross(tangent, out)
    side /= np.linalg.norm(side, axis=1, keepdims=True)
    up = np.cross(side, tangent)
    angle = np.linspace(0, 2 * np.pi, sides + 1)
    c, s = np.cos(angle)[None, :, None], np.sin(angle)[None, :, None]
    offset = c * rx * side[:, None] + s * ry * up[:, None]
    normal = c * ry * side[:, None] + s * rx * up[:, None]
    vertices = (path[:, None] + offset).reshape(-1, 3)
    normals = normal.reshape(-1, 3) / np.linalg.norm(normal.reshape(-1, 3), axis=1, keepdims=True)
    length = np.r_[0, np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))]
    uu, vv = np.meshgrid(length / length[-1], angle / (2 * np.pi))
    uvs = np.column_stack([uu.T.ravel(), vv.T.ravel()])
    triangles = grid_triangles(len(path), sides + 1)
    if np.einsum("ij,ij->i", np.cross(vertices[triangles[:, 1]] - vertices[triangles[:, 0]],
                                      vertices[triangles[:, 2]] - vertices[triangles[:, 0]]),
                 normals[triangles[:, 0]]).sum() < 0:
        triangles = triangles[:, ::-1]
    return vertices, uvs, normals, triangles


def merge(pieces: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """One mesh of several (vertices, normals, uvs, triangles) pieces, indices offset."""
    vertices, uvs, normals, triangles, offset = [], [], [], [], 0
    for v, t, n, f in pieces:
        vertices.append(v), uvs.append(t), normals.append(n), triangles.append(f + offset)
        offset += len(v)
    return tuple(np.concatenate(x) for x in (vertices, uvs, normals, triangles))


def standoff(radius: float | tuple[float, float]) -> float:
    """How far a tube's (or flat band's) centre line must stay from the skin."""
    width, thickness = (radius, radius) if np.isscalar(radius) else radius
    return thickness + 0.5 * (width - thickness) + BUILD_CLEARANCE_CM + 0.03


def ear_loops(face: Face, sheet: Sheet, radius: float | tuple[float, float] = 0.14) -> tuple[np.ndarray, ...]:
    """Elastic loops from the sheet's side corners around each ear; a (width, thickness) pair
    of half sizes makes flat bands."""
    rows, cols = sheet.shape
    normals = sheet.normals()
    lift = standoff(radius) - BUILD_CLEARANCE_CM
    pieces = []
    for col, ear in ((1, 234), (cols - 2, 454)):
        out = np.sign(face.landmarks[ear, 0])
        upper = sheet.points[1, col] + lift * normals[1, col]
        lower = sheet.points[rows - 2, col] + lift * normals[rows - 2, col]
        anchor = face.landmarks[ear] + [out * 1.0, 0.0, -1.0]
        ring = [anchor + [0, 0.9, 0.3], anchor + [out * 0.2, 0, -0.6], anchor + [0, -1.1, 0.3]]
        path = spline(np.vstack([upper, (upper + ring[0]) / 2, *ring, (lower + ring[2]) / 2, lower]), 0.2)
        pieces.append(tube(hold_off(face, path, standoff(radius)), radius, head_axis_z(face.landmarks)))
    return merge(pieces)


# --------------------------------------------------------------------------------------------
# Checks in a frontal view of the canonical face: an orthographic raster, 20 px per cm.

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
    every part, and the body's IoU with the lower-face outline."""
    body_image = raster([body])
    every_image = body_image | raster(others) if others else body_image
    cover = np.vstack([landmarks[COVERED_BY_MASK, :2], (landmarks[14, :2] + landmarks[152, :2]) / 2])
    inside = cv2.distanceTransform(body_image, cv2.DIST_L2, 5) / PX_PER_CM
    outside = cv2.distanceTransform(1 - every_image, cv2.DIST_L2, 5) / PX_PER_CM
    outline = np.zeros_like(body_image)
    cv2.fillPoly(outline, [np.round(to_pixels(landmarks[LOWER_FACE_POLYGON, :2]) * 16).astype(np.int32)], 1,
                 cv2.LINE_8, 4)
    iou = (outline & body_image).sum() / (outline | body_image).sum()
    return {"cover_margin": float(sample(inside, cover).min()),
            "clear_margin": float(sample(outside, landmarks[CLEAR_OF_MASK, :2]).min()),
            "iou": float(iou)}


# --------------------------------------------------------------------------------------------
# The masks


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


def surgical(face: Face) -> list[Part]:
    """A pleated rectangle pulled over nose and chin: three folds, a nose wire, ear loops."""
    frame = sphere_frame(face)
    cols = 81
    control, corner = standard_top(face)
    top = upper_edge(face, frame, control, corner, cols)
    bottom = jaw_lower_edge(face, frame, cols, 58, (14, 3), inset=0.05)
    folds = textures.SURGICAL_PLEATS

    def pleats(sheet: Sheet) -> np.ndarray:
        u, v = sheet.u, sheet.v
        height = np.zeros_like(v)
        for fold in folds:
            rise = smoothstep(fold - textures.SURGICAL_PLEAT_DEPTH, fold, v) ** 1.5
            height += rise * (1 - smoothstep(fold, fold + 0.012, v))
        across = smoothstep(0.02, 0.12, u) * smoothstep(0.02, 0.12, 1 - u)
        across *= 0.55 + 0.45 * np.abs(2 * u - 1) ** 0.7           # pleats open over nose and chin
        wire = smoothstep(0.0, 0.012, v) * (1 - smoothstep(0.022, 0.036, v))
        wire *= smoothstep(textures.NOSE_WIRE[0] - 0.02, textures.NOSE_WIRE[0], u)
        wire *= 1 - smoothstep(textures.NOSE_WIRE[1], textures.NOSE_WIRE[1] + 0.02, u)
        return 0.22 * height * across + 0.06 * wire

    sheet = stretch(face, frame, top, bottom, rows_with_folds(52, folds, 0.006), clearance=0.15,
                    tension=(1.0, 0.8), pull=(0.25, 1.0, 1.0), relief=pleats)
    return [sheet_part(sheet, "body", "surgical_blue_albedo", "surgical_normal", 0.25),
            Part("loops", *ear_loops(face, sheet), "loop_white_albedo", None, 0.2, False)]


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


def head_strap(face: Face, start: np.ndarray, end: np.ndarray, bow: np.ndarray,
               radius: tuple[float, float]) -> tuple[np.ndarray, ...]:
    """A flat strap from a point on the mask back along the head to `end`, bowed by `bow`."""
    path = spline(np.vstack([start, (start + end) / 2 + bow, end]), 0.2)
    return tube(hold_off(face, path, standoff(radius)), radius, head_axis_z(face.landmarks))


def revolve(profile: np.ndarray, centre: np.ndarray, axis: np.ndarray,
            segments: int = 40) -> tuple[np.ndarray, ...]:
    """A surface of revolution of (radius, height) profile points, outermost first, about
    `axis` through `centre`: vertices, uvs (u around, v along the profile), normals, triangles."""
    axis = axis / np.linalg.norm(axis)
    side = np.cross(axis, [0.0, 1.0, 0.0])
    side /= np.linalg.norm(side)
    up = np.cross(side, axis)
    angle = np.linspace(0, 2 * np.pi, segments + 1)
    ring = np.cos(angle)[:, None] * side + np.sin(angle)[:, None] * up          # (segments+1, 3)
    vertices = (centre + profile[:, None, 0:1] * ring[None] + profile[:, None, 1:2] * axis).reshape(-1, 3)
    triangles = grid_triangles(len(profile), segments + 1)
    length = np.r_[0, np.cumsum(np.linalg.norm(np.diff(profile, axis=0), axis=1))]
    uu, vv = np.meshgrid(angle / (2 * np.pi), length / length[-1])
    normals = pole_normals(vertex_normals(vertices, triangles), len(profile))
    outward = vertices - centre
    if np.einsum("ij,ij->", normals, outward) < 0:
        triangles, normals = triangles[:, ::-1], -normals
    return vertices, np.column_stack([uu.ravel(), vv.ravel()]), normals, triangles


def pole_normals(normals: np.ndarray, rows: int) -> np.ndarray:
    """Give the last ring of a (rows, ring) grid collapsed to a point one shared normal."""
    ring = normals.reshape(rows, -1, 3)
    pole = ring[-1].sum(0)
    ring[-1] = pole / np.linalg.norm(pole)
    return ring.reshape(-1, 3)


def nearest_node(sheet: Sheet, xy: tuple[float, float]) -> tuple[int, int]:
    """The grid node seen nearest a frontal (x, y) point."""
    distance = np.linalg.norm(sheet.points[..., :2] - np.asarray(xy), axis=-1)
    row, col = np.unravel_index(np.argmin(distance), distance.shape)
    return int(row), int(col)


def vent_plate(sheet: Sheet, spec: tuple[float, float, float, float], rings: int = 12,
               segments: int = 48) -> tuple[np.ndarray, ...]:
    """A moulded oval plate standing on the sheet: the ellipse `spec` (centre u, v and radii)
    of the sheet, domed up to 0.3 cm along its normals, its rim sunk into the fabric."""
    axes = (sheet.v[:, 0], sheet.u[0])
    points = RegularGridInterpolator(axes, sheet.points)
    normals = RegularGridInterpolator(axes, sheet.normals())
    rho = np.r_[1.0, 1.0, np.linspace(0.97, 0.0, rings)]          # rim twice: wall, then top
    lift = np.r_[-0.05, 0.18, 0.18 + 0.12 * (1 - np.linspace(0.97, 0.0, rings) ** 2)]
    angle = np.linspace(0, 2 * np.pi, segments + 1)
    u = spec[0] + spec[2] * rho[:, None] * np.cos(angle)[None]
    v = spec[1] + spec[3] * rho[:, None] * np.sin(angle)[None]
    where = np.stack([v, u], -1)
    normal = normals(where)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    vertices = (points(where) + lift[:, None, None] * normal).reshape(-1, 3)
    triangles = grid_triangles(len(rho), segments + 1)
    uvs = np.column_stack([(0.5 + 0.5 * rho[:, None] * np.cos(angle)[None]).ravel(),
                           (0.5 + 0.5 * rho[:, None] * np.sin(angle)[None]).ravel()])
    out = pole_normals(vertex_normals(vertices, triangles), len(rho))
    if np.einsum("ij,ij->", out, normal.reshape(-1, 3)) < 0:
        triangles, out = triangles[:, ::-1], -out
    return vertices, uvs, out, triangles


def n95(face: Face) -> list[Part]:
    """A moulded cup on a foam rim: nose bridge, cheeks and under the chin; two head straps."""
    lm = face.landmarks
    frame = sphere_frame(face)
    cols, rows = 61, 55
    control = [(0.0, lm[6, 1] - 0.15), (lm[362, 0], lm[362, 1] - 1.1), (lm[374, 0], lm[374, 1] - 1.0),
               (0.95 * lm[263, 0], lm[263, 1] - 1.9)]
    top = upper_edge(face, frame, control, lm[411] + [0.2, 0.5, 0.0], cols)
    bottom = jaw_lower_edge(face, frame, cols, 136, (13, 3), fullness=0.7)

    def clip(sheet: Sheet) -> np.ndarray:          # the metal nose clip stands out on the shell
        u, v = sheet.u, sheet.v
        return 0.05 * textures.box(u, v, textures.N95_CLIP)

    sheet = stretch(face, frame, top, bottom, np.linspace(0, 1, rows), clearance=0.15,
                    pressure=0.2, pull=(0.3, 1.0, 1.0), relief=clip)
    normals = sheet.normals()
    radius = (0.2, 0.06)
    straps = []
    # Upper straps run back above the ears, lower ones below them, ending behind the face.
    for col, temple, jaw, sign in ((0, 127, 58, -1), (cols - 1, 356, 288, 1)):
        for row, end, bow in ((int(rows * 0.22), lm[temple] + [sign * 0.4, -0.5, -1.2], [sign * 0.4, 0.2, 0.0]),
                              (int(rows * 0.72), lm[jaw] + [sign * 0.3, -1.0, -1.3], [sign * 0.4, -0.2, 0.0])):
            start = sheet.points[row, col] + (standoff(radius) - BUILD_CLEARANCE_CM) * normals[row, col]
            straps.append(head_strap(face, start, end, np.asarray(bow), radius))
    return [sheet_part(sheet, "body", "n95_albedo", "n95_normal", 0.15),
            Part("straps", *merge(straps), "n95_strap_albedo", None, 0.2, False)]


def kn95(face: Face) -> list[Part]:
    """Two flat welded panels folded along a vertical centre seam that stands off the mouth."""
    lm, cols = face.landmarks, 81
    sheet = sphere_sheet(face, cols, np.linspace(0, 1, 55), under_the_eyes(lm, 0.15, (1.05, 0.9, 1.5, 0.7)),
                         lm[454] + [-0.5, -1.2, 2.4], dict(corner_landmark=172, tuck_degrees=(13, 3), fullness=1.5),
                         clearance=0.15, tension=(1.0, 0.2), pull=(0.3, 1.0, 1.0),
                         pins=lambda s: seam(s, cols // 2, 0.1))
    return [sheet_part(sheet, "body", "kn95_albedo", "kn95_normal", 0.15),
            Part("loops", *ear_loops(face, sheet), "loop_white_albedo", None, 0.2, False)]


def ffp2_valve(face: Face) -> list[Part]:
    """A three-panel fold-flat respirator with an exhalation valve on the left cheek."""
    lm = face.landmarks
    frame = sphere_frame(face)
    cols = 71
    control, corner = standard_top(face, drop=0.3)
    top = upper_edge(face, frame, control, corner + [-0.2, -0.3, 0.3], cols)
    bottom = jaw_lower_edge(face, frame, cols, 172, (13, 3), fullness=1.3)
    panels = textures.FFP2_PANELS

    def welds(sheet: Sheet) -> np.ndarray:           # the panels meet in raised welded seams
        v = sheet.v
        return 0.1 * sum(np.exp(-((v - p) / 0.012) ** 2) for p in panels)

    sheet = stretch(face, frame, top, bottom, rows_with_folds(51, panels, 0.008), clearance=0.15,
                    tension=(1.0, 0.7), pressure=0.12, pull=(0.3, 1.0, 1.0), relief=welds)
    row, col = nearest_node(sheet, (lm[291, 0] - 0.2, lm[291, 1] - 0.7))
    normal = sheet.normals()[row, col]
    profile = np.array([(1.75, -0.35), (1.75, 0.3), (1.7, 0.5), (1.55, 0.68), (1.25, 0.82),
                        (0.8, 0.9), (0.3, 0.94), (0.0, 0.95)])
    valve = revolve(profile, sheet.points[row, col], normal)
    return [sheet_part(sheet, "body", "ffp2_albedo", "ffp2_normal", 0.15),
            Part("valve", *valve, "valve_albedo", "valve_normal", 0.1, False),
            Part("loops", *ear_loops(face, sheet), "loop_white_albedo", None, 0.2, False)]


def cloth(face: Face) -> list[Part]:
    """A contoured two-piece fabric mask: a curved centre seam over nose and chin, narrow sides."""
    lm = face.landmarks
    frame = sphere_frame(face)
    cols, rows = 75, 57
    control = [(0.0, lm[6, 1] - 0.1), (0.8, lm[6, 1] - 0.45), (lm[362, 0], lm[362, 1] - 1.05),
               (lm[374, 0], lm[374, 1] - 1.2), (lm[263, 0], lm[263, 1] - 1.9), (lm[346, 0], lm[346, 1] - 1.1)]
    top = upper_edge(face, frame, control, lm[454] + [-0.6, -2.0, 2.2], cols)
    bottom = jaw_lower_edge(face, frame, cols, 172, (15, 2), inset=np.radians(4), fullness=2.5)
    sheet = stretch(face, frame, top, bottom, np.linspace(0, 1, rows), clearance=0.15,
                    pressure=0.08, pull=(0.35, 1.0, 1.0), pins=lambda s: seam(s, cols // 2, 0.1))
    return [sheet_part(sheet, "body", "cloth_albedo", "cloth_normal", 0.45),
            Part("loops", *ear_loops(face, sheet, 0.15), "loop_black_albedo", None, 0.3, False)]


def gaiter(face: Face) -> list[Part]:
    """A stretch-knit tube pulled up over the nose: wraps past the ears, hangs below the chin."""
    lm = face.landmarks
    frame = Cylinder((0.0, head_axis_z(lm)))
    cols, rows = 91, 55
    control, _ = standard_top(face)
    top = upper_edge(face, frame, control, lm[454] + [0.3, -0.9, -1.8], cols)
    bottom = (top[0] * 0.9, np.full(cols, lm[152, 1] - 2.5))

    def folds(sheet: Sheet) -> np.ndarray:           # soft bunching under the chin
        u, v = sheet.u, sheet.v
        ripple = 0.5 + 0.5 * np.cos(2 * np.pi * (v - 0.7) / 0.11 + 0.8 * np.sin(2 * np.pi * u * 3))
        return 0.12 * ripple * smoothstep(0.55, 0.75, v) * (1 - smoothstep(0.93, 1.0, v))

    def head(origins: np.ndarray, dirs: np.ndarray) -> np.ndarray:   # neck and head behind the ears
        t = smoothstep(lm[58, 1] - 1.0, lm[93, 1], origins[:, 1])
        half_width, half_depth = 5.2 + 1.5 * t, 4.6 + 3.4 * t
        return 1 / np.hypot(dirs[:, 0] / half_width, dirs[:, 2] / half_depth)

    sheet = stretch(face, frame, top, bottom, np.linspace(0, 1, rows), clearance=0.15,
                    tension=(1.0, 1.5), pressure=-0.03, pull=(0.25, 0.4, 1.0), relief=folds, backing=head)
    return [sheet_part(sheet, "body", "gaiter_albedo", "gaiter_normal", 0.5)]


def sport(face: Face) -> list[Part]:
    """A snug knit sports mask with a moulded vent plate over the mouth and flat ear straps."""
    lm = face.landmarks
    sheet = sphere_sheet(face, 75, np.linspace(0, 1, 57), under_the_eyes(lm, 0.2, (1.1, 1.1, 1.8, 0.9)),
                         lm[454] + [-0.5, -1.6, 2.3],
                         dict(corner_landmark=172, tuck_degrees=(12, 2), inset=np.radians(2), fullness=1.6),
                         clearance=0.15, pressure=0.03, pull=(0.35, 1.0, 1.0))
    return [sheet_part(sheet, "body", "sport_albedo", "sport_normal", 0.3),
            Part("vent", *vent_plate(sheet, textures.SPORT_GRILLE), "vent_albedo", "vent_normal", 0.1, False),
            Part("straps", *ear_loops(face, sheet, (0.3, 0.07)), "sport_strap_albedo", None, 0.3, False)]


# --------------------------------------------------------------------------------------------
# The library


@dataclass(frozen=True)
class Entry:
    """A library mask: the shape it is built on, its albedos, base colour and description."""
    shape: Callable[[Face], list[Part]]     # builds the parts; its name prefixes the mesh files
    description: str
    color: str                              # base colour of the recolourable albedo
    albedos: tuple[tuple[str, str], ...] = ()   # (part suffix, albedo) replacing the shape's own


LIBRARY: dict[str, Entry] = {
    "surgical": Entry(surgical, "Blue three-ply pleated surgical mask with a nose wire and white ear loops.",
                      textures.SURGICAL_COLOURS["blue"]),
    **{f"surgical_{name}": Entry(
        surgical, f"{name.capitalize()} pleated surgical mask with a nose wire and ear loops.",
        textures.SURGICAL_COLOURS[name],
        (("body", f"surgical_{name}_albedo"),) + ((("loops", "loop_black_albedo"),) if name == "black" else ()))
       for name in ("white", "green", "black", "pink")},
    "n95": Entry(n95, "Moulded white N95 respirator cup with a metal nose clip and two head straps.", "#ECEAE2"),
    "kn95": Entry(kn95, "White KN95 respirator folded along a vertical centre seam, with ear loops.",
                  textures.KN95_WHITE),
    "ffp2_valve": Entry(ffp2_valve, "White three-panel FFP2 respirator with an exhalation valve and ear loops.",
                        textures.FFP2_WHITE),
    "cloth": Entry(cloth, "Contoured navy cotton mask with a floral print, a centre seam and black ear loops.",
                   "#2E3F66"),
    "gaiter": Entry(gaiter, "Camouflage stretch-knit neck gaiter pulled up over the nose and down past the chin.",
                    "#7A7B55"),
    "sport": Entry(sport, "Charcoal sports mask with orange binding, a moulded vent grille and flat ear straps.",
                   "#30343A"),
}


def write_obj(path: Path, part: Part, header: str) -> None:
    """Write a part as an OBJ file (v, vt, vn, f lines, four decimals) with a header comment."""
    def rows(values: np.ndarray) -> list[str]:
        return [" ".join(f"{x:.4f}" for x in row) for row in np.round(values, 4) + 0.0]

    uvs = part.uvs * [1, -1] + [0, 1]          # OBJ texture v runs up from the image's bottom row
    lines = [f"# {line}" for line in header.strip().splitlines()]
    lines += [f"v {row}" for row in rows(part.vertices)]
    lines += [f"vt {row}" for row in rows(uvs)]
    lines += [f"vn {row}" for row in rows(part.normals)]
    lines += [f"f {a}/{a}/{a} {b}/{b}/{b} {c}/{c}/{c}" for a, b, c in part.triangles + 1]
    path.write_text("\n".join(lines) + "\n")


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


Shapes = dict[str, tuple[list[Part], dict[str, float]]]


def build_mask(name: str, meshes_dir: Path, textures_dir: Path, face: Face,
               shapes: Shapes | None = None) -> dict[str, float]:
    """Build, check and write one mask (its JSON, part meshes and textures) and return its
    report. `shapes` keeps checked geometry for masks sharing a shape."""
    entry = LIBRARY[name]
    shape = entry.shape.__name__
    shapes = {} if shapes is None else shapes
    if shape not in shapes:
        parts = entry.shape(face)
        shapes[shape] = parts, check(face, shape, parts)
    parts, report = shapes[shape]
    albedos = dict(entry.albedos)
    listed = []
    for part in parts:
        mesh = f"{shape}_{part.suffix}.obj"
        write_obj(meshes_dir / mesh, part,
                  f"render3d mask part {shape} {part.suffix} (generated by render3d/assetgen/masks.py)\n"
                  "canonical face frame: cm, x subject's left, y up, z toward the camera")
        texture_names = [albedos.get(part.suffix, part.albedo)] + ([part.normal_map] if part.normal_map else [])
        paths = [textures.write(t, textures_dir) for t in texture_names]
        relative = [Path(os.path.relpath(p, meshes_dir)).as_posix() for p in paths]
        listed.append({"mesh": mesh, "albedo": relative[0], "normal": relative[1] if part.normal_map else None,
                       "sheen": part.sheen, "recolor": part.recolor})
    spec = {"name": name, "description": entry.description, "color": entry.color, "parts": listed}
    (meshes_dir / f"{name}.json").write_text(json.dumps(spec, indent=2) + "\n")
    return report


def build_all(meshes_dir: Path, textures_dir: Path) -> dict[str, dict[str, float]]:
    """Build every mask of the library around `meshes_dir/canonical_face.obj`."""
    meshes_dir.mkdir(parents=True, exist_ok=True)
    textures_dir.mkdir(parents=True, exist_ok=True)
    face = load_face(meshes_dir / "canonical_face.obj")
    shapes: Shapes = {}
    return {name: build_mask(name, meshes_dir, textures_dir, face, shapes) for name in LIBRARY}


def format_report(reports: dict[str, dict[str, float]]) -> str:
    """One line per mask: body size, part count, least clearance to the skin (all parts), the
    gap at the nose bridge, and the frontal margins (cover points inside the body, eyes and
    brows outside every part) and IoU with the lower-face outline."""
    lines = [f"{'mask':16} {'body verts':>10} {'tris':>6} {'parts':>5} {'clear cm':>8} {'bridge cm':>9} "
             f"{'cover cm':>8} {'eyes cm':>7} {'IoU':>5}"]
    for name, r in reports.items():
        lines.append(f"{name:16} {r['vertices']:10d} {r['triangles']:6d} {r['parts']:5d} {r['clearance']:8.3f} "
                     f"{r['bridge_gap']:9.3f} {r['cover_margin']:8.2f} {r['clear_margin']:7.2f} {r['iou']:5.3f}")
    return "\n".join(lines)
