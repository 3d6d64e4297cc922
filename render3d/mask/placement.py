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
import trimesh
from scipy.spatial import cKDTree

from render3d.face.fitting import FittedFace
from render3d.face.topology import canonical_face, closed_triangles
from render3d.geometry import triangle_normals, unit, vertex_normals
from render3d.tolerances import DIRECTION_FLOOR, LENGTH_FLOOR

NEIGHBOURS = 12
BLEND_SIGMA_CM = 1.5
OVER_FACE_COSINE = 0.9       # offset this parallel to the surface normal = the vertex is over the face
MIN_CLEARANCE_CM = 0.08
CLEARANCE_NEIGHBOURS = 4
RIM_REACH_CM = 2.0
RIM_FANS = 3                 # oval vertices whose triangles are searched for a point near the rim


@dataclass(frozen=True)
class Binding:
    """How each mask vertex follows the face: its blended landmarks and whether it sits above the skin."""
    neighbours: np.ndarray       # (V, K) landmark indices
    weights: np.ndarray          # (V, K) blend weights, rows sum to 1
    over_face: np.ndarray        # (V,) bool: the vertex sits above the face surface


def closed_face_vertices(vertices: np.ndarray, hole_loops: list[np.ndarray]) -> np.ndarray:
    """The 468 face vertices followed by one centroid per filled hole."""
    return np.concatenate([vertices[:468], [vertices[loop].mean(0) for loop in hole_loops]])


def bind(points: np.ndarray) -> Binding:
    """The binding of (V, 3) canonical-cm mask points to the canonical face (computed once per mask part)."""
    face = canonical_face()
    triangles, loops = closed_triangles()
    surface = trimesh.Trimesh(closed_face_vertices(face.vertices, loops), triangles, process=False)
    distances, neighbours = cKDTree(face.vertices[:468]).query(points, k=NEIGHBOURS)
    weights = np.exp(-0.5 * ((distances - distances[:, :1]) / BLEND_SIGMA_CM) ** 2)
    weights /= weights.sum(1, keepdims=True)
    closest, _, triangle = trimesh.proximity.closest_point(surface, points)
    offset = points - closest
    length = np.linalg.norm(offset, axis=1)
    cosine = np.einsum("ij,ij->i", offset, surface.face_normals[triangle]) / np.maximum(length, DIRECTION_FLOOR)
    return Binding(neighbours, weights, cosine > OVER_FACE_COSINE)


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
    tree: cKDTree                # over `surface`
    oval_tree: cKDTree           # over the face oval's vertices

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
        return cls(surface, normals, cKDTree(surface), cKDTree(surface[canonical_face().outer_loop]))


def lifted(points: np.ndarray, skin: Skin, min_clearance: float) -> np.ndarray:
    """Points raised along the skin's normal until they are `min_clearance` above the tangent planes
    of their nearest face vertices (a conservative height over a curved face)."""
    _, nearest = skin.tree.query(points, k=CLEARANCE_NEIGHBOURS)
    height = np.einsum("vkd,vkd->vk", points[:, None] - skin.surface[nearest], skin.normals[nearest]).min(1)
    return points + np.maximum(min_clearance - height, 0.0)[:, None] * skin.normals[nearest[:, 0]]


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
    closest = trimesh.triangles.closest_point(surface[triangles[candidates.ravel()]], pairs)
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


def place(points: np.ndarray, binding: Binding, fitted: FittedFace, skin: Skin,
          min_clearance: float = MIN_CLEARANCE_CM) -> np.ndarray:
    """Image-space positions of canonical mask points on a fitted face whose skin is `Skin.of(fitted)`."""
    moved = points + np.einsum("vk,vkd->vd", binding.weights, fitted.residual[binding.neighbours])
    moved[binding.over_face] = lifted(moved[binding.over_face], skin, min_clearance)
    moved[~binding.over_face] = held_off_rim(moved[~binding.over_face], skin, min_clearance)
    return fitted.to_image(moved)
