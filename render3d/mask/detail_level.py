"""Level of detail: a mask part's grid thinned to the pixels a face covers.

A body generated as a grid sheet (V = rows x cols vertices, two triangles a cell, as
`assetgen.shaping.grid_triangles` lays them) has rows and columns far closer than a pixel on a small
face. Its coarser level keeps the first and last row and column, every row and column that lies
`SPACING_PX` on from the last kept one, and every one that bends more than `BEND_PX` away from the chord
of its neighbours (folds, pleats and the outline's corners). A part that is not recoloured (loops and
straps, tubes laid one grid after another, their columns round a cord a pixel thick; a valve) keeps its
columns, its section: only its rows, along it, are thinned. Parts that are not such grids are drawn as
they are.
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

_levels: dict[int, tuple[MaskPart, list[tuple[int, int]] | None, dict[int, MaskPart]]] = {}


def grid_pieces(part: MaskPart) -> list[tuple[int, int]] | None:
    """(rows, cols) of each grid the part's triangles are, one after the other in its vertices and
    triangles (a single body's grid, or the tubes of a pair of loops), or None when they are not."""
    triangles, pieces, first, done = part.triangles, [], 0, 0
    while done < len(triangles):
        cols = int(triangles[done][1]) - first     # a grid's first triangle is (0, cols, 1)
        # its first cell's other triangle (1, cols, cols + 1) opens the second half of its triangles
        other = np.flatnonzero((triangles[done:] == [first + 1, first + cols, first + cols + 1]).all(1))
        if cols < 2 or not len(other) or other[0] % (cols - 1):
            return None
        rows = int(other[0]) // (cols - 1) + 1
        grid = grid_triangles(rows, cols) + first
        if not np.array_equal(triangles[done:done + len(grid)], grid):
            return None
        pieces.append((rows, cols))
        first, done = first + rows * cols, done + len(grid)
    return pieces if pieces and first == len(part.vertices) else None


def grid_shape(part: MaskPart) -> tuple[int, int] | None:
    """(rows, cols) when the part's triangles are exactly a rows x cols grid's, else None."""
    pieces = grid_pieces(part)
    return pieces[0] if pieces is not None and len(pieces) == 1 else None


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


def coarsened(part: MaskPart, pieces: list[tuple[int, int]], scale: float) -> MaskPart:
    """The part's grids thinned for a face of `scale` pixels per cm (the part itself when nothing goes):
    rows and columns of a recoloured part, rows alone of another."""
    kept, triangles, first = [], [], 0
    for rows, cols in pieces:
        grid = part.vertices[first:first + rows * cols].reshape(rows, cols, 3)
        keep_rows = kept_lines(grid, SPACING_PX / scale, BEND_PX / scale)
        keep_cols = kept_lines(grid.transpose(1, 0, 2), SPACING_PX / scale, BEND_PX / scale) if part.recolor \
            else np.arange(cols)
        triangles.append(grid_triangles(len(keep_rows), len(keep_cols)) + sum(map(len, kept)))
        kept.append(first + (keep_rows[:, None] * cols + keep_cols[None, :]).ravel())
        first += rows * cols
    index = np.concatenate(kept)
    if len(index) == len(part.vertices):
        return part
    return replace(part, vertices=part.vertices[index], normals=part.normals[index], uvs=part.uvs[index],
                   triangles=np.concatenate(triangles), occlusion=part.occlusion[index],
                   binding=part.binding.of_vertices(index))


def at_scale(part: MaskPart, scale: float) -> MaskPart:
    """`part` at the level of detail of a face of `scale` pixels per canonical cm."""
    if not np.isfinite(scale) or scale <= 0:
        return part
    if id(part) not in _levels:
        while len(_levels) >= MAX_PARTS_CACHED:
            _levels.pop(next(iter(_levels)))
        _levels[id(part)] = (part, grid_pieces(part), {})      # the part is held so that its id stays its own
    _, pieces, levels = _levels[id(part)]
    if pieces is None:
        return part
    step = int(np.floor(np.log2(scale) * SCALE_STEPS))
    if step not in levels:
        levels[step] = coarsened(part, pieces, 2.0 ** (step / SCALE_STEPS))
    return levels[step]
