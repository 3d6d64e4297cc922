"""The command line: the four outputs, determinism, and one-line errors with documented exit codes."""
from __future__ import annotations

import json

import imageio.v3 as iio
import numpy as np
import pytest
import skimage.data
from typer.testing import CliRunner

from render3d.cli import app

pytestmark = [pytest.mark.gl, pytest.mark.mediapipe]

runner = CliRunner()


def run(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("in") / "astronaut.jpg"
    iio.imwrite(path, skimage.data.astronaut(), quality=92)
    return path


def test_fit_writes_four_outputs(photo, tmp_path):
    code, out, err = run("fit", photo, "--mask", "surgical", "--out", tmp_path)
    assert code == 0, err
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["astronaut.json", "astronaut_mask.png", "astronaut_masked.jpg", "astronaut_seg.png"]
    composite = iio.imread(tmp_path / "astronaut_masked.jpg")
    layer = iio.imread(tmp_path / "astronaut_mask.png")
    seg = iio.imread(tmp_path / "astronaut_seg.png")
    assert composite.shape == (512, 512, 3) and layer.shape == (512, 512, 4) and seg.shape == (512, 512)
    assert seg.dtype == np.uint8 and set(np.unique(seg)) == {0, 255}
    meta = json.loads((tmp_path / "astronaut.json").read_text())
    assert meta["input"]["width"] == 512 and meta["input"]["format"] == "jpeg"
    assert meta["options"]["seed"] == 0 and meta["status"] == "ok"
    face = meta["faces"][0]
    assert face["mask"] == "surgical" and face["status"] == "ok"
    assert set(face["pose"]) == {"yaw", "pitch", "roll"} and abs(face["pose"]["yaw"]) < 15
    x0, y0, x1, y1 = face["bbox"]
    assert 150 < x0 < x1 < 300 and 50 < y0 < y1 < 200


def test_fit_is_byte_identical_across_runs(photo, tmp_path):
    for out in ("a", "b"):
        assert run("fit", photo, "--seed", 11, "--out", tmp_path / out)[0] == 0
    for path in (tmp_path / "a").iterdir():
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name


def assert_one_line_error(code, err, expected_code, words):
    assert code == expected_code
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("render3d: error:")
    assert all(w in lines[0] for w in words), lines[0]


def test_missing_file(tmp_path):
    code, _, err = run("fit", tmp_path / "nope.jpg", "--out", tmp_path / "o")
    assert_one_line_error(code, err, 3, ["nope.jpg"])
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


@pytest.mark.parametrize("content", [b"", b"this is not an image\n", b"\xff\xd8\xff\xe0" + b"\0" * 40])
def test_unreadable_input(tmp_path, content):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(content)
    code, _, err = run("fit", bad, "--out", tmp_path / "o")
    assert_one_line_error(code, err, 3, ["bad.jpg"])


def test_truncated_input(photo, tmp_path):
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(photo.read_bytes()[: photo.stat().st_size // 2])
    code, _, err = run("fit", cut, "--out", tmp_path / "o")
    assert_one_line_error(code, err, 3, ["cut.jpg"])
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_unknown_mask_lists_choices(photo, tmp_path):
    code, _, err = run("fit", photo, "--mask", "balaclava", "--out", tmp_path)
    assert_one_line_error(code, err, 6, ["balaclava", "surgical"])


def test_unwritable_output(photo, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run("fit", photo, "--out", blocker / "sub")
    assert_one_line_error(code, err, 5, ["sub"])


def test_no_face_writes_json_and_exits_4(tmp_path):
    path = tmp_path / "coffee.png"
    iio.imwrite(path, skimage.data.coffee())
    code, _, err = run("fit", path, "--out", tmp_path / "o")
    assert_one_line_error(code, err, 4, ["no face", "coffee.png"])
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["coffee.json"]
    meta = json.loads((tmp_path / "o" / "coffee.json").read_text())
    assert meta["status"] == "no_face" and meta["faces"] == []


@pytest.mark.parametrize("mode", ["L", "RGBA", "CMYK", "P", "I;16"])
def test_unusual_modes_just_work(tmp_path, mode):
    from PIL import Image
    image = Image.fromarray(skimage.data.astronaut())
    if mode == "I;16":
        image = Image.fromarray((np.asarray(image.convert("L")).astype(np.uint16) * 257))
    else:
        image = image.convert(mode)
    path = tmp_path / ("in.jpg" if mode == "CMYK" else "in.png")
    image.save(path)
    code, _, err = run("fit", path, "--out", tmp_path / "o")
    assert code == 0, err
    seg = iio.imread(tmp_path / "o" / "in_seg.png")
    assert seg.shape == (512, 512) and (seg > 0).mean() > 0.01


def test_exif_rotated_input(tmp_path):
    from PIL import Image
    rotated = np.rot90(skimage.data.astronaut(), 1)          # stored sideways ...
    exif = Image.Exif()
    exif[0x0112] = 6                                         # ... and tagged to be turned upright
    path = tmp_path / "rot.jpg"
    Image.fromarray(np.ascontiguousarray(rotated)).save(path, exif=exif, quality=95)
    code, _, err = run("fit", path, "--out", tmp_path / "o")
    assert code == 0, err
    seg = iio.imread(tmp_path / "o" / "rot_seg.png")
    assert seg.shape == (512, 512)
    ys, xs = np.nonzero(seg)
    assert 170 < xs.mean() < 280 and 100 < ys.mean() < 200    # on the upright face
