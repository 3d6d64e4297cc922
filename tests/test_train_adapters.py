"""The training adapters inside real pipelines: torchvision v2 in a DataLoader with 2 workers,
albumentations.Compose, and Hugging Face datasets.map with 2 processes. Skipped without render3d[train]
(`pip install --no-deps -r requirements/train.txt`).

The multi-process pipelines run in a fresh interpreter, as a training script does: its main process
creates no engine, so its forked workers each build their own."""
from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest
import skimage.data

pytestmark = [pytest.mark.gl, pytest.mark.mediapipe]

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")
albumentations = pytest.importorskip("albumentations")
pytest.importorskip("datasets")

from render3d.augment import AlbumentationsMaskAugment, MaskAugment, TorchvisionMaskAugment  # noqa: E402

MASKS = ("surgical", "n95", "kn95")


def run_script(code: str, tmp_path) -> dict:
    """Run `code` in a fresh interpreter; it saves its results to `out` (an .npz path)."""
    out = tmp_path / "out.npz"
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code), str(out)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(out, allow_pickle=False) as data:
        return dict(data)


DATALOADER = """
    import json, sys
    import numpy as np, skimage.data, torch
    from PIL import Image
    from torch.utils.data import DataLoader, Dataset
    from torchvision.transforms import v2
    from render3d.augment import TorchvisionMaskAugment
    from render3d.samples import astronaut

    face = astronaut()
    items = [face, Image.fromarray(face[:, ::-1].copy()), torch.from_numpy(face).permute(2, 0, 1).contiguous(),
             skimage.data.coffee()]

    class Photos(Dataset):
        def __init__(self, transform):
            self.transform = transform
        def __len__(self):
            return len(items)
        def __getitem__(self, i):
            return self.transform(items[i])

    augment = TorchvisionMaskAugment(p=1.0, masks=%r, seed=1)
    pipeline = v2.Compose([augment, v2.Resize((128, 128))])
    results = {}
    for epoch in (0, 1):
        augment.set_epoch(epoch)
        for i, (image, mask, drawn) in enumerate(DataLoader(Photos(pipeline), batch_size=None, num_workers=2)):
            assert type(image).__name__ == "Image" and type(mask).__name__ == "Mask", (type(image), type(mask))
            results[f"image_{epoch}_{i}"] = image.numpy()
            results[f"mask_{epoch}_{i}"] = mask.numpy()
            results[f"drawn_{epoch}_{i}"] = np.array(json.dumps(drawn))
    np.savez(sys.argv[1], **results)
""" % (MASKS,)


def test_torchvision_transform_in_dataloader_workers(tmp_path, astronaut):
    results = run_script(DATALOADER, tmp_path)
    plain = cv2.resize(astronaut, (128, 128), interpolation=cv2.INTER_LINEAR)
    for epoch in (0, 1):
        seeds = []
        for i in range(4):
            image, mask = results[f"image_{epoch}_{i}"], results[f"mask_{epoch}_{i}"]
            drawn = json.loads(str(results[f"drawn_{epoch}_{i}"]))
            assert image.shape == (3, 128, 128) and image.dtype == np.uint8
            assert mask.shape == (128, 128) and set(np.unique(mask)) <= {0, 1}
            if i == 3:                                      # the coffee cup: no face, nothing drawn
                assert not drawn["applied"] and not mask.any()
                continue
            assert drawn["applied"] and drawn["mask"] in MASKS and drawn["wear"] == "correct" and drawn["faces"] == 1
            assert 0.01 < mask.mean() < 0.2                  # resized with the image: a mask-sized region
            seeds.append(drawn["seed"])
            if i == 0:
                changed = np.abs(image.transpose(1, 2, 0).astype(int) - plain).max(axis=2) > 40
                assert changed[mask > 0].mean() > 0.5 and changed[mask == 0].mean() < 0.02
        assert len(set(seeds)) == 3                           # the two workers never repeat a draw
    assert all(results[f"drawn_0_{i}"] != results[f"drawn_1_{i}"] for i in range(3))     # set_epoch changes draws
    assert not np.array_equal(results["image_0_0"], results["image_1_0"])


def test_torchvision_transform_takes_an_index_and_float_tensors(astronaut):
    transform = pickle.loads(pickle.dumps(TorchvisionMaskAugment(p=1.0, masks=MASKS, seed=4)))
    transform.set_epoch(2)
    tensor = torch.from_numpy(astronaut).permute(2, 0, 1).float() / 255
    image, mask, drawn = transform(tensor, index=7)
    reference = MaskAugment(p=1.0, masks=MASKS, seed=4)
    reference.set_epoch(2)
    composite, segmentation, expected = reference.draw(astronaut, index=7)
    assert drawn == expected.as_dict() and drawn["index"] == 7 and drawn["epoch"] == 2
    assert image.dtype == torch.float32 and tuple(image.shape) == (3, 512, 512)
    assert np.array_equal(np.round(image.permute(1, 2, 0).numpy() * 255).astype(np.uint8), composite)
    assert np.array_equal(mask.numpy() * 255, segmentation)


def test_albumentations_dual_transform_in_compose(astronaut):
    transform = pickle.loads(pickle.dumps(AlbumentationsMaskAugment(p=1.0, masks=MASKS, seed=2)))
    pipeline = albumentations.Compose([transform, albumentations.Resize(128, 128)])
    result = pipeline(image=astronaut, mask=np.zeros(astronaut.shape[:2], np.uint8), index=5)
    composite, segmentation, drawn = MaskAugment(p=1.0, masks=MASKS, seed=2).draw(astronaut, index=5)
    assert result["mask_draw"] == drawn.as_dict() and drawn.applied
    expected_mask = cv2.resize(segmentation // 255, (128, 128), interpolation=cv2.INTER_NEAREST)
    assert result["mask"].shape == (128, 128) and np.array_equal(result["mask"], expected_mask)
    expected_image = cv2.resize(composite, (128, 128), interpolation=cv2.INTER_LINEAR)
    assert np.abs(result["image"].astype(int) - expected_image).max() <= 1
    coffee = pipeline(image=skimage.data.coffee(), mask=np.zeros((400, 600), np.uint8), index=0)
    assert not coffee["mask_draw"]["applied"] and not coffee["mask"].any()


DATASETS_MAP = """
    import sys
    import datasets, numpy as np, skimage.data
    from render3d.augment import MaskAugment
    from render3d.samples import astronaut

    face = astronaut()
    photos = datasets.Dataset.from_dict({"image": [face, skimage.data.coffee()]})
    augment = MaskAugment(p=1.0, masks=%r, seed=3)

    def mask_faces(example, index):
        masked, segmentation, drawn = augment.draw(np.asarray(example["image"], np.uint8), index=index)
        return {"masked": masked, "segmentation": segmentation, "mask": drawn.mask or "", "applied": drawn.applied}

    masked = photos.map(mask_faces, with_indices=True, num_proc=2, remove_columns=["image"])
    pixels = ("masked", "segmentation")
    np.savez(sys.argv[1], **{f"{column}_{i}": np.array(value, np.uint8 if column in pixels else None)
                             for column in masked.column_names for i, value in enumerate(masked[column])})
""" % (MASKS,)


def test_datasets_map_with_two_processes(tmp_path, astronaut):
    results = run_script(DATASETS_MAP, tmp_path)
    augment = MaskAugment(p=1.0, masks=MASKS, seed=3)
    for index, image in enumerate([astronaut, skimage.data.coffee()]):
        composite, segmentation, drawn = augment.draw(image, index=index)
        assert np.array_equal(results[f"masked_{index}"], composite)      # as in one process: same bytes
        assert np.array_equal(results[f"segmentation_{index}"], segmentation)
        assert results[f"applied_{index}"] == drawn.applied == (index == 0)     # no face in the coffee cup
        assert results[f"mask_{index}"] == (drawn.mask or "")
