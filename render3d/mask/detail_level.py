"""Level of detail: a mask part's grid thinned to the pixels a face covers.

A body generated as a grid sheet (V = rows x cols vertices, two triangles a cell, as
`assetgen.shaping.grid_triangles` lays them) has rows and columns far closer than a pixel on a small
face. Its coarser level keeps the first and last row and column, every row and column that lies
`SPACING_PX` on from the last kept one, and every one that bends more than `BEND_PX` away from the chord
of its neighbours (folds, pleats and the outline's corners). Parts that are not such grids, and loops
and straps (whose grid columns run round a cord a pixel thick), are drawn as they are.
Preconditions: `scale` is the face's pixels per canonical cm (`FittedFace.scale`).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from render3d.geometry import grid_triangles
from render3d.mask.library import MaskPart

SPACING_PX = 3.0        # kept rows (columns) lie at least this far apart on the face, in pixels...
BEND_PX = 0.35          # ...unless one strays more than this from the chord of its neighbours
SCALE_STEPS = 4         # levels per doubling of the face's scale (the cache holds a few levels a part)
MAX_PARTS_CACHED = 256

_levels: dict[int, tuple[MaskPart, tuple[int, int] | None, dict[int, MaskPart]]] = {}


def grid_shape(part: MaskPart) -> tuple[int, int] | None:
    """(rows, cols) when the part's triangles are exactly a rows x cols grid's, else None."""
    vertices, triangles = len(part.vertices), part.triangles
    if len(triangles) < 2:
        return None
    cols = int(triangles[0][1])             # a grid's first triangle is (0, cols, 1)
    if cols < 2 or vertices % cols or vertices // cols < 2:
        return None
    rows = vertices // cols
    grid = grid_triangles(rows, cols)
    return (rows, cols) if grid.shape == triangles.shape and np.array_equal(grid, triangles) else None


def kept_lines(lines: np.ndarray, spacing: float, bend: float) -> np.ndarray:
    """Indices of the (N, M, 3) grid lines (rows, or columns transposed) to keep: the first and last, then
    each one `spacing` on from the last kept, or straying `bend` from the chord to the next."""
    kept = [0]
    for index in range(1, len(lines) - 1):
        last, here, after = lines[kept[-1]], lines[index], lines[index + 1]
        apart = np.linalg.norm(after - last, axis=1).max()
        # distance of this line from the straight chord between the last kept line and the next one
        along = np.clip(np.einsum("md,md->m", here - last, after - last) / np.maximum(
            np.einsum("md,md->m", after - last, after - last), 1e-12), 0.0, 1.0)
        stray = np.linalg.norm(last + along[:, None] * (after - last) - here, axis=1).max()
        if apart > spacing or stray > bend:
            kept.append(index)
    kept.append(len(lines) - 1)
    return np.asarray(kept)


def coarsened(part: MaskPart, shape: tuple[int, int], scale: float) -> MaskPart:
    """The part's grid thinned for a face of `scale` pixels per cm (the part itself when nothing goes)."""
    rows, cols = shape
    grid = part.vertices.reshape(rows, cols, 3)
    keep_rows = kept_lines(grid, SPACING_PX / scale, BEND_PX / scale)
    keep_cols = kept_lines(grid.transpose(1, 0, 2), SPACING_PX / scale, BEND_PX / scale)
    if len(keep_rows) == rows and len(keep_cols) == cols:
        return part
    index = (keep_rows[:, None] * cols + keep_cols[None, :]).ravel()
    return replace(part, vertices=part.vertices[index], normals=part.normals[index], uvs=part.uvs[index],
                   triangles=grid_triangles(len(keep_rows), len(keep_cols)), occlusion=part.occlusion[index],
                   binding=part.binding.of_vertices(index))


def at_scale(part: MaskPart, scale: float) -> MaskPart:
    """`part` at the level of detail of a face of `scale` pixels per canonical cm."""
    if not part.recolor or not np.isfinite(scale) or scale <= 0:       # loops and straps keep their section
        return part
    if id(part) not in _levels:
        while len(_levels) >= MAX_PARTS_CACHED:
            _levels.pop(next(iter(_levels)))
        _levels[id(part)] = (part, grid_shape(part), {})      # the part is held so that its id stays its own
    _, shape, levels = _levels[id(part)]
    if shape is None:
        return part
    step = int(np.floor(np.log2(scale) * SCALE_STEPS))
    if step not in levels:
        levels[step] = coarsened(part, shape, 2.0 ** (step / SCALE_STEPS))
    return levels[step]
