"""Dataset outputs: the 16-bit instance image, landmarks in the JSON, and the COCO and YOLO exports of a
batch (COCO checked by pycocotools: its own masks of our polygons, and a perfect score against itself)."""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image

from render3d.pipeline import FIVE_POINTS

pytestmark = [pytest.mark.gl, pytest.mark.mediapipe]

RENDER3D = Path(sys.executable).with_name("render3d")


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return (a & b).sum() / max((a | b).sum(), 1)


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory, astronaut) -> Path:
    """A batch of a two-face photo, a one-face photo and a photo without a face."""
    root = tmp_path_factory.mktemp("export")
    photos, out = root / "photos", root / "out"
    (photos / "pairs").mkdir(parents=True)
    Image.fromarray(np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)).save(photos / "pairs/two.jpg", quality=92)
    Image.fromarray(astronaut).save(photos / "one.png")
    Image.fromarray(skimage.data.coffee()).save(photos / "coffee.jpg", quality=92)
    done = subprocess.run([str(RENDER3D), "batch", str(photos), str(out), "--workers", "1", "--seed", "3",
                           "--mask", "random", "--mask-weights", "surgical=1,n95=1",
                           "--outputs", "composite,seg,instances,json"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return out


def test_instances_give_each_face_its_own_id(batch_dir):
    with Image.open(batch_dir / "pairs/two_instances.png") as image:
        assert image.mode == "I;16"
        instances = np.array(image)
    segmentation = np.array(Image.open(batch_dir / "pairs/two_seg.png")) > 0
    record = json.loads((batch_dir / "pairs/two.json").read_text())
    assert set(np.unique(instances)) == {0, 1, 2}
    assert iou(instances > 0, segmentation) > 0.98
    for face in record["faces"]:
        ys, xs = np.nonzero(instances == face["index"] + 1)
        x0, y0, x1, y1 = face["bbox"]
        assert x0 < xs.mean() < x1 and y0 < ys.mean() < y1          # each id lies on its own face


def test_json_stores_rounded_landmarks(batch_dir):
    face = json.loads((batch_dir / "one.json").read_text())["faces"][0]
    landmarks, five = np.array(face["landmarks"]), np.array(face["landmarks_5"])
    assert landmarks.shape == (478, 3) and five.shape == (5, 2)
    assert np.array_equal(five, landmarks[FIVE_POINTS, :2])
    assert np.array_equal(landmarks, np.round(landmarks, 1))
    eye_left, eye_right, nose, mouth_left, mouth_right = five
    assert eye_left[0] < nose[0] < eye_right[0] and mouth_left[0] < nose[0] < mouth_right[0]
    assert max(eye_left[1], eye_right[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
    x0, y0, x1, y1 = face["bbox"]
    assert ((five >= (x0, y0)) & (five <= (x1, y1))).all()


def test_coco_export_validates_with_pycocotools(batch_dir):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    done = subprocess.run([str(RENDER3D), "export", "coco", str(batch_dir)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    path = batch_dir / "coco" / "coco.json"
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(path))
    images = {image["file_name"]: image["id"] for image in coco.dataset["images"]}
    assert sorted(images) == ["one_masked.png", "pairs/two_masked.jpg"]      # the photo without a face is left out
    names = {c["id"]: c["name"] for c in coco.dataset["categories"]}
    assert names[1] == "face" and set(names.values()) - {"face"} <= {"surgical/correct", "n95/correct"}
    for file_name, image_id in images.items():
        stem = file_name.split("_masked")[0]
        record = json.loads((batch_dir / f"{stem}.json").read_text())
        instances = np.array(Image.open(batch_dir / f"{stem}_instances.png"))
        annotations = coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))
        masks = [a for a in annotations if a["category_id"] != 1]
        faces = [a for a in annotations if a["category_id"] == 1]
        assert len(masks) == len(faces) == len(record["faces"])
        for face, mask_ann, face_ann in zip(record["faces"], masks, faces):
            assert names[mask_ann["category_id"]] == f"{face['mask']}/{face['wear']}"
            assert iou(coco.annToMask(mask_ann) > 0, instances == face["index"] + 1) > 0.9
            x0, y0, x1, y1 = face["bbox"]
            assert np.allclose(face_ann["bbox"], [x0, y0, x1 - x0, y1 - y0], atol=0.11)
            assert np.allclose(np.reshape(face_ann["keypoints"], (5, 3))[:, :2], face["landmarks_5"])
    results = [{**a, "score": 1.0} for a in coco.dataset["annotations"] if a["category_id"] != 1]
    with contextlib.redirect_stdout(io.StringIO()):
        evaluation = COCOeval(coco, coco.loadRes(results), "segm")
        evaluation.params.catIds = [c for c in names if c != 1]
        evaluation.evaluate(), evaluation.accumulate(), evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)                 # the polygons are well formed


def test_yolo_export_traces_each_face(batch_dir):
    done = subprocess.run([str(RENDER3D), "export", "yolo", str(batch_dir)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    yolo = batch_dir / "yolo"
    names = [line.split(": ", 1)[1] for line in (yolo / "data.yaml").read_text().splitlines() if line.startswith("  ")]
    image = yolo / "images/pairs/two_masked.jpg"
    assert image.is_symlink() and image.resolve() == (batch_dir / "pairs/two_masked.jpg").resolve()
    lines = (yolo / "labels/pairs/two_masked.txt").read_text().splitlines()
    record = json.loads((batch_dir / "pairs/two.json").read_text())
    instances = np.array(Image.open(batch_dir / "pairs/two_instances.png"))
    h, w = instances.shape
    assert len(lines) == 2
    for line, face in zip(lines, record["faces"]):
        label, *coords = line.split()
        assert names[int(label)] == f"{face['mask']}/{face['wear']}"
        polygon = np.array(coords, float).reshape(-1, 2)
        assert ((polygon >= 0) & (polygon <= 1)).all()
        drawn = cv2.fillPoly(np.zeros((h, w), np.uint8), [np.round(polygon * (w, h)).astype(np.int32)], 1)
        assert iou(drawn > 0, instances == face["index"] + 1) > 0.9
    assert not os.path.exists(yolo / "labels/coffee_masked.txt")


def test_export_needs_the_instances(tmp_path, batch_dir):
    out = tmp_path / "plain"
    out.mkdir()
    (out / "manifest.jsonl").write_text((batch_dir / "manifest.jsonl").read_text())
    for name in ("one.json", "one_masked.png"):
        (out / name).write_bytes((batch_dir / name).read_bytes())
    done = subprocess.run([str(RENDER3D), "export", "coco", str(out)], capture_output=True, text=True)
    assert done.returncode == 3 and "instances" in done.stderr and len(done.stderr.splitlines()) == 1
