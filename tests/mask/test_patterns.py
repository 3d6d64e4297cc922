"""The pattern library and prints, without GL or MediaPipe: the bundled tiles rebuild byte for byte and
wrap seamlessly, prints land at their physical size and blend by their weight, and seeded draws are
repeatable, differ between faces of one image and change with the seed."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from render3d._paths import PATTERNS_DIR
from render3d.assetgen import patterns as generator
from render3d.colourspace import LINEAR_LUT, hex_to_rgb
from render3d.errors import MaskError, OptionError
from render3d.mask.choice import base_tint, choose_masks
from render3d.mask.library import available_masks, load_mask_spec
from render3d.mask.patterns import PrintDraw, pattern_library, printed_albedo, uv_span_cm


@pytest.mark.rebuild
def test_the_library_rebuilds_byte_for_byte(tmp_path):
    written = generator.build(tmp_path)
    shipped = sorted(p.name for p in PATTERNS_DIR.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == shipped and len(written) >= 15
    assert all((tmp_path / name).read_bytes() == (PATTERNS_DIR / name).read_bytes() for name in shipped)
    assert sum(p.stat().st_size for p in PATTERNS_DIR.iterdir()) < 3_000_000          # a small install


def test_the_library_spans_the_kinds_real_masks_come_in():
    kinds = {spec.kind for spec in pattern_library().values()}
    assert {"floral", "plaid", "gingham", "stripes", "dots", "paisley", "geometric", "denim", "knit", "heather",
            "camo", "batik"} <= kinds
    assert all(len(spec.colourways) >= 4 and all(len(c) == 4 for c in spec.colourways)
               for spec in pattern_library().values())


@pytest.mark.parametrize("name", sorted(json.loads((PATTERNS_DIR / "patterns.json").read_text())))
def test_every_tile_wraps_without_a_seam(name):
    """Across the tile's edges the ink changes about as much as it does between the most different
    neighbouring rows (columns) inside it: no more than a quarter more."""
    tile = np.asarray(Image.open(PATTERNS_DIR / f"{name}.png")).astype(float)
    assert tile.shape[2] == 3 and tile.max() > 100                       # some ink is laid
    for axis in (0, 1):
        inside = np.abs(np.diff(tile, axis=axis)).mean(axis=(1 - axis, 2))     # per neighbouring pair
        edge = np.abs(np.take(tile, 0, axis) - np.take(tile, -1, axis)).mean()
        assert edge <= 1.25 * inside.max() + 2, (axis, edge, inside.max())


def test_uv_span_of_a_flat_sheet():
    x, y = np.meshgrid(np.linspace(0, 20, 21), np.linspace(0, 14, 15))
    vertices = np.column_stack([x.ravel(), y.ravel(), np.zeros(x.size)])
    uvs = np.column_stack([x.ravel() / 20, y.ravel() / 14])
    index = np.arange(x.size).reshape(x.shape)
    a, b, c, d = index[:-1, :-1].ravel(), index[:-1, 1:].ravel(), index[1:, :-1].ravel(), index[1:, 1:].ravel()
    triangles = np.concatenate([np.column_stack([a, c, b]), np.column_stack([b, c, d])])
    assert uv_span_cm(vertices, uvs, triangles) == pytest.approx((20.0, 14.0))


GREY = np.full((256, 512, 3), 128, np.uint8)
SPAN = (20.0, 10.0)


def stripes(weight: float, scale: float = 1.0) -> np.ndarray:
    draw = PrintDraw("stripes", ("#FFFFFF", "#000000", "#000000", "#000000"), scale, 0.0, (0.0, 0.0), weight)
    return printed_albedo(GREY, None, (128, 128, 128), SPAN, draw)


def test_a_print_takes_its_colourway_and_its_physical_size():
    """Breton stripes (6 per 6 cm tile) in black on white: a 10 cm tall part shows 10 stripes at scale 1, 5
    at scale 2; a plain grey fabric at its base colour leaves the inks as they are."""
    for scale, count in ((1.0, 10), (2.0, 5)):
        column = stripes(1.0, scale)[:, 100, 0].astype(int)
        assert {int(column.min()), int(column.max())} == {0, 255}
        assert np.count_nonzero(np.diff((column < 128).astype(int)) == 1) in (count - 1, count)


def test_the_weight_blends_the_print_over_the_fabric_in_linear_light():
    assert np.array_equal(stripes(0.0), GREY)
    full, half = stripes(1.0), stripes(0.5)
    white = full[..., 0] == 255
    expected = np.round(255 * ((LINEAR_LUT[128] + 1.0) / 2) ** (1 / 2.4) * 1.055 - 0.055 * 255)
    assert np.abs(half[white, 0].astype(int) - expected).max() <= 2
    assert half[~white & (full[..., 0] == 0), 0].max() < 128 - 20               # black ink half way down


def test_a_print_map_leaves_a_trim_in_the_prints_darkest_ink(tmp_path):
    cover = np.zeros((256, 512), np.uint8)
    cover[:, 256:] = 255
    print_map = np.stack([np.full((256, 512), 128, np.uint8), cover], -1)
    draw = PrintDraw("gingham", ("#FFFFFF", "#203040", "#203040", "#203040"), 1.0, 0.0, (0.0, 0.0), 1.0)
    out = printed_albedo(GREY, print_map, (128, 128, 128), SPAN, draw)
    assert np.abs(out[:, :250].astype(int) - (32, 48, 64)).max() <= 1 and out[:, 260:].std() > 30
    Image.fromarray(np.full((32, 32, 3), 200, np.uint8)).save(tmp_path / "plain.png")
    image = PrintDraw(str(tmp_path / "plain.png"), None, 1.0, 0.0, (0.0, 0.0), 1.0)   # an image's print leaves it
    assert np.array_equal(printed_albedo(GREY, print_map, (128, 128, 128), SPAN, image)[:, :250], GREY[:, :250])


def test_a_pattern_image_prints_its_own_colours(tmp_path):
    image = np.zeros((64, 64, 3), np.uint8)
    image[:, :32] = (200, 30, 40)
    image[:, 32:] = (20, 160, 60)
    Image.fromarray(image).save(tmp_path / "mine.png")
    choice, = choose_masks("surgical", 1, 3, pattern=str(tmp_path / "mine.png"), vary=False)
    assert choice.print.pattern == str(tmp_path / "mine.png") and choice.print.colourway is None
    out = printed_albedo(GREY, None, (128, 128, 128), SPAN, choice.print)
    colours = {tuple(c) for c in out.reshape(-1, 3)[::97]}
    assert (200, 30, 40) in colours and (20, 160, 60) in colours


def test_bad_patterns_and_weights_are_refused(tmp_path):
    with pytest.raises(MaskError, match="unknown pattern"):
        choose_masks("surgical", 1, 0, pattern="no_such_pattern")
    for weights in ({"pattern_weight": 1.5}, {"color_weight": -0.1}):
        with pytest.raises(OptionError, match="in \\[0, 1\\]"):
            choose_masks("surgical", 1, 0, pattern="random", **weights)


def test_color_weight_blends_the_recolour_with_the_fabric():
    base = (237, 238, 234)
    full = base_tint(base, "#d02020")
    assert np.array_equal(base_tint(base, "#d02020", 0.0), np.ones(3))
    assert np.allclose(base_tint(base, "#d02020", 0.5), (1 + full) / 2)
    assert choose_masks("surgical", 1, 0, color="#d02020", color_weight=0.5, vary=False)[0].tint == pytest.approx(
        tuple((1 + base_tint(load_mask_spec(available_masks()["surgical"]).color, "#d02020")) / 2))


def test_faces_of_one_image_never_wear_the_same_look():
    for seed in range(10):
        choices = choose_masks("random", 8, seed)
        looks = [c.look() for c in choices]
        assert len(set(looks)) == len(looks), looks
        assert len({c.print for c in choices if c.print}) == sum(c.print is not None for c in choices)


def test_seeded_prints_are_repeatable_and_follow_each_masks_kinds():
    draws = [choose_masks("random", 4, seed) for seed in range(200)]
    assert [c.print for c in draws[7]] == [c.print for c in choose_masks("random", 4, 7)]
    assert len({tuple(c.print for c in faces) for faces in draws}) > 40     # seeds print differently
    printed = [c for faces in draws for c in faces if c.print]
    assert 0.05 < len(printed) / (200 * 4) < 0.2         # about 11%: by each mask's prevalence and print share
    assert len({c.print.pattern for c in printed}) >= 15 and len({c.print.colourway for c in printed}) >= 30
    library = pattern_library()
    for choice in printed:
        spec = load_mask_spec(choice.path)
        assert library[choice.print.pattern].kind in spec.print_kinds and choice.shade is None
    assert not any(c.print for faces in draws for c in faces if c.name in ("n95", "ffp2_valve"))


def test_pattern_option_prints_every_face_and_no_vary_lays_it_plainly():
    choices = choose_masks("n95", 3, 5, pattern="tartan", pattern_weight=0.6)
    assert all(c.print.pattern == "tartan" and c.print.weight == 0.6 for c in choices)
    plain = choose_masks("n95", 2, 5, pattern="tartan", vary=False)
    assert plain[0].print == plain[1].print == PrintDraw("tartan", pattern_library()["tartan"].colourways[0], 1.0,
                                                         0.0, (0.0, 0.0), 1.0)
    assert choose_masks("cloth", 1, 5, color="#d02020")[0].print is None        # a colour asks for a plain fabric
    assert hex_to_rgb(plain[0].print.colourway[0])


def test_a_print_on_a_small_face_is_laid_on_a_shrunk_albedo():
    """A 250 px photo's face (5 px per cm) needs a quarter of a 1024 px texture that spans 20 cm (still
    2.5 texels a pixel); a face four times larger needs all of it; without a scale nothing shrinks."""
    from render3d.mask.patterns import print_reduction

    assert print_reduction((1024, 1024), (20.0, 20.0), 5.0) == 4
    assert print_reduction((1024, 1024), (20.0, 20.0), 20.0) == 1
    assert print_reduction((1024, 1024), (20.0, 20.0), None) == 1
    assert print_reduction((4096, 4096), (20.0, 20.0), 1.0) == 8
