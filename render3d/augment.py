"""Masked-face augmentation for training pipelines: plain numpy, torchvision v2 and albumentations.

    augment = MaskAugment(p=0.5, masks=("surgical", "surgical_black"), seed=0, wear="correct")
    image, applied, segmentation = augment(image)          # HxWx3 uint8 in, same size out
    image, segmentation, drawn = augment.draw(image, index=i)   # drawn: a MaskDraw record

    from render3d.augment import TorchvisionMaskAugment, AlbumentationsMaskAugment   # render3d[train]

The objects are small and picklable: they hold options, not an engine. The engine (a GL context and
the landmark model) is the process-wide one, created on the first call in each process, so each
DataLoader worker builds its own after unpickling. This module imports neither torch nor
albumentations; the two adapters import them when first named.

Determinism: a call draws everything (whether to apply, which mask, the fit seed) from
(seed, epoch, index), where `index` is the sample index passed in. Without one, a call counter of
this copy stands in, together with the DataLoader worker's id, so copies in different workers never
repeat each other's draws; pass the index for draws that do not depend on the worker count.
`set_epoch(e)` changes every draw from one epoch to the next.
"""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, replace

import numpy as np

from render3d.pipeline import FitOptions


@dataclass(frozen=True)
class MaskDraw:
    """What one call drew, for multi-task labels (mask worn or not, which mask, how worn)."""
    applied: bool                          # a mask was put on at least one face
    mask: str | None                       # the mask's name, None when none was applied
    wear: str | None                       # correct, nose-out, chin or chin-out
    color: str | None                      # the '#RRGGBB' recolouring asked for, None for the mask's own
    tint: tuple[float, float, float] | None   # the seeded colour variation, linear RGB factors
    faces: int                             # faces masked
    seed: int                              # the fit's seed
    epoch: int
    index: int                             # the sample index, or the call counter when none was given

    def as_dict(self) -> dict:
        """The record as a plain dict (for collation and labels)."""
        return asdict(self)


def to_rgb(image) -> np.ndarray:
    """An HxWx3 uint8 array from a numpy array (HxW, HxWx3 or HxWx4), a PIL image, or a torch tensor
    (CxHxW, uint8 or float in [0, 1])."""
    if isinstance(image, np.ndarray):
        return image
    if type(image).__module__.startswith("PIL."):
        return np.array(image.convert("RGB"))
    if type(image).__module__.startswith("torch"):
        pixels = image.detach().cpu()
        if pixels.is_floating_point():
            pixels = (pixels.clamp(0, 1) * 255).round()
        pixels = pixels.numpy().astype(np.uint8)
        return np.ascontiguousarray(np.moveaxis(pixels, 0, -1) if pixels.ndim == 3 else pixels)
    raise TypeError(f"expected a numpy array, a PIL image or a torch tensor, got {type(image).__name__}")


def _worker_number() -> int:
    """1 + the torch DataLoader worker's id, 0 outside a worker (torch is never imported here)."""
    torch_data = sys.modules.get("torch.utils.data")
    info = torch_data.get_worker_info() if torch_data is not None else None
    return 0 if info is None else info.id + 1


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
        self.calls, self.epoch = 0, 0

    def set_epoch(self, epoch: int) -> None:
        """Make the draws of the following calls those of `epoch`."""
        self.epoch = int(epoch)

    def draw(self, image, index: int | None = None) -> tuple[np.ndarray, np.ndarray, MaskDraw]:
        """(HxWx3 uint8 image with masks, HxW uint8 segmentation: 255 under a mask, the MaskDraw).

        `image` is anything `to_rgb` takes. When no mask is drawn the image comes back unchanged,
        with an empty segmentation.
        """
        from render3d import default_engine

        rgb = to_rgb(image)
        if index is None:
            key, index, self.calls = [self.seed, self.epoch, _worker_number(), self.calls], self.calls, self.calls + 1
        else:
            key = [self.seed, self.epoch, int(index)]
        rng = np.random.default_rng(key)
        apply, mask = rng.random() < self.p, self.masks[rng.integers(len(self.masks))]
        fit_seed = int(rng.integers(2 ** 32))
        nothing = MaskDraw(False, None, None, None, None, 0, fit_seed, self.epoch, index)
        empty = np.zeros(rgb.shape[:2], np.uint8)
        if not apply:
            return rgb, empty, nothing
        result = default_engine().fit(rgb, replace(self.options, mask=mask, seed=fit_seed))
        masked = [face for face in result.faces if face.status != "failed"]
        if not result.segmentation.any() or not masked:
            return rgb, empty, nothing
        first = masked[0]
        drawn = MaskDraw(True, first.mask, first.wear, first.color, first.tint, len(masked), fit_seed, self.epoch,
                         index)
        return result.composite, result.segmentation, drawn

    def __call__(self, image, index: int | None = None) -> tuple[np.ndarray, bool, np.ndarray]:
        """(image with masks, whether any mask was drawn, HxW uint8 segmentation: 255 under a mask)."""
        masked, segmentation, drawn = self.draw(image, index)
        return (image if not drawn.applied and isinstance(image, np.ndarray) else masked), drawn.applied, segmentation


def _torchvision_adapter():
    import torch
    from torchvision import tv_tensors
    from torchvision.transforms import v2

    class TorchvisionMaskAugment(v2.Transform):
        """A torchvision.transforms.v2 transform: image (numpy, PIL or tensor) -> (tv_tensors.Image,
        tv_tensors.Mask, record).

        The Image is CxHxW, uint8 (float in [0, 1] when a float tensor came in); the Mask is HxW uint8,
        1 under a face mask and 0 elsewhere, so later v2 transforms (Resize, crops, flips) move it with
        the image; the record is `MaskDraw.as_dict()`, which v2 transforms pass through. Call it with
        `index=i` (the sample index) for draws independent of the worker count. Arguments are
        MaskAugment's.
        """

        def __init__(self, p: float = 0.5, masks: tuple[str, ...] = ("surgical",), seed: int = 0, **fit_options):
            super().__init__()
            self.augment = MaskAugment(p, masks, seed, **fit_options)

        def set_epoch(self, epoch: int) -> None:
            """Draws from here on depend on (seed, `epoch`, index)."""
            self.augment.set_epoch(epoch)

        def forward(self, image, index: int | None = None):
            """(Image (3, H, W), Mask (H, W) of 0/1, the draw's record) for one numpy, PIL or tensor image."""
            masked, segmentation, drawn = self.augment.draw(image, index)
            pixels = torch.from_numpy(np.ascontiguousarray(np.moveaxis(masked, -1, 0)))
            if isinstance(image, torch.Tensor) and image.is_floating_point():
                pixels = pixels.to(image.dtype) / 255
            return tv_tensors.Image(pixels), tv_tensors.Mask(torch.from_numpy(segmentation // 255)), drawn.as_dict()

    return TorchvisionMaskAugment


def _albumentations_adapter():
    import albumentations

    class AlbumentationsMaskAugment(albumentations.DualTransform):
        """An albumentations DualTransform: the image gets the masks; the `mask` target is replaced by
        the face-mask segmentation (HxW uint8, 1 under a mask), so pass `mask=` to receive it and
        later geometric transforms move it with the image. The draw's record is added to the result
        as `mask_draw` (a `MaskDraw.as_dict()`). The image may be numpy, PIL or a tensor when the
        transform is called on its own; inside `Compose` albumentations itself takes numpy only.
        `index` may be passed as a keyword with the data. Arguments are MaskAugment's, and
        `p` is the chance of a mask (albumentations' own `p` is 1).
        """

        def __init__(self, p: float = 0.5, masks: tuple[str, ...] = ("surgical",), seed: int = 0, **fit_options):
            super().__init__(p=1.0)
            self.augment = MaskAugment(p, masks, seed, **fit_options)

        def set_epoch(self, epoch: int) -> None:
            """Draws from here on depend on (seed, `epoch`, index)."""
            self.augment.set_epoch(epoch)

        def get_params_dependent_on_data(self, params: dict, data: dict) -> dict:
            """The draw for this sample: the masked image, its 0/1 segmentation and the record."""
            masked, segmentation, drawn = self.augment.draw(data["image"], data.get("index"))
            return {"masked": masked, "segmentation": segmentation // 255, "mask_draw": drawn.as_dict()}

        def apply_with_params(self, params: dict, *args, **data) -> dict:
            """Albumentations' result, with the draw's record added as `mask_draw`."""
            result = super().apply_with_params(params, *args, **data)
            result["mask_draw"] = params["mask_draw"]
            return result

        def apply(self, img: np.ndarray, masked: np.ndarray, **params) -> np.ndarray:
            """The image target: the masked image."""
            return masked

        def apply_to_mask(self, mask: np.ndarray, segmentation: np.ndarray, **params) -> np.ndarray:
            """The `mask` target: the face-mask segmentation (H, W) uint8 of 0/1."""
            return segmentation

        def get_transform_init_args_names(self) -> tuple[str, ...]:
            """No init arguments to serialise: the draws are MaskAugment's."""
            return ()

    return AlbumentationsMaskAugment


_ADAPTERS = {"TorchvisionMaskAugment": _torchvision_adapter, "AlbumentationsMaskAugment": _albumentations_adapter}


def __getattr__(name: str):
    """The adapters, built (importing torchvision or albumentations) when first named."""
    if name not in _ADAPTERS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    adapter = _ADAPTERS[name]()
    adapter.__module__, adapter.__qualname__ = __name__, name     # picklable by name
    globals()[name] = adapter
    return adapter
