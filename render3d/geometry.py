"""Geometry shared by every stage: axis flips between frames, unit vectors, mesh normals, alpha.

Frames: the canonical face is in centimetres with y up and z toward the camera; image space is in
pixels with y down and z away from the camera; the camera frame (normals, lighting) has y up and z
toward the camera. Each flip between them is a half turn about x, `FLIP_YZ`, its own inverse.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from render3d.tolerances import ALPHA_FLOOR, LENGTH_FLOOR

ZERO_NORMAL = 1e-13            # summed normals this short (trimesh's zero) give a zero vertex normal

FLIP_YZ = np.diag([1.0, -1.0, -1.0])
AXIS_SIGNS = np.array([1.0, -1.0, -1.0])


def flip_yz(vectors: np.ndarray) -> np.ndarray:
    """(..., 3) points or directions with y and z negated: image axes <-> camera frame or canonical axes."""
    return vectors * AXIS_SIGNS


def unit(vectors: np.ndarray) -> np.ndarray:
    """(N, D) vectors scaled to unit length along the last axis (zero vectors stay zero)."""
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), LENGTH_FLOOR)


def grid_triangles(rows: int, cols: int) -> np.ndarray:
    """Two triangles per grid cell, counter-clockwise seen from the front (u right, v down)."""
    index = np.arange(rows * cols).reshape(rows, cols)
    a, b, c, d = index[:-1, :-1], index[:-1, 1:], index[1:, :-1], index[1:, 1:]
    return np.concatenate([np.stack([a, c, b], -1).reshape(-1, 3),
                           np.stack([b, c, d], -1).reshape(-1, 3)]).astype(np.int32)


def triangle_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(T, 3) area-weighted (unnormalised: twice the area long) normals of (T, 3) triangles over (V, 3) vertices."""
    v0, v1, v2 = (vertices[triangles[:, k]] for k in range(3))
    return np.cross(v1 - v0, v2 - v0)


def vertex_normals(vertices: np.ndarray, triangles: np.ndarray,
                   face_normals: np.ndarray | None = None) -> np.ndarray:
    """(V, 3) area-weighted unit vertex normals (from (T, 3) `face_normals` when given); zero at vertices
    that no triangle holds.

    The mean of area-weighted face normals (not trimesh's `Trimesh.vertex_normals`, which weights by
    corner angle), which the masks and their bindings were built with; summed in triangle order and
    scaled as `trimesh.geometry.mean_vertex_normals` does, so that it gives the same bits."""
    face_normals = triangle_normals(vertices, triangles) if face_normals is None else face_normals
    summed = np.zeros((len(vertices), 3), face_normals.dtype)
    np.add.at(summed, triangles.ravel(), np.repeat(face_normals, triangles.shape[1], axis=0))
    length = np.sqrt(np.dot(summed * summed, [1.0, 1.0, 1.0]))
    return summed * np.divide(1.0, length, out=np.zeros_like(length), where=length > ZERO_NORMAL)[:, None]


def unpremultiply(premultiplied: np.ndarray, min_alpha: float = ALPHA_FLOOR) -> np.ndarray:
    """(h, w, 4) premultiplied RGBA -> straight RGBA, alpha clipped to [0, 1], colour clipped to [0, 1]
    and black where alpha is `min_alpha` or less.

    Blurred coverage fades out in tails below `ALPHA_FLOOR` that hold no meaningful colour; a stack of
    renders keeps the colour of every covered pixel (`min_alpha=0`), since it goes on to compression."""
    alpha = np.clip(premultiplied[..., 3:], 0, 1)
    rgb = np.where(alpha > min_alpha, premultiplied[..., :3] / np.maximum(alpha, ALPHA_FLOOR), 0.0)
    return np.concatenate([np.clip(rgb, 0, 1), alpha], axis=2).astype(premultiplied.dtype, copy=False)


class Window(NamedTuple):
    """A rectangle of image pixels: its top-left corner (x, y) and its size, in whole pixels."""
    x: int
    y: int
    width: int
    height: int

    @property
    def slices(self) -> tuple[slice, slice]:
        """(rows, columns) that cut the window out of an (H, W, ...) image."""
        return slice(self.y, self.y + self.height), slice(self.x, self.x + self.width)

    @classmethod
    def from_corners(cls, x0: int, y0: int, x1: int, y1: int) -> "Window":
        """The window from (x0, y0) up to, not including, (x1, y1)."""
        return cls(x0, y0, x1 - x0, y1 - y0)

    @classmethod
    def around(cls, xy: np.ndarray, shape: tuple[int, int], margin: int) -> "Window | None":
        """The whole-pixel window around (N, 2) image points, `margin` pixels wider on every side,
        clipped to an image of `shape` (H, W); None when nothing of it is inside the image."""
        h, w = shape
        x0 = max(0, math.floor(xy[:, 0].min()) - margin)
        y0 = max(0, math.floor(xy[:, 1].min()) - margin)
        x1 = min(w, math.ceil(xy[:, 0].max()) + margin)
        y1 = min(h, math.ceil(xy[:, 1].max()) + margin)
        return cls.from_corners(x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None

    def overlap(self, other: "Window") -> "tuple[tuple[slice, slice], tuple[slice, slice]] | None":
        """Where this window and `other` meet: the (rows, columns) slices of that part in an image of this
        window and in one of `other`; None when they do not meet."""
        x0, y0 = max(self.x, other.x), max(self.y, other.y)
        x1, y1 = min(self.x + self.width, other.x + other.width), min(self.y + self.height, other.y + other.height)
        if x1 <= x0 or y1 <= y0:
            return None
        return ((slice(y0 - self.y, y1 - self.y), slice(x0 - self.x, x1 - self.x)),
                (slice(y0 - other.y, y1 - other.y), slice(x0 - other.x, x1 - other.x)))

    @classmethod
    def union(cls, windows: list["Window"]) -> "Window":
        """The smallest window holding all of `windows`."""
        x0, y0 = min(w.x for w in windows), min(w.y for w in windows)
        x1, y1 = max(w.x + w.width for w in windows), max(w.y + w.height for w in windows)
        return cls.from_corners(x0, y0, x1, y1)


def closest_points_on_triangles(points: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """(N, 3) closest point to each of (N, 3) `points` on its triangle of (N, 3, 3) `corners` a, b, c, by
    the triangle's Voronoi regions (vertex, edge or face; Ericson, Real-Time Collision Detection, 5.1.5),
    as a + s (b - a) + t (c - a)."""
    a = corners[:, 0]
    ab, ac = corners[:, 1] - a, corners[:, 2] - a
    ap = points - a
    d1, d2 = np.einsum("ij,ij->i", ab, ap), np.einsum("ij,ij->i", ac, ap)
    ab_ab, ab_ac, ac_ac = np.einsum("ij,ij->i", ab, ab), np.einsum("ij,ij->i", ab, ac), np.einsum("ij,ij->i", ac, ac)
    d3, d4 = d1 - ab_ab, d2 - ab_ac          # the same products from b
    d5, d6 = d1 - ab_ac, d2 - ac_ac          # and from c
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2

    def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
        return numerator / np.where(np.abs(denominator) > LENGTH_FLOOR, denominator, LENGTH_FLOOR)

    on_bc = ratio(d4 - d3, (d4 - d3) + (d5 - d6))
    # An edge region holds only an edge with a length, so that a degenerate triangle is its longest edge.
    regions = [(d1 <= 0) & (d2 <= 0), (d3 >= 0) & (d4 <= d3), (vc <= 0) & (d1 >= 0) & (d3 <= 0) & (ab_ab > 0),
               (d6 >= 0) & (d5 <= d6), (vb <= 0) & (d2 >= 0) & (d6 <= 0) & (ac_ac > 0),
               (va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0) & ((d4 - d3) + (d5 - d6) > 0)]
    zero, one = np.zeros_like(d1), np.ones_like(d1)
    total = va + vb + vc
    s = np.select(regions, [zero, one, ratio(d1, d1 - d3), zero, zero, 1 - on_bc], ratio(vb, total))
    t = np.select(regions, [zero, zero, zero, one, ratio(d2, d2 - d6), on_bc], ratio(vc, total))
    return a + s[:, None] * ab + t[:, None] * ac
