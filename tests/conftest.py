"""Shared fixtures: the public-domain astronaut photo, one engine per test session, the dev set."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from render3d import default_engine
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


def chin_point(landmarks: np.ndarray) -> np.ndarray:
    """Halfway between the lower lip and the bottom of the chin."""
    return (landmarks[14] + landmarks[152]) / 2


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
