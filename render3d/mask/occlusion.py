"""Ambient occlusion per mask vertex, baked once per mask part in canonical space.

Every triangle of the mask and of the (closed) canonical face acts as a small disc occluder. A
vertex is occluded by the discs in front of its tangent plane, each by its approximate form
factor `area * cos(receiver) * |cos(emitter)| / (pi d^2 + area)`. Folds, the sides of the nose and
the skin rising beside the mask's edge darken; flat and convex fabric stays lit. The mask follows
the face almost rigidly, so the canonical bake holds for every placement.
"""
from __future__ import annotations

import numpy as np

from render3d.face.topology import canonical_face, closed_triangles
from render3d.geometry import unit
from render3d.mask.placement import closed_face_vertices
from render3d.tolerances import COINCIDENT_CM, DIRECTION_FLOOR, LENGTH_FLOOR

NEIGHBOURS = 64                # the nearest discs that occlude a vertex
RANK_FADE = 0.1                # discs within this share of the next one's distance fade out, so which of two about
                               # equally far discs is the 64th (a machine's last bits decide) changes nothing
RADIUS_CM = 3.0
STRENGTH = 0.9                 # fraction of the occluded form factor that darkens
MIN_AO = 0.35


def discs(vertices: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centroids, unit normals and areas of the triangles."""
    corners = vertices[triangles]
    cross = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    area = 0.5 * np.linalg.norm(cross, axis=1)
    return corners.mean(1), cross / np.maximum(2 * area[:, None], LENGTH_FLOOR), area


def vertex_occlusion(points: np.ndarray, normals: np.ndarray, centres: np.ndarray, disc_normals: np.ndarray,
                     areas: np.ndarray) -> np.ndarray:
    """(V,) ambient visibility in [MIN_AO, 1] of oriented points among disc occluders."""
    from scipy.spatial import cKDTree

    distance, index = cKDTree(centres).query(points, k=min(NEIGHBOURS + 1, len(centres)),
                                             distance_upper_bound=RADIUS_CM)
    # Where fewer than NEIGHBOURS + 1 discs lie within the radius, none fades (the next is taken 2 radii off).
    next_nearest = np.where(np.isfinite(distance[:, -1:]), distance[:, -1:], 2 * RADIUS_CM)
    rank_fade = np.clip((next_nearest - np.minimum(distance, next_nearest)) / (RANK_FADE * next_nearest), 0.0, 1.0)
    valid = np.isfinite(distance) & (distance > COINCIDENT_CM)
    index = np.where(valid, index, 0)
    offset = centres[index] - points[:, None]
    direction = offset / np.maximum(np.linalg.norm(offset, axis=2, keepdims=True), DIRECTION_FLOOR)
    receiver = np.maximum(np.einsum("vkd,vd->vk", direction, normals), 0.0)
    emitter = np.abs(np.einsum("vkd,vkd->vk", direction, disc_normals[index]))
    area = areas[index]
    form = np.where(valid, area * receiver * emitter / (np.pi * np.where(valid, distance, 1.0) ** 2 + area), 0.0)
    # Fade near the search radius and the neighbour count, so the bake does not depend on either cut-off.
    form *= np.clip(1.5 - np.where(valid, distance, RADIUS_CM) / RADIUS_CM * 1.5, 0.0, 1.0) ** 0.5 * rank_fade
    return np.clip(1.0 - STRENGTH * form.sum(1), MIN_AO, 1.0)


def bake_occlusion(vertices: np.ndarray, normals: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(V,) float32 ambient visibility of a mask part's canonical vertices (V, 3), with their normals
    (V, 3) and triangles (T, 3), among its own triangles and the closed canonical face's."""
    face = canonical_face()
    face_triangles, loops = closed_triangles()
    mask_discs = discs(vertices, triangles)
    face_discs = discs(closed_face_vertices(face.vertices, loops), face_triangles)
    centres, disc_normals, areas = (np.concatenate(pair) for pair in zip(mask_discs, face_discs))
    return vertex_occlusion(vertices, unit(normals), centres, disc_normals, areas).astype(np.float32)
