"""Every README snippet runs as pasted, in order, in one folder (with `.venv` standing for this venv and
`faces/` holding two photos). Set-up, test and golden-update commands are left to CI (tests/test_readme.py),
and the Slurm recipe to tests/test_clusters.py."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

pytestmark = [pytest.mark.gl, pytest.mark.mediapipe]

ROOT = Path(__file__).resolve().parents[1]
LEFT_TO_CI = ("apt-get", "pytest", "pip install")          # set-up, the test command, golden updates
RUN_ELSEWHERE = ("sbatch",)     # the Slurm array script and its submission: tests/test_clusters.py runs the script


def snippets() -> list[tuple[str, str]]:
    """(language, code) of every fenced sh/python block, in order."""
    return re.findall(r"```(sh|python)\n(.*?)\n```", (ROOT / "README.md").read_text(), flags=re.S)


def test_every_readme_snippet_runs(tmp_path, astronaut):
    os.symlink(sys.prefix, tmp_path / ".venv")
    for name, photo in (("id_01/001.jpg", astronaut), ("id_02/001.jpg", astronaut[:, ::-1])):
        (tmp_path / "faces" / name).parent.mkdir(parents=True)
        Image.fromarray(photo).save(tmp_path / "faces" / name)
    train_extra = importlib.util.find_spec("albumentations") is not None
    blocks = snippets()
    ran = 0
    for index, (language, code) in enumerate(blocks):
        if any(word in code for word in LEFT_TO_CI + RUN_ELSEWHERE) or ("albumentations" in code and not train_extra):
            continue
        if language == "python" and index + 1 < len(blocks) and "make_patch.py" in blocks[index + 1][1]:
            (tmp_path / "make_patch.py").write_text(code)       # the README says to save it as make_patch.py
            continue
        command = ["bash", "-ec", code] if language == "sh" else [sys.executable, "-c", code]
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"README snippet failed:\n{code}\n{done.stderr[-2000:]}"
        ran += 1
    assert ran >= 8
    # What the snippets promise is there: the last fit into render3d_out used the user's patch mask ...
    assert json.loads((tmp_path / "render3d_out/astronaut.json").read_text())["faces"][0]["mask"] == "patch"
    assert (tmp_path / "render3d_out/astronaut_masked.jpg").is_file()
    # ... the last MaskTheFace-style fit recoloured the cloth mask ...
    face = json.loads((tmp_path / "mtf/astronaut.json").read_text())["faces"][0]
    assert (face["mask"], face["color"]) == ("cloth", "#0473e2")
    # ... the --code batch gave each of its two entries to one photo ...
    coded = [json.loads(line) for line in (tmp_path / "mtf_code/manifest.jsonl").read_text().splitlines()]
    assert sorted(row["codes"][0] for row in coded) == ["cloth-#e54294", "surgical-#0473e2"]
    # ... and the batches and exports cover both photos.
    rows = [json.loads(line) for line in (tmp_path / "masked/manifest.jsonl").read_text().splitlines()]
    assert [row["status"] for row in rows] == ["ok", "ok"]
    assert len(json.loads((tmp_path / "dataset/coco/coco.json").read_text())["images"]) == 2
    assert len(list((tmp_path / "dataset/yolo/labels").rglob("*.txt"))) == 2
