"""The README's worked example of a user mask renders without any code change."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import EYE_POINTS, MOUTH_POINTS, NOSE_POINTS, under

import render3d

pytestmark = [pytest.mark.gl, pytest.mark.mediapipe]

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_example() -> str:
    section = README.read_text().split("### Your own mask", 1)[1]
    return section.split("```python\n", 1)[1].split("\n```", 1)[0]


def test_readme_user_mask_renders(tmp_path, astronaut, astronaut_landmarks):
    (tmp_path / "my_masks").mkdir()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(readme_example(), "README example", "exec"), {})
    finally:
        os.chdir(cwd)
    for mask in ("patch", str(tmp_path / "my_masks" / "patch.glb")):
        result = render3d.fit(astronaut, mask=mask, mask_dirs=(tmp_path / "my_masks",))
        assert result.faces[0].mask == "patch"
        assert under(result.segmentation, astronaut_landmarks[NOSE_POINTS + MOUTH_POINTS]).all()
        assert not under(result.segmentation, astronaut_landmarks[EYE_POINTS]).any()
        red, green, blue = result.layer[result.layer[..., 3] == 255, :3].mean(0)
        assert red > green and red > blue          # the example's own red texture is used
