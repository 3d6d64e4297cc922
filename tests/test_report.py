"""`render3d report OUT`: an HTML page with plots and contact sheets that match the manifest."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from render3d.qa.report import COLUMNS, TILE

pytestmark = [pytest.mark.gl, pytest.mark.mediapipe]

RENDER3D = Path(sys.executable).with_name("render3d")


def test_report_of_a_batch(tmp_path, astronaut):
    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    Image.fromarray(astronaut).save(photos / "a.jpg", quality=92)
    Image.fromarray(astronaut[:, ::-1]).save(photos / "b.jpg", quality=92)
    Image.fromarray(skimage.data.coffee()).save(photos / "coffee.jpg", quality=92)
    (photos / "broken.jpg").write_bytes((photos / "a.jpg").read_bytes()[:5000])
    done = subprocess.run([str(RENDER3D), "batch", str(photos), str(out), "--workers", "1", "--mask", "n95"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([str(RENDER3D), "report", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    page = (out / "report/index.html").read_text()
    assert done.stdout.strip() == str(out / "report/index.html")
    for image in re.findall(r"<img src='([^']+)'>", page):
        with Image.open(out / "report" / image) as png:
            assert png.format == "PNG" and png.width >= 300
    assert set(re.findall(r"<img src='([^']+)'>", page)) == {
        "status.png", "reason.png", "mask.png", "wear.png", "iou.png", "sheet_mask_n95.png", "sheet_failed.png"}
    by_status = dict(re.findall(r"<tr><td>(\w+)</td><td>(\d+)</td></tr>", page.split("<h2>By status</h2>")[1]
                                .split("<h2>")[0]))
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert {row["path"]: row["status"] for row in rows} == {"a.jpg": "ok", "b.jpg": "ok", "broken.jpg": "failed",
                                                              "coffee.jpg": "no_face"}
    assert by_status == {"ok": "2", "fallback": "0", "failed": "1", "no_face": "1"}
    masks = np.array(Image.open(out / "report/sheet_mask_n95.png"))
    assert masks.shape == (TILE, COLUMNS * TILE, 3)
    assert (masks[:, :2 * TILE] != 255).any(axis=2).mean() > 0.5 and (masks[:, 2 * TILE:] == 255).all()
    failed = np.array(Image.open(out / "report/sheet_failed.png"))
    assert failed.shape == (TILE, COLUMNS * TILE, 3) and (failed[:, TILE:] == 255).all()
