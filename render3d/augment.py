"""Masked-face augmentation for training pipelines (PyTorch DataLoader workers, albumentations-style lists).

    augment = MaskAugment(p=0.5, masks=("surgical", "surgical_black"), seed=0, wear="correct")
    image, applied, segmentation = augment(image)          # HxWx3 uint8 in, same size out

The object is small and picklable: it holds options, not an engine. The engine (a GL context and
the landmark model) is the process-wide one, created on the first call in each process, so each
DataLoader worker builds its own after unpickling. Nothing here imports torch.

Determinism: call k of an augment draws everything (whether to apply, which mask, the fit seed)
from (seed, k). k counts calls on this object, or is the `index` passed in. DataLoader workers
each hold a copy that counts from 0, so with several workers pass the sample index
(`augment(image, index=i)` in `Dataset.__getitem__`) for draws that differ between samples and
do not depend on the worker count.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from render3d.pipeline import FitOptions


class MaskAugment:
    """With probability `p`, put one of `masks` on every face of an image; other keyword arguments are FitOptions."""

    def __init__(self, p: float = 0.5, masks: tuple[str, ...] = ("surgical",), seed: int = 0, **fit_options):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        if not masks:
            raise ValueError("masks must name at least one mask")
        self.p, self.masks, self.seed = p, tuple(masks), seed
        self.options = FitOptions(**fit_options)
        for mask in self.masks:
            replace(self.options, mask=mask)                    # checks the mask: fail fast, in the main process
        self.calls = 0

    def __call__(self, image: np.ndarray, index: int | None = None) -> tuple[np.ndarray, bool, np.ndarray]:
        """(image with masks, whether any mask was drawn, HxW uint8 segmentation: 255 under a mask).

        When no mask is drawn the input array itself comes back, with an empty segmentation.
        """
        from render3d import default_engine

        if index is None:
            index, self.calls = self.calls, self.calls + 1
        rng = np.random.default_rng([self.seed, index])
        apply, mask, fit_seed = rng.random() < self.p, self.masks[rng.integers(len(self.masks))], rng.integers(2 ** 32)
        empty = np.zeros(image.shape[:2], np.uint8)
        if not apply:
            return image, False, empty
        result = default_engine().fit(image, replace(self.options, mask=mask, seed=int(fit_seed)))
        if not result.segmentation.any():
            return image, False, empty
        return result.composite, True, result.segmentation
