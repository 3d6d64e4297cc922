"""Placed mask: bind canonical mask vertices to the face, then follow a fitted face.

A binding is computed once per mask part (automatically, so user masks need nothing more):
each vertex follows a Gaussian blend of its nearest landmarks' expression offsets, and each
vertex that lies over the face keeps its anchor on the face surface so that it can be held at
least `min_clearance` above the skin whatever the expression.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from render3d.fitting import FittedFace
from render3d.topology import canonical_face, closed_triangles

NEIGHBOURS = 12
BLEND_SIGMA_CM = 1.5
OVER_FACE_COSINE = 0.9       # offset this parallel to the surface normal = the vertex is over the face
MIN_CLEARANCE_CM = 0.08


@dataclass(frozen=True)
class Binding:
    neighbours: np.ndarray       # (V, K) landmark indices
    weights: np.ndarray          # (V, K) blend weights, rows sum to 1
    over_face: np.ndarray        # (V,) bool: the vertex sits above the face surface
    anchor_triangle: np.ndarray  # (V,) index into the closed face triangles
    anchor_bary: np.ndarray      # (V, 3) barycentric coordinates of the anchor


def closed_face_vertices(vertices: np.ndarray, hole_loops: list[np.ndarray]) -> np.ndarray:
    """The 468 face vertices followed by one centroid per filled hole."""
    return np.concatenate([vertices[:468], [vertices[loop].mean(0) for loop in hole_loops]])


def bind(points: np.ndarray) -> Binding:
    face = canonical_face()
    triangles, loops = closed_triangles()
    surface = trimesh.Trimesh(closed_face_vertices(face.vertices, loops), triangles, process=False)
    distances, neighbours = cKDTree(face.vertices[:468]).query(points, k=NEIGHBOURS)
    weights = np.exp(-0.5 * ((distances - distances[:, :1]) / BLEND_SIGMA_CM) ** 2)
    weights /= weights.sum(1, keepdims=True)
    closest, _, triangle = trimesh.proximity.closest_point(surface, points)
    offset = points - closest
    length = np.linalg.norm(offset, axis=1)
    cosine = np.einsum("ij,ij->i", offset, surface.face_normals[triangle]) / np.maximum(length, 1e-9)
    bary = trimesh.triangles.points_to_barycentric(surface.triangles[triangle], closest)
    return Binding(neighbours, weights, cosine > OVER_FACE_COSINE, triangle, bary)


def triangle_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    v0, v1, v2 = (vertices[triangles[:, k]] for k in range(3))
    normals = np.cross(v1 - v0, v2 - v0)
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)


def clearance(points: np.ndarray, binding: Binding, face_vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signed height of each point above its anchor on a (deformed) canonical face (NaN off the face),
    and the anchors' normals."""
    triangles, loops = closed_triangles()
    surface = closed_face_vertices(face_vertices, loops)
    corners = surface[triangles[binding.anchor_triangle]]
    anchors = np.einsum("vk,vkd->vd", binding.anchor_bary, corners)
    normals = triangle_normals(surface, triangles)[binding.anchor_triangle]
    height = np.einsum("ij,ij->i", points - anchors, normals)
    return np.where(binding.over_face, height, np.nan), normals


def place(points: np.ndarray, binding: Binding, fitted: FittedFace,
          min_clearance: float = MIN_CLEARANCE_CM) -> np.ndarray:
    """Image-space positions of canonical mask points on a fitted face."""
    deformed_face = canonical_face().vertices + fitted.residual
    moved = points + np.einsum("vk,vkd->vd", binding.weights, fitted.residual[binding.neighbours])
    height, normals = clearance(moved, binding, deformed_face)
    lift = np.where(np.isnan(height), 0.0, np.maximum(min_clearance - np.nan_to_num(height), 0.0))
    return fitted.to_image(moved + lift[:, None] * normals)
