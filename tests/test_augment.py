"""MaskAugment: a picklable, seeded augmentation for training pipelines."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import skimage.data

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
