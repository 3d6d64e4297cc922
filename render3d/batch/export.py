"""Detector training sets from a batch: COCO instance segmentation (with face boxes and 5-point
keypoints) and YOLO segmentation labels, read from the manifest, each image's JSON and its
`{stem}_instances.png` (so the batch needs `--outputs ...,instances,json`).

Every masked face (status ok or fallback) gives one mask annotation: its polygon traced from its
own pixels in the instance image, its class the mask and how it is worn (`surgical/correct`).
COCO also gets one `face` annotation per face: the face box and its 5 landmarks as keypoints.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from render3d.batch.manifest import load
from render3d.errors import InputError
from render3d.io.image_out import atomic_write, ensure_output_dir
from render3d.io.outputs import output_paths

FACE_CATEGORY = "face"
FIVE_POINT_NAMES = ["eye_left", "eye_right", "nose", "mouth_left", "mouth_right"]   # in image order
MASKED = ("ok", "fallback")


@dataclass(frozen=True)
class MaskedImage:
    """One masked image of a batch, as the exports read it."""
    composite: str                  # the composite's path, relative to the batch folder
    width: int
    height: int
    faces: list[dict]               # the JSON's per-face records of masked faces
    instances: np.ndarray           # (H, W) uint16 face ids (face index + 1)


def class_name(face: dict) -> str:
    """A masked face's class: its mask and how it is worn, 'surgical/correct'."""
    return f"{face['mask']}/{face['wear']}"


def masked_images(batch_dir: Path) -> list[MaskedImage]:
    """The batch's masked images (each input's, or with `--mask all` each of its fits), in manifest
    (path) order: those with at least one masked face."""
    rows = load(batch_dir / "manifest.jsonl")
    if not rows:
        raise InputError(f"no manifest rows in {batch_dir / 'manifest.jsonl'}")
    images = []
    for _, line in sorted(rows.items()):
        row = json.loads(line)
        if row["status"] not in MASKED:
            continue
        json_names = [name for name in row["outputs"] if name.endswith(".json")]
        if not json_names or not all((batch_dir / name).is_file() for name in json_names):
            raise InputError(f"{row['path']}: export needs the batch's json output")
        for json_name in json_names:
            record = json.loads((batch_dir / json_name).read_text())
            faces = [face for face in record["faces"] if face["status"] in MASKED]
            if faces:
                images.append(masked_image(batch_dir, row["path"], batch_dir / json_name, record, faces))
    return images


def masked_image(batch_dir: Path, path: str, json_path: Path, record: dict, faces: list[dict]) -> MaskedImage:
    """One fit's composite, size, masked faces and instance ids, from its JSON record at `json_path`."""
    paths = output_paths(json_path.parent, json_path.stem, record["input"]["format"])
    if not (paths["instances"].is_file() and paths["composite"].is_file()):
        raise InputError(f"{path}: export needs the batch's composite, instances and json outputs "
                         "(--outputs composite,instances,json)")
    with Image.open(paths["instances"]) as ids:
        instances = np.array(ids, np.uint16)
    return MaskedImage(paths["composite"].relative_to(batch_dir).as_posix(), record["input"]["width"],
                       record["input"]["height"], faces, instances)


def polygons(region: np.ndarray) -> list[np.ndarray]:
    """Outer contours of a boolean (H, W) region: (N, 2) int32 pixel polygons (x, y), N >= 3."""
    contours, _ = cv2.findContours(region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [c[:, 0, :] for c in contours if len(c) >= 3]


def coco(batch_dir: Path) -> dict:
    """The batch as a COCO instance-segmentation dict (pixel units; ids from 1)."""
    images = masked_images(batch_dir)
    names = sorted({class_name(face) for image in images for face in image.faces})
    category_ids = {name: i + 2 for i, name in enumerate(names)}
    categories = [{"id": 1, "name": FACE_CATEGORY, "supercategory": "face",
                   "keypoints": FIVE_POINT_NAMES, "skeleton": []}]
    categories += [{"id": category_ids[name], "name": name, "supercategory": "mask"} for name in names]
    entries, annotations = [], []
    for image_id, image in enumerate(images, start=1):
        entries.append({"id": image_id, "file_name": image.composite, "width": image.width, "height": image.height})
        for face in image.faces:
            x0, y0, x1, y1 = face["bbox"]
            keypoints = [round(v, 1) for x, y in face["landmarks_5"] for v in (x, y, 2)]
            annotations.append({"image_id": image_id, "category_id": 1, "bbox": [x0, y0, round(x1 - x0, 1),
                                round(y1 - y0, 1)], "area": round((x1 - x0) * (y1 - y0), 1), "iscrowd": 0,
                                "keypoints": keypoints, "num_keypoints": 5, "segmentation": []})
            region = image.instances == face["index"] + 1
            outlines = polygons(region)
            if not outlines:
                continue
            ys, xs = np.nonzero(region)
            annotations.append({
                "image_id": image_id, "category_id": category_ids[class_name(face)], "iscrowd": 0,
                "segmentation": [outline.ravel().tolist() for outline in outlines],
                "area": int(region.sum()),
                "bbox": [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)],
            })
    for ann_id, annotation in enumerate(annotations, start=1):
        annotation["id"] = ann_id
    return {"info": {"description": f"render3d batch {batch_dir.name}"}, "images": entries,
            "annotations": annotations, "categories": categories}


def write_coco(batch_dir: Path, dest: Path) -> Path:
    """Write `dest/coco.json`; image file names are relative to `batch_dir`."""
    path = ensure_output_dir(dest) / "coco.json"
    atomic_write(path, (json.dumps(coco(batch_dir), indent=1) + "\n").encode())
    return path


def write_yolo(batch_dir: Path, dest: Path) -> Path:
    """Write a YOLO segmentation set under `dest`: `images/` (relative links to the composites),
    `labels/` (one `class x y x y ...` line per masked face, normalised to [0, 1]) and `data.yaml`."""
    images = masked_images(batch_dir)
    names = sorted({class_name(face) for image in images for face in image.faces})
    dest = ensure_output_dir(dest)
    for image in images:
        link = dest / "images" / image.composite
        label = (dest / "labels" / image.composite).with_suffix(".txt")
        lines = []
        for face in image.faces:
            outlines = polygons(image.instances == face["index"] + 1)
            if outlines:
                outline = max(outlines, key=cv2.contourArea) / (image.width, image.height)
                lines.append(" ".join([str(names.index(class_name(face)))] + [f"{v:.5f}" for v in outline.ravel()]))
        ensure_output_dir(link.parent)
        ensure_output_dir(label.parent)
        atomic_write(label, "".join(line + "\n" for line in lines).encode())
        if not link.is_symlink():
            link.symlink_to(os.path.relpath(batch_dir / image.composite, link.parent))
    yaml = [f"path: {dest}", "train: images", "val: images", "names:"]
    yaml += [f"  {i}: {name}" for i, name in enumerate(names)]
    path = dest / "data.yaml"
    atomic_write(path, ("\n".join(yaml) + "\n").encode())
    return path
