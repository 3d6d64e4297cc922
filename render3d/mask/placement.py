"""Placed mask: bind canonical mask vertices to the face, then follow a fitted face.

A binding is computed once per mask part (automatically, so user masks need nothing more):
each vertex follows a Gaussian blend of its nearest landmarks' expression offsets, and each
vertex that lies over the face is held at least `min_clearance` above the deformed skin, whatever
the expression.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from render3d.face.fitting import FittedFace
from render3d.face.topology import canonical_face, closed_triangles

NEIGHBOURS = 12
BLEND_SIGMA_CM = 1.5
OVER_FACE_COSINE = 0.9       # offset this parallel to the surface normal = the vertex is over the face
MIN_CLEARANCE_CM = 0.08
CLEARANCE_NEIGHBOURS = 4
RIM_REACH_CM = 2.0
RIM_FANS = 3                 # oval vertices whose triangles are searched for a point near the rim
ZERO = 1e-13                 # region tests' tolerance in `closest_points_on_triangles`


@dataclass(frozen=True)
class Binding:
    neighbours: np.ndarray       # (V, K) landmark indices
    weights: np.ndarray          # (V, K) blend weights, rows sum to 1
    over_face: np.ndarray        # (V,) bool: the vertex sits above the face surface


def closed_face_vertices(vertices: np.ndarray, hole_loops: list[np.ndarray]) -> np.ndarray:
    """The 468 face vertices followed by one centroid per filled hole."""
    return np.concatenate([vertices[:468], [vertices[loop].mean(0) for loop in hole_loops]])


def over_face(points: np.ndarray) -> np.ndarray:
    """(V,) bool: which canonical points (V, 3) sit above the closed canonical face, by exact closest
    points onto it (the costly half of a binding, baked for library masks)."""
    import trimesh

    triangles, loops = closed_triangles()
    surface = trimesh.Trimesh(closed_face_vertices(canonical_face().vertices, loops), triangles, process=False)
    closest, _, triangle = trimesh.proximity.closest_point(surface, points)
    offset = points - closest
    length = np.linalg.norm(offset, axis=1)
    cosine = np.einsum("ij,ij->i", offset, surface.face_normals[triangle]) / np.maximum(length, 1e-9)
    return cosine > OVER_FACE_COSINE


def bind(points: np.ndarray, above: np.ndarray | None = None) -> Binding:
    """The binding of canonical points (V, 3) to the face; `above` is their `over_face`, when known."""
    from scipy.spatial import cKDTree

    distances, neighbours = cKDTree(canonical_face().vertices[:468]).query(points, k=NEIGHBOURS)
    weights = np.exp(-0.5 * ((distances - distances[:, :1]) / BLEND_SIGMA_CM) ** 2)
    weights /= weights.sum(1, keepdims=True)
    return Binding(neighbours, weights, over_face(points) if above is None else above)


def triangle_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Area-weighted (unnormalised) triangle normals."""
    v0, v1, v2 = (vertices[triangles[:, k]] for k in range(3))
    return np.cross(v1 - v0, v2 - v0)


def vertex_normals(vertices: np.ndarray, triangles: np.ndarray,
                   face_normals: np.ndarray | None = None) -> np.ndarray:
    """Area-weighted unit vertex normals (from `face_normals` when given)."""
    face_normals = triangle_normals(vertices, triangles) if face_normals is None else face_normals
    normals = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(normals, triangles[:, k], face_normals)
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)


@lru_cache(maxsize=1)
def rest_triangle_normals() -> np.ndarray:
    triangles, loops = closed_triangles()
    return triangle_normals(closed_face_vertices(canonical_face().vertices, loops), triangles)


@dataclass(frozen=True)
class Skin:
    """A fitted face's closed surface in canonical cm, prepared once for every part placed on it."""
    surface: np.ndarray          # closed-face vertices, deformed
    normals: np.ndarray          # their unit normals
    tree: "cKDTree"              # over `surface`
    oval_tree: "cKDTree"         # over the face oval's vertices

    @classmethod
    def of(cls, fitted: FittedFace) -> "Skin":
        from scipy.spatial import cKDTree

        triangles, loops = closed_triangles()
        surface = closed_face_vertices(canonical_face().vertices + fitted.residual, loops)
        # Skin that a landmark fit folds over keeps its rest orientation, so its outside stays outside.
        deformed, rest = triangle_normals(surface, triangles), rest_triangle_normals()
        folded = np.einsum("ij,ij->i", deformed, rest) < 0
        deformed[folded] = rest[folded] * (np.linalg.norm(deformed[folded], axis=1) /
                                           np.maximum(np.linalg.norm(rest[folded], axis=1), 1e-12))[:, None]
        normals = vertex_normals(surface, triangles, deformed)
        return cls(surface, normals, cKDTree(surface), cKDTree(surface[canonical_face().outer_loop]))


def lifted(points: np.ndarray, skin: Skin, min_clearance: float) -> np.ndarray:
    """Points raised along the skin's normal until they are `min_clearance` above the tangent planes
    of their nearest face vertices (a conservative height over a curved face)."""
    _, nearest = skin.tree.query(points, k=CLEARANCE_NEIGHBOURS)
    height = np.einsum("vkd,vkd->vk", points[:, None] - skin.surface[nearest], skin.normals[nearest]).min(1)
    return points + np.maximum(min_clearance - height, 0.0)[:, None] * skin.normals[nearest[:, 0]]


def closest_points_on_triangles(triangles: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N, 3) closest point on each triangle (N, 3, 3) to each point (N, 3): the regions of Ericson's
    "Real-Time Collision Detection" 5.1.5, in the order and arithmetic of trimesh's `closest_point`
    (so the results are the same bits; trimesh is not imported on the per-image path)."""
    ones = [1.0, 1.0, 1.0]
    a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
    ab, ac, ap, bp, cp = b - a, c - a, points - a, points - b, points - c
    d1, d2 = np.dot(ab * ap, ones), np.dot(ac * ap, ones)
    d3, d4 = np.dot(ab * bp, ones), np.dot(ac * bp, ones)
    d5, d6 = np.dot(ab * cp, ones), np.dot(ac * cp, ones)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    result = np.zeros_like(points)
    remain = np.ones(len(points), bool)

    def take(region: np.ndarray, value) -> None:
        result[region] = value(region)
        remain[region] = False

    take((d1 < ZERO) & (d2 < ZERO), lambda r: a[r])
    collapsed = np.all(ab == 0.0, axis=1)                   # A = B: the segment AC
    if collapsed.any():
        length = np.sum(ac[collapsed] ** 2, axis=1)
        factor = np.divide(np.sum(ap[collapsed] * ac[collapsed], axis=1), length,
                           out=np.zeros(len(length)), where=length > 0)
        take(collapsed, lambda r: a[r] + np.clip(factor, 0, 1)[:, None] * ac[r])
    take((d3 > -ZERO) & (d4 <= d3) & remain, lambda r: b[r])
    take((vc < ZERO) & (d1 > -ZERO) & (d3 < ZERO) & remain,
         lambda r: a[r] + (d1[r] / (d1[r] - d3[r]))[:, None] * ab[r])
    take((d6 > -ZERO) & (d5 <= d6) & remain, lambda r: c[r])
    take((vb < ZERO) & (d2 > -ZERO) & (d6 < ZERO) & remain,
         lambda r: a[r] + (d2[r] / (d2[r] - d6[r]))[:, None] * ac[r])
    take((va < ZERO) & (d4 - d3 > -ZERO) & (d5 - d6 > -ZERO) & remain,
         lambda r: b[r] + ((d4[r] - d3[r]) / ((d4[r] - d3[r]) + (d5[r] - d6[r])))[:, None] * (c[r] - b[r]))
    if remain.any():                                        # inside the face region
        denom = 1.0 / (va[remain] + vb[remain] + vc[remain])
        result[remain] = a[remain] + ab[remain] * (vb[remain] * denom)[:, None] + ac[remain] * (vc[remain] * denom)[:, None]
    return result


@lru_cache(maxsize=1)
def rim_fans() -> tuple[np.ndarray, np.ndarray]:
    """The face oval's vertices, and for each the closed-face triangles around it (padded with -1)."""
    triangles, _ = closed_triangles()
    oval = canonical_face().outer_loop
    fans = [np.flatnonzero((triangles == v).any(1)) for v in oval]
    table = np.full((len(oval), max(map(len, fans))), -1)
    for row, fan in enumerate(fans):
        table[row, :len(fan)] = fan
    return oval, table


def held_off_rim(points: np.ndarray, skin: Skin, min_clearance: float) -> np.ndarray:
    """Points that the expression or pose has brought over the triangles at the face's rim (beside the
    jaw, the temples), raised to `min_clearance` above them, by exact closest points."""
    triangles, _ = closed_triangles()
    surface = skin.surface
    oval, fans = rim_fans()
    distance, nearest_oval = skin.oval_tree.query(points, k=RIM_FANS, distance_upper_bound=RIM_REACH_CM)
    near = np.flatnonzero(np.isfinite(distance[:, 0]))
    if len(near) == 0:
        return points
    candidates = fans[np.minimum(nearest_oval[near], len(oval) - 1)].reshape(len(near), -1)
    candidates = np.where(candidates < 0, candidates.max(1, keepdims=True), candidates)
    pairs = np.repeat(points[near], candidates.shape[1], axis=0)
    closest = closest_points_on_triangles(surface[triangles[candidates.ravel()]], pairs)
    offset = points[near, None] - closest.reshape(len(near), -1, 3)
    length = np.linalg.norm(offset, axis=2)
    best = length.argmin(1)
    rows = np.arange(len(near))
    normals = triangle_normals(surface, triangles[candidates[rows, best]])
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    height = np.einsum("vd,vd->v", offset[rows, best], normals)
    over = np.abs(height) >= OVER_FACE_COSINE * length[rows, best]
    points = points.copy()
    points[near] += np.where(over, np.maximum(min_clearance - height, 0.0), 0.0)[:, None] * normals
    return points


def place(points: np.ndarray, binding: Binding, fitted: FittedFace, skin: Skin,
          min_clearance: float = MIN_CLEARANCE_CM) -> np.ndarray:
    """Image-space positions of canonical mask points on a fitted face whose skin is `Skin.of(fitted)`."""
    moved = points + np.einsum("vk,vkd->vd", binding.weights, fitted.residual[binding.neighbours])
    moved[binding.over_face] = lifted(moved[binding.over_face], skin, min_clearance)
    moved[~binding.over_face] = held_off_rim(moved[~binding.over_face], skin, min_clearance)
    return fitted.to_image(moved)
