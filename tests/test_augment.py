"""MaskAugment: a picklable, seeded augmentation for training pipelines."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import skimage.data
from PIL import Image

from render3d.augment import MaskAugment

pytestmark = [pytest.mark.gl, pytest.mark.mediapipe]


def test_mask_augment(astronaut):
    augment = pickle.loads(pickle.dumps(MaskAugment(p=1.0, masks=("surgical",), seed=5, min_iou=0.5)))
    image, applied, segmentation = augment(astronaut)
    assert applied and image.shape == astronaut.shape and image.dtype == np.uint8
    assert segmentation.shape == astronaut.shape[:2] and set(np.unique(segmentation)) == {0, 255}
    assert not np.array_equal(image, astronaut)
    again, _, _ = MaskAugment(p=1.0, masks=("surgical",), seed=5, min_iou=0.5)(astronaut)
    assert np.array_equal(again, image)                      # same seed and call index, same result

    unchanged, applied, segmentation = MaskAugment(p=0.0)(astronaut)
    assert unchanged is astronaut and not applied and not segmentation.any()
    nothing, applied, _ = augment(skimage.data.coffee())
    assert not applied


def test_mask_augment_record_epochs_and_pil_input(astronaut):
    augment = MaskAugment(p=1.0, masks=("surgical", "n95"), seed=5)
    composite, segmentation, drawn = augment.draw(Image.fromarray(astronaut), index=3)
    again, _, same = MaskAugment(p=1.0, masks=("surgical", "n95"), seed=5).draw(astronaut, index=3)
    assert np.array_equal(composite, again) and drawn == same         # a PIL image draws as its array
    assert drawn.applied and drawn.mask in ("surgical", "n95") and drawn.wear == "correct" and drawn.faces == 1
    assert drawn.index == 3 and drawn.epoch == 0 and (segmentation == 255).any()
    augment.set_epoch(1)
    _, _, next_epoch = augment.draw(astronaut, index=3)
    assert next_epoch.epoch == 1 and next_epoch.seed != drawn.seed
