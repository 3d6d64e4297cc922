"""The canonical face: landmark positions, triangles and their boundary loops.

Loaded from `assets/meshes/canonical_face.obj` (built by `render3d.assetgen.canonical`).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from render3d._paths import MESHES_DIR


@dataclass(frozen=True)
class CanonicalFace:
    """The canonical face mesh (centimetres; x subject's left, y up, z toward the camera; origin landmark 168)."""
    vertices: np.ndarray        # (478, 3) cm: x subject's left, y up, z toward camera
    triangles: np.ndarray       # (854, 3) over the first 468 vertices, normals facing out
    outer_loop: np.ndarray      # face oval, ordered
    hole_loops: tuple           # mouth and both eyes, each ordered


def read_obj_vertices_faces(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and triangles of an OBJ text, keeping unreferenced vertices."""
    vertices, faces = [], []
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "v":
            vertices.append([float(p) for p in parts[1:4]])
        elif parts and parts[0] == "f":
            faces.append([int(p.split("/")[0]) - 1 for p in parts[1:4]])
    return np.array(vertices), np.array(faces, dtype=np.int32)


def boundary_loops(triangles: np.ndarray) -> list[np.ndarray]:
    """Ordered loops of edges used by one triangle only, longest first."""
    edges = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    undirected = {}
    for a, b in edges:
        undirected[(min(a, b), max(a, b))] = undirected.get((min(a, b), max(a, b)), 0) + 1
    # Directed boundary edges keep the triangle's winding, so each loop can be walked a -> b.
    following = {int(a): int(b) for a, b in edges if undirected[(min(a, b), max(a, b))] == 1}
    loops = []
    while following:
        start = min(following)
        loop = [start]
        while following[loop[-1]] != start:
            loop.append(following.pop(loop[-1]))
        following.pop(loop[-1])
        loops.append(np.array(loop))
    return sorted(loops, key=len, reverse=True)


@lru_cache(maxsize=1)
def canonical_face() -> CanonicalFace:
    """The canonical face, loaded once from `assets/meshes/canonical_face.obj`."""
    vertices, triangles = read_obj_vertices_faces((MESHES_DIR / "canonical_face.obj").read_text())
    loops = boundary_loops(triangles)
    return CanonicalFace(vertices, triangles, loops[0], tuple(loops[1:]))


@lru_cache(maxsize=1)
def closed_triangles() -> tuple[np.ndarray, tuple]:
    """Canonical triangles with the mouth and eye holes filled, and the loops whose centroids are new vertices.

    Each hole is closed by a fan around its centroid; the centroid of loop k becomes
    vertex 468 + k, so callers append `vertices[loop].mean(0)` for each returned loop.
    """
    face = canonical_face()
    fans = []
    for k, loop in enumerate(face.hole_loops):
        centre = 468 + k
        # A hole loop runs opposite to the surrounding triangles' winding.
        fans.append(np.stack([loop[::-1], np.roll(loop[::-1], -1), np.full(len(loop), centre)], 1))
    return np.concatenate([face.triangles, *fans]).astype(np.int32), face.hole_loops
