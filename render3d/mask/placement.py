"""Placed mask: bind canonical mask vertices to the face, then follow a fitted face.

A binding is computed once per mask part (automatically, so user masks need nothing more):
each vertex follows a Gaussian blend of its nearest landmarks' expression offsets, and each
vertex that lies over the face is held at least `min_clearance` above the deformed skin, whatever
the expression. The binding also keeps, from the face at rest, each vertex's nearest skin and face
oval vertices: a fitted face's nearest ones are found among those, so that placing a mask on a face
is a sparse product and a few gathers, with no search over the face.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from render3d.face.fitting import FittedFace
from render3d.face.topology import canonical_face, closed_triangles
from render3d.geometry import closest_points_on_triangles, triangle_normals, unit, vertex_normals
from render3d.tolerances import DIRECTION_FLOOR, LENGTH_FLOOR

if TYPE_CHECKING:
    import scipy.sparse as sp

NEIGHBOURS = 12
BLEND_SIGMA_CM = 1.5
OVER_FACE_COSINE = 0.9       # offset this parallel to the surface normal = the vertex is over the face
MIN_CLEARANCE_CM = 0.08
CLEARANCE_NEIGHBOURS = 4
RIM_REACH_CM = 2.0
RIM_FANS = 3                 # oval vertices whose triangles are searched for a point near the rim
# Candidates kept at rest, among which a fitted face's CLEARANCE_NEIGHBOURS skin vertices and RIM_FANS
# oval vertices nearest each mask vertex are found (on the dev photos those always are among them).
SKIN_CANDIDATES = 12
OVAL_CANDIDATES = 8


@dataclass(frozen=True)
class Binding:
    """How each mask vertex follows the face: its blended landmarks, whether it sits above the skin,
    and its nearest skin and oval vertices at rest."""
    neighbours: np.ndarray       # (V, K) landmark indices, nearest first
    weights: np.ndarray          # (V, K) blend weights, rows sum to 1
    over_face: np.ndarray        # (V,) bool: the vertex sits above the face surface
    blend: sp.csr_matrix         # (V, 478) the weights as a matrix over the landmarks
    near_skin: np.ndarray        # (V, SKIN_CANDIDATES) closed-face vertices nearest at rest
    near_oval: np.ndarray        # (V, OVAL_CANDIDATES) positions in the face oval nearest at rest

    def of_vertices(self, index: np.ndarray) -> "Binding":
        """The binding of the vertices `index` (an integer array) alone, in that order."""
        return Binding(self.neighbours[index], self.weights[index], self.over_face[index], self.blend[index],
                       self.near_skin[index], self.near_oval[index])


def closed_face_vertices(vertices: np.ndarray, hole_loops: list[np.ndarray]) -> np.ndarray:
    """The 468 face vertices followed by one centroid per filled hole."""
    return np.concatenate([vertices[:468], [vertices[loop].mean(0) for loop in hole_loops]])


SUPPORT_WEIGHT = 1e-9        # barycentric weight under which a closest point lies on its triangle's edge


@lru_cache(maxsize=1)
def closed_face_surface():
    """The closed canonical face as a trimesh, and its (V, F) vertex-to-triangle incidence matrix."""
    import scipy.sparse as sp
    import trimesh

    triangles, loops = closed_triangles()
    surface = trimesh.Trimesh(closed_face_vertices(canonical_face().vertices, loops), triangles, process=False)
    rows = triangles.ravel()
    incidence = sp.csr_matrix((np.ones(len(rows)), (rows, np.repeat(np.arange(len(triangles)), 3))),
                              shape=(len(surface.vertices), len(triangles)))
    return surface, incidence


def closest_in_triangle(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Closest points (N, 3) on the closed canonical face to canonical points (N, 3), their distances (N,),
    the triangle (N,) a search found each in and its (N, 3) barycentric weights there."""
    import trimesh

    surface = closed_face_surface()[0]
    closest, distance, triangle = trimesh.proximity.closest_point(surface, points)
    return closest, distance, triangle, trimesh.triangles.points_to_barycentric(surface.triangles[triangle], closest)


def surface_normals(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closest points (N, 3) on the closed canonical face to canonical points (N, 3), their distances (N,),
    and the face's unit normals there (N, 3), its vertex normals blended by the barycentric weights: on an
    edge or a corner every triangle holding the point gives the same, so the normal is continuous in the
    points (a triangle's own normal changes in a step where a point crosses to its neighbour)."""
    surface = closed_face_surface()[0]
    closest, distance, triangle, weights = closest_in_triangle(points)
    corners = np.asarray(surface.vertex_normals)[surface.faces[triangle]]
    return closest, distance, unit(np.einsum("nk,nkd->nd", weights, corners))


def closest_on_face(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, "sp.csr_matrix"]:
    """Exact closest points (N, 3) on the closed canonical face to canonical points (N, 3), their
    distances (N,), and (N, F) which triangles hold each closest point: the one it lies inside, both
    sides of the edge or every triangle round the corner it lies on. A search returns any one of those
    (which one, every machine's arithmetic decides); what follows from all of them does not vary."""
    import scipy.sparse as sp
    import trimesh

    surface, incidence = closed_face_surface()
    closest, distance, triangle, weights = closest_in_triangle(points)
    corners = surface.faces[triangle]
    support = weights > SUPPORT_WEIGHT                          # the corners the closest point depends on
    # how many of its point's supporting corners each triangle holds: those holding them all hold the point
    holds = sum(sp.diags(support[:, k].astype(float)) @ incidence[corners[:, k]] for k in range(3)).tocsr()
    rows = np.repeat(np.arange(len(points)), np.diff(holds.indptr))
    holds.data = (holds.data >= support.sum(1)[rows]).astype(float)
    holds.eliminate_zeros()
    return closest, distance, holds


def mean_normal(around: "sp.csr_matrix") -> np.ndarray:
    """(N, 3) unit mean normal of the closed face's triangles `around` (N, F) each point."""
    return unit(np.asarray(around @ closed_face_surface()[0].face_normals))


def over_face(points: np.ndarray) -> np.ndarray:
    """(V,) bool: which canonical points (V, 3) sit above the closed canonical face, by exact closest
    points onto it (the costly half of a binding, baked for library masks): within OVER_FACE_COSINE of
    the mean normal of the triangles that hold the closest point (`closest_on_face`)."""
    closest, _, around = closest_on_face(points)
    offset = points - closest
    cosine = np.einsum("ij,ij->i", offset, mean_normal(around)) / np.maximum(np.linalg.norm(offset, axis=1),
                                                                           DIRECTION_FLOOR)
    return cosine > OVER_FACE_COSINE


def bind(points: np.ndarray, above: np.ndarray | None = None) -> Binding:
    """The binding of canonical points (V, 3) to the face; `above` is their `over_face`, when known."""
    import scipy.sparse as sp
    from scipy.spatial import cKDTree

    face = canonical_face()
    distances, neighbours = cKDTree(face.vertices[:468]).query(points, k=NEIGHBOURS)
    weights = np.exp(-0.5 * ((distances - distances[:, :1]) / BLEND_SIGMA_CM) ** 2)
    weights /= weights.sum(1, keepdims=True)
    rows = np.repeat(np.arange(len(points)), NEIGHBOURS)
    blend = sp.csr_matrix((weights.ravel(), (rows, neighbours.ravel())), shape=(len(points), len(face.vertices)))
    _, near_skin = cKDTree(closed_face_vertices(face.vertices, closed_triangles()[1])).query(points, k=SKIN_CANDIDATES)
    _, near_oval = cKDTree(face.vertices[face.outer_loop]).query(points, k=OVAL_CANDIDATES)
    return Binding(neighbours, weights, over_face(points) if above is None else above, blend, near_skin, near_oval)


@lru_cache(maxsize=1)
def rest_triangle_normals() -> np.ndarray:
    """Area-weighted normals of the closed canonical face, at rest."""
    triangles, loops = closed_triangles()
    return triangle_normals(closed_face_vertices(canonical_face().vertices, loops), triangles)


@dataclass(frozen=True)
class Skin:
    """A fitted face's closed surface in canonical cm, prepared once for every part placed on it."""
    surface: np.ndarray          # closed-face vertices, deformed
    normals: np.ndarray          # their unit normals

    @classmethod
    def of(cls, fitted: FittedFace) -> "Skin":
        """The skin of a fitted face, prepared once for all its mask parts."""
        triangles, loops = closed_triangles()
        surface = closed_face_vertices(canonical_face().vertices + fitted.residual, loops)
        # Skin that a landmark fit folds over keeps its rest orientation, so its outside stays outside.
        deformed, rest = triangle_normals(surface, triangles), rest_triangle_normals()
        folded = np.einsum("ij,ij->i", deformed, rest) < 0
        deformed[folded] = rest[folded] * (np.linalg.norm(deformed[folded], axis=1) /
                                           np.maximum(np.linalg.norm(rest[folded], axis=1), LENGTH_FLOOR))[:, None]
        normals = vertex_normals(surface, triangles, deformed)
        return cls(surface, normals)


def nearest(points: np.ndarray, vertices: np.ndarray, candidates: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, k) squared distances and indices of the `k` of each point's (N, C) candidate `vertices`
    nearest it, nearest first."""
    offset = points[:, None] - vertices[candidates]
    squared = np.einsum("nck,nck->nc", offset, offset)
    order = np.argsort(squared, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(squared, order, 1), np.take_along_axis(candidates, order, 1)


def lifted(points: np.ndarray, skin: Skin, min_clearance: float, near_skin: np.ndarray) -> np.ndarray:
    """Points raised along the skin's normal until they are `min_clearance` above the tangent planes
    of their nearest face vertices (a conservative height over a curved face), found among their
    (N, C) `near_skin` candidates."""
    _, near = nearest(points, skin.surface, near_skin, CLEARANCE_NEIGHBOURS)
    height = np.einsum("vkd,vkd->vk", points[:, None] - skin.surface[near], skin.normals[near]).min(1)
    return points + np.maximum(min_clearance - height, 0.0)[:, None] * skin.normals[near[:, 0]]


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


def held_off_rim(points: np.ndarray, skin: Skin, min_clearance: float, near_oval: np.ndarray) -> np.ndarray:
    """Points that the expression or pose has brought over the triangles at the face's rim (beside the
    jaw, the temples), raised to `min_clearance` above them, by exact closest points on the triangles
    around their nearest oval vertices, found among their (N, C) `near_oval` candidates."""
    triangles, _ = closed_triangles()
    surface = skin.surface
    oval, fans = rim_fans()
    squared, nearest_oval = nearest(points, surface[oval], near_oval, RIM_FANS)
    near = np.flatnonzero(squared[:, 0] < RIM_REACH_CM ** 2)
    if len(near) == 0:
        return points
    # Oval vertices out of reach stand in for the nearest one.
    reached = np.where(squared[near] < RIM_REACH_CM ** 2, nearest_oval[near], nearest_oval[near, :1])
    candidates = fans[reached].reshape(len(near), -1)
    candidates = np.where(candidates < 0, candidates.max(1, keepdims=True), candidates)
    pairs = np.repeat(points[near], candidates.shape[1], axis=0)
    closest = closest_points_on_triangles(pairs, surface[triangles[candidates.ravel()]])
    offset = points[near, None] - closest.reshape(len(near), -1, 3)
    length = np.linalg.norm(offset, axis=2)
    best = length.argmin(1)
    rows = np.arange(len(near))
    normals = unit(triangle_normals(surface, triangles[candidates[rows, best]]))
    height = np.einsum("vd,vd->v", offset[rows, best], normals)
    over = np.abs(height) >= OVER_FACE_COSINE * length[rows, best]
    points = points.copy()
    points[near] += np.where(over, np.maximum(min_clearance - height, 0.0), 0.0)[:, None] * normals
    return points


def followed(points: np.ndarray, binding: Binding, fitted: FittedFace) -> np.ndarray:
    """Canonical points moved as the fitted face's expression moves the landmarks they are bound to."""
    return points + binding.blend @ fitted.residual


def place(points: np.ndarray, binding: Binding, fitted: FittedFace, skin: Skin,
          min_clearance: float = MIN_CLEARANCE_CM) -> np.ndarray:
    """Image-space positions of canonical mask points on a fitted face whose skin is `Skin.of(fitted)`."""
    moved = followed(points, binding, fitted)
    over, beside = binding.over_face, ~binding.over_face
    moved[over] = lifted(moved[over], skin, min_clearance, binding.near_skin[over])
    moved[beside] = held_off_rim(moved[beside], skin, min_clearance, binding.near_oval[beside])
    return fitted.to_image(moved)
