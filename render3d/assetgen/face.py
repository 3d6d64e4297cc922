"""The canonical face that masks are shaped around and checked on, and ray casting onto it.

Canonical cm: x the subject's left, y up, z toward the camera.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from render3d.face.landmark_sets import JAW
from render3d.face.topology import boundary_loops, read_obj_vertices_faces
from render3d.tolerances import ON_EDGE

# The assets keep this clear of the canonical skin: more than the floor that placement holds on every
# fitted face (`render3d.mask.placement.MIN_CLEARANCE_CM`), so a deformed face has room to take.
BUILD_CLEARANCE_CM = 0.1


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
