"""Level of detail: library bodies thinned to a small face's pixels keep their outline and folds, loops
their section."""
import cv2
import numpy as np
import pytest

from render3d.mask.detail_level import at_scale, grid_pieces, grid_shape
from render3d.mask.library import available_masks, load_mask


@pytest.fixture(scope="module")
def surgical():
    return load_mask(available_masks()["surgical"])


def silhouette(part, scale: float) -> np.ndarray:
    """(H, W) bool: the part's triangles seen from the front at `scale` pixels per cm."""
    xy = (part.vertices[:, :2] * [1, -1] - [-12, -10]) * scale
    image = np.zeros((int(24 * scale), int(24 * scale)), np.uint8)
    cv2.fillPoly(image, list(np.round(xy[part.triangles] * 8).astype(np.int32)), 1, lineType=cv2.LINE_8, shift=3)
    return image.astype(bool)


def test_library_bodies_are_grids_and_loops_are_thinned_along_their_length_only(surgical):
    body, loops = surgical.parts
    assert grid_shape(body) == (65, 81)
    pieces = grid_pieces(loops)
    assert len(pieces) == 2 and len(set(pieces)) == 1 and pieces[0][1] == 9 and grid_shape(loops) is None
    rows = pieces[0][0]
    coarse = at_scale(loops, 5.0)
    assert len(coarse.triangles) < len(loops.triangles) / 2
    # Whole rings of the cord are kept (its section), each loop's two ends among them.
    rings, kept = loops.vertices.reshape(-1, 9, 3), coarse.vertices.reshape(-1, 9, 3)
    assert all((np.abs(kept - ring).max((1, 2)) == 0).any() for ring in rings[[0, rows - 1, rows, 2 * rows - 1]])
    assert all((np.abs(rings - ring).max((1, 2)) == 0).any() for ring in kept)
    assert at_scale(loops, 40.0) is loops


def test_a_small_face_draws_a_third_of_the_triangles_with_the_same_silhouette(surgical):
    body = surgical.parts[0]
    coarse = at_scale(body, 5.0)
    assert len(coarse.triangles) < len(body.triangles) / 3
    # Outline rows and columns are kept: the extent stays within 0.1 mm (the side hem's column may bow
    # out by a hair less than its neighbour).
    assert np.allclose(coarse.vertices.min(0)[:2], body.vertices.min(0)[:2], atol=0.01)
    assert np.allclose(coarse.vertices.max(0)[:2], body.vertices.max(0)[:2], atol=0.01)
    full, thin = silhouette(body, 5.0), silhouette(coarse, 5.0)
    assert (full ^ thin).sum() / full.sum() < 0.01


def test_fold_rows_are_kept(surgical):
    body, scale = surgical.parts[0], 8.0
    rows, cols = grid_shape(body)
    grid = body.vertices.reshape(rows, cols, 3)
    before, here, after = grid[:-2], grid[1:-1], grid[2:]
    chord = after - before
    along = np.clip(np.einsum("rcd,rcd->rc", here - before, chord) / np.einsum("rcd,rcd->rc", chord, chord), 0, 1)
    stray_px = np.linalg.norm(before + along[..., None] * chord - here, axis=2).max(1) * scale
    folds = np.flatnonzero(stray_px > 0.5) + 1               # rows bent half a pixel out of their neighbours
    assert len(folds) >= 3
    row_v = body.uvs.reshape(rows, cols, 2)[:, 0, 1]          # a grid row's texture v
    kept_v = at_scale(body, scale).uvs[:, 1]
    for row in folds:
        assert np.isclose(kept_v, row_v[row]).any()


def test_a_large_face_draws_the_whole_mesh_and_levels_are_reused(surgical):
    body = surgical.parts[0]
    assert at_scale(body, 40.0) is body
    assert at_scale(body, 5.0) is at_scale(body, 5.01)
