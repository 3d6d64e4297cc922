"""Mask parts: meshes with texture coordinates and normals, from sheets and surfaces of revolution."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import RegularGridInterpolator

from render3d.assetgen.shaping import Sheet
from render3d.geometry import grid_triangles, vertex_normals


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
