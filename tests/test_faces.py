"""find_faces against plain MediaPipe: tight crops, turned photos, small faces, no face."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image, ImageOps

from render3d.face.detect import find_faces
from render3d.face.landmarks import LandmarkModel

pytestmark = [pytest.mark.mediapipe]

NOSE = 1


@pytest.fixture(scope="module")
def model():
    landmarks = LandmarkModel(max_faces=10)
    yield landmarks
    landmarks.close()


@pytest.fixture(scope="module")
def upright(model, astronaut) -> np.ndarray:
    """The landmarks plain MediaPipe fits to the astronaut's face."""
    faces = model(astronaut)
    assert len(faces) == 1
    return faces[0]


def face_box(landmarks: np.ndarray) -> tuple[float, float, float, float]:
    (x0, y0), (x1, y1) = landmarks[:, :2].min(0), landmarks[:, :2].max(0)
    return x0, y0, x1, y1


def test_tight_crop_is_found_in_a_border(model, astronaut, upright):
    x0, y0, x1, y1 = face_box(upright)
    w, h = x1 - x0, y1 - y0
    # Cut inside the face's landmark box: a fifth off the left, a tenth off the right and 15% off
    # the forehead and the chin. The face fills the frame and plain MediaPipe finds nothing.
    left, top = int(x0 + 0.2 * w), int(y0 + 0.15 * h)
    crop = np.ascontiguousarray(astronaut[top:int(y1 - 0.15 * h), left:int(x1 - 0.1 * w)])
    assert model(crop) == []

    faces = find_faces(crop, model)
    assert len(faces) == 1
    assert faces[0].source == "padded"
    nose = upright[NOSE, :2] - (left, top)
    assert np.linalg.norm(faces[0].landmarks[NOSE, :2] - nose) < 4


@pytest.mark.parametrize("turns", [1, 2])
def test_turned_photo_maps_back_onto_the_upright_face(model, astronaut, upright, turns):
    h, w = astronaut.shape[:2]
    faces = find_faces(np.rot90(astronaut, turns), model)
    assert len(faces) == 1
    assert faces[0].source.endswith(f"-rot{90 * (4 - turns)}")
    # Turn the upright landmarks the way the photo was turned (counter-clockwise), z unchanged.
    x, y, z = upright.T
    expected = np.stack([y, w - x, z], 1) if turns == 1 else np.stack([w - x, h - y, z], 1)
    error = np.linalg.norm(faces[0].landmarks[:, :2] - expected[:, :2], axis=1)
    assert error.mean() < 1.5
    assert error[NOSE] < 3
    assert np.abs(faces[0].landmarks[:, 2] - upright[:, 2]).mean() < 3


def test_small_faces_in_a_large_photo(model, astronaut, upright):
    x0, y0, x1, y1 = face_box(upright)
    side = max(x1 - x0, y1 - y0)
    # The face with its surroundings, shrunk so that the face is 60 px across.
    left, top = int((x0 + x1) / 2 - side), int((y0 + y1) / 2 - side)
    scale = 60 / side
    patch = cv2.resize(astronaut[top:top + int(2 * side), left:left + int(2 * side)], None, fx=scale, fy=scale,
                       interpolation=cv2.INTER_AREA)
    canvas = np.full((1200, 1600, 3), (110, 120, 130), np.uint8)
    spots = [(150, 200), (900, 150), (400, 800), (1300, 900)]
    for px, py in spots:
        canvas[py:py + patch.shape[0], px:px + patch.shape[1]] = patch
    noses = [(upright[NOSE, :2] - (left, top)) * scale + spot for spot in spots]

    assert len(model(canvas)) < len(spots)
    faces = find_faces(canvas, model)
    assert len(faces) == len(spots)
    found = np.array([f.landmarks[NOSE, :2] for f in faces])
    for nose in noses:
        assert np.linalg.norm(found - nose, axis=1).min() < 3
    # Left to right.
    assert list(found[:, 0]) == sorted(found[:, 0])


@pytest.mark.parametrize("image", ["coffee", "noise"])
def test_no_face(model, image):
    rgb = skimage.data.coffee() if image == "coffee" else \
        np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert find_faces(rgb, model) == []


def test_same_input_same_output(model, astronaut):
    first, second = find_faces(astronaut, model), find_faces(astronaut, model)
    assert [f.source for f in first] == [f.source for f in second] == ["full"]
    assert np.array_equal(first[0].landmarks, second[0].landmarks)


def load_rgb(path: Path) -> np.ndarray:
    return np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))


@pytest.mark.devset
def test_every_annotated_dev_face_is_found(model, dev_faces):
    """Each hand-annotated iBUG face (68 lines of x y) in the group photos has its nose tip
    inside a found face's landmark box."""
    missed = []
    for image in sorted((dev_faces / "landmarks_68").glob("ibug300w_afw_*.jpg")):
        boxes = [face_box(f.landmarks) for f in find_faces(load_rgb(image), model)]
        for pts in sorted(image.parent.glob(image.stem + "_*.pts")):
            x, y = np.loadtxt(pts)[30]
            if not any(x0 <= x <= x1 and y0 <= y <= y1 for x0, y0, x1, y1 in boxes):
                missed.append(pts.name)
    assert missed == []
