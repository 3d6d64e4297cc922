"""MaskTheFace's names and options: mask aliases, aliases in weights, --write-original, --mask all and --code quotas."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
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


@pytest.mark.gl
@pytest.mark.mediapipe
def test_batch_mask_all_fits_every_library_mask_and_exports_each(tmp_path, astronaut):
    """`batch --mask all` (MaskTheFace's --mask_type all) writes every library mask under {stem}_{mask},
    records them in the image's manifest row and exports each fit as an image of its own."""
    from render3d.mask.library import available_masks

    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    Image.fromarray(astronaut).save(photos / "a.png")
    done = subprocess.run([str(RENDER3D), "batch", str(photos), str(out), "--workers", "1", "--mask", "all",
                           "--outputs", "composite,instances,seg,json"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    names = sorted(available_masks())
    (row,) = manifest_rows(out).values()
    assert row["status"] == "ok" and sorted(row["masks"]) == names and row["faces"] == len(names)
    composites = [np.array(Image.open(out / f"a_{name}_masked.png")) for name in names]
    assert len({composite.tobytes() for composite in composites}) == len(names)     # each its own mask
    for name in names:
        assert json.loads((out / f"a_{name}.json").read_text())["faces"][0]["mask"] == name
        assert (out / f"a_{name}_masked.png").is_file() and f"a_{name}_masked.png" in row["outputs"]
    exported = subprocess.run([str(RENDER3D), "export", "coco", str(out)], capture_output=True, text=True, timeout=300)
    assert exported.returncode == 0, exported.stderr
    coco = json.loads((out / "coco" / "coco.json").read_text())
    assert len(coco["images"]) == len(names)
    assert {c["name"] for c in coco["categories"]} >= {f"{name}/correct" for name in names}


def batch_codes(photos: Path, out: Path, code: str, *args: str) -> None:
    """Run `render3d batch --code` with the layer and JSON outputs."""
    done = subprocess.run([str(RENDER3D), "batch", str(photos), str(out), "--workers", "1", "--outputs", "layer,json",
                           "--code", code, *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr


def manifest_rows(out: Path) -> dict[str, dict]:
    return {row["path"]: row for row in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}


@pytest.mark.gl
@pytest.mark.mediapipe
def test_code_quotas_mix_exactly_as_drawn_and_shards_agree(tmp_path, astronaut):
    photos = tmp_path / "photos"
    for index in range(8):
        (photos / f"id_{index % 2}").mkdir(parents=True, exist_ok=True)
        face = Image.fromarray(astronaut[:, ::-1] if index % 3 else astronaut).resize((256, 256))
        face.save(photos / f"id_{index % 2}/{index}.jpg", quality=92)
    checks = tmp_path / "check-4.png"
    Image.fromarray((np.indices((128, 128)).sum(0) // 16 % 2 * 255).astype(np.uint8)).convert("RGB").save(checks)
    code = f"surgical-#0473e2=2,cloth-#e54294=1,n95-{checks}=1"
    batch_codes(photos, tmp_path / "whole", code)
    whole = manifest_rows(tmp_path / "whole")
    drawn = {path: row["codes"] for path, row in whole.items()}
    assert all(len(codes) == 1 for codes in drawn.values())
    assert Counter(codes[0] for codes in drawn.values()) == {"surgical-#0473e2": 4, "cloth-#e54294": 2,
                                                             f"n95-{checks}": 2}
    for path, row in whole.items():
        face = json.loads((tmp_path / "whole" / path).with_suffix(".json").read_text())["faces"][0]
        assert face["code"] == row["codes"][0] and face["mask"] == row["masks"][0] == row["codes"][0].split("-")[0]
        layer = np.array(Image.open((tmp_path / "whole" / path).with_name(Path(path).stem + "_mask.png")))
        fabric = layer[layer[..., 3] > 200][:, :3].astype(float)
        red, green, blue = fabric.mean(axis=0)
        if face["code"] == "surgical-#0473e2":              # blue above green above red, as in #0473e2
            assert blue > green > red and face["color"] == "#0473e2"
        elif face["code"] == "cloth-#e54294":                # pink: red, then blue, then green
            assert red > blue > green and face["color"] == "#e54294"
        else:                                                # the checks: dark and light squares, no tint
            assert face["texture"] == str(checks) and fabric.mean(axis=1).std() > 40
    for index in range(2):                                    # the Slurm-style shards of the same run
        batch_codes(photos, tmp_path / "shards", code, "--shard", f"{index}/2")
    assert subprocess.run([str(RENDER3D), "merge", str(tmp_path / "shards")], capture_output=True).returncode == 0
    assert {path: row["codes"] for path, row in manifest_rows(tmp_path / "shards").items()} == drawn
    batch_codes(photos, tmp_path / "whole", code)                         # resumed: nothing redone, nothing changed
    assert manifest_rows(tmp_path / "whole") == whole
