"""Ear loops and head straps: tubes and flat bands routed along the head, clear of the skin."""
from __future__ import annotations

import numpy as np
import trimesh

from render3d.assetgen.face import BUILD_CLEARANCE_CM, Face, head_axis_z
from render3d.assetgen.shaping import Sheet
from render3d.face.fitting import EAR_HOOK
from render3d.geometry import grid_triangles, unit
from render3d.tolerances import DIRECTION_FLOOR


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


LOOP_LEAD_CM = 0.8             # how far an ear loop runs on in the fabric's own direction past its corner


def ear_loops(face: Face, sheet: Sheet, radius: float | tuple[float, float] = 0.16) -> tuple[np.ndarray, ...]:
    """Elastic loops from the sheet's side corners hooked behind each ear (over the root's top,
    down the groove between ear and head, under the lobe: `EAR_HOOK`); a (width, thickness) pair
    of half sizes makes flat bands."""
    rows, cols = sheet.shape
    normals = sheet.normals()
    lift = standoff(radius) - BUILD_CLEARANCE_CM
    pieces = []
    for col, inner, out in ((1, 3, -1.0), (cols - 2, cols - 4, 1.0)):
        ends = []
        for row in (1, rows - 2):
            end = sheet.points[row, col] + lift * normals[row, col]
            # The loop leaves the corner as the fabric runs there, on toward the ear: no kink at the hem.
            along = sheet.points[row, col] - sheet.points[row, inner]
            ends.append((end, end + LOOP_LEAD_CM * unit(along)))
        (upper, upper_lead), (lower, lower_lead) = ends
        ring = EAR_HOOK * [out, 1.0, 1.0]
        path = spline(np.vstack([upper, upper_lead, *ring, lower_lead, lower]), 0.2)
        pieces.append(tube(hold_off(face, path, standoff(radius)), radius, head_axis_z(face.landmarks)))
    return merge(pieces)



def head_strap(face: Face, start: np.ndarray, end: np.ndarray, bow: np.ndarray,
               radius: tuple[float, float]) -> tuple[np.ndarray, ...]:
    """A flat strap from a point on the mask back along the head to `end`, bowed by `bow`."""
    path = spline(np.vstack([start, (start + end) / 2 + bow, end]), 0.2)
    return tube(hold_off(face, path, standoff(radius)), radius, head_axis_z(face.landmarks))
