"""Shared fixtures and helpers: the public-domain astronaut photo, one engine per test session, the dev set,
landmark sets a worn mask must cover or leave clear, and checks of what the head hides."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from render3d import default_engine
from render3d.face.fitting import occluder_mesh
from render3d.face.landmarks import LandmarkModel
from render3d.samples import astronaut as sample_astronaut

DEV_FACES = Path(__file__).resolve().parents[2] / "shared" / "faces"

# MediaPipe landmarks a correctly worn mask must cover, and those it must leave clear.
NOSE_POINTS = [1, 4, 2, 98, 327]
MOUTH_POINTS = [0, 17, 13, 14, 61, 291]
CHIN_POINTS = [175]
EYE_POINTS = [33, 133, 159, 145, 362, 263, 386, 374]
BROW_POINTS = [105, 334, 70, 300, 107, 336]


def under(segmentation: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Whether each (x, y) point falls on a segmented pixel."""
    h, w = segmentation.shape
    xy = np.round(points[:, :2]).astype(int)
    inside = (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
    hits = np.zeros(len(xy), bool)
    hits[inside] = segmentation[xy[inside, 1], xy[inside, 0]] > 0
    return hits


def even_light() -> np.ndarray:
    """(9, 3) SH irradiance of ambient light alone: no direction."""
    sh = np.zeros((9, 3), np.float32)
    sh[0] = 1.0
    return sh


def chin_point(landmarks: np.ndarray) -> np.ndarray:
    """Halfway between the lower lip and the bottom of the chin."""
    return (landmarks[14] + landmarks[152]) / 2


def far_cheek(part, fitted, yaw):
    """The part's triangles on the cheek that turns away from the camera, toward the far ear."""
    canonical_x = fitted.to_canonical(part.positions)[:, 0][part.triangles].mean(1)
    keep = canonical_x * np.sign(yaw) > 3.5
    return replace(part, triangles=part.triangles[keep])


def assert_far_side_hidden(landmarks, fitted, parts, yaw):
    renderer = default_engine().renderer
    window = (0, 0, 512, 512)
    occluders = [occluder_mesh(fitted)]
    hidden = renderer.render(window, occluders, parts)[..., 3] >= 0.5
    shown = renderer.render(window, [], parts)[..., 3] >= 0.5
    assert (shown & ~hidden).sum() > 20                      # the head hides part of the mask
    # The far cheek's fabric wraps around, out of sight behind the face.
    far = [far_cheek(parts[0], fitted, yaw)]
    far_shown = renderer.render(window, [], far)[..., 3] >= 0.5
    far_hidden = renderer.render(window, occluders, far)[..., 3] >= 0.5
    assert far_shown.sum() > 50 and far_hidden.sum() < 0.5 * far_shown.sum()
    # The near side stays in view.
    near = [far_cheek(parts[0], fitted, -yaw)]
    near_shown = renderer.render(window, [], near)[..., 3] >= 0.5
    near_hidden = renderer.render(window, occluders, near)[..., 3] >= 0.5
    assert near_hidden.sum() > 0.9 * near_shown.sum()


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    return sample_astronaut()


@pytest.fixture(scope="session")
def engine():
    return default_engine()


@pytest.fixture(scope="session")
def reference_model() -> LandmarkModel:
    """An independent landmark model, for checking placements against."""
    return LandmarkModel(max_faces=10)


@pytest.fixture(scope="session")
def astronaut_landmarks(astronaut, reference_model) -> np.ndarray:
    return reference_model(astronaut)[0]


@pytest.fixture(scope="session")
def dev_faces() -> Path:
    if not (DEV_FACES / "unmasked").is_dir():
        pytest.skip("the dev photo set (../shared/faces) is not present")
    return DEV_FACES


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/ from the current renders")
