"""MaskTheFace's names and options: mask aliases, aliases in weights, and --write-original."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import binary_dilation

from render3d.errors import MaskError
from render3d.mask.library import MASK_ALIASES
from render3d.pipeline import FitOptions

RENDER3D = Path(sys.executable).with_name("render3d")


@pytest.mark.parametrize("alias", sorted(MASK_ALIASES))
def test_aliases_choose_the_library_mask(alias):
    assert [c.name for c in FitOptions(mask=alias).choose(2)] == [MASK_ALIASES[alias]] * 2
    picks = FitOptions(mask="random", mask_weights=f"{alias}=1", seed=4).choose(5)
    assert {c.name for c in picks} == {MASK_ALIASES[alias]}


@pytest.mark.gl
@pytest.mark.mediapipe
def test_alias_renders_as_its_mask(engine, astronaut):
    by_alias = engine.fit(astronaut, FitOptions(mask="N95", seed=2))
    by_name = engine.fit(astronaut, FitOptions(mask="n95", seed=2))
    assert by_alias.faces[0].mask == "n95"
    assert np.array_equal(by_alias.composite, by_name.composite)


def test_unknown_mask_names_the_aliases():
    with pytest.raises(MaskError, match="surgical_blue"):
        FitOptions(mask="inpaint").choose(1)


@pytest.mark.gl
@pytest.mark.mediapipe
def test_write_original_beside_the_composite(tmp_path, astronaut):
    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    Image.fromarray(astronaut).save(photos / "a.png")
    done = subprocess.run([str(RENDER3D), "batch", str(photos), str(out), "--workers", "1", "--write-original"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    original = np.array(Image.open(out / "a_original.png"))
    composite = np.array(Image.open(out / "a_masked.png"))
    segmentation = np.array(Image.open(out / "a_seg.png")) > 0
    assert np.array_equal(original, astronaut)
    away = ~binary_dilation(segmentation, iterations=20)             # beyond the mask and its contact shadow
    assert (composite[away] == original[away]).all(axis=1).mean() > 0.99
    assert (np.abs(composite.astype(int) - original).max(axis=2) > 30)[segmentation].mean() > 0.5
