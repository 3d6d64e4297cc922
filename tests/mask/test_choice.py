"""Mask choice without GL or MediaPipe: recolouring tints and seeded draws."""
from __future__ import annotations

import json

import numpy as np
import pytest

from render3d._paths import MESHES_DIR, SHADERS_DIR
from render3d.colourspace import hex_to_rgb, linear_to_srgb, srgb_to_linear
from render3d.errors import MaskError
from render3d.mask.choice import (BUCKLE_WIDTH, BUCKLES, CREASE_WIDTH, MAX_CREASES, base_tint, choose_masks,
                                  draw_creases, parse_weights)
from render3d.mask.library import load_mask_spec


@pytest.mark.parametrize("base", [(255, 255, 255), (237, 238, 234), (40, 90, 160)])
def test_recolour_tint_turns_the_base_colour_into_the_requested_one(base):
    tint = base_tint(base, "#d02020")
    recoloured = linear_to_srgb(srgb_to_linear(np.array(base) / 255) * tint) * 255
    assert np.allclose(recoloured, (208, 32, 32), atol=1e-3)


def test_no_colour_is_no_tint():
    assert np.array_equal(base_tint((10, 20, 30), None), np.ones(3))


def test_srgb_curve_round_trips_every_8_bit_code():
    codes = np.arange(256)
    assert np.array_equal(np.round(linear_to_srgb(srgb_to_linear(codes / 255)) * 255), codes)
    assert srgb_to_linear(0.5) == pytest.approx(0.21404, abs=1e-5)       # the exact curve, not a 2.2 power


@pytest.mark.parametrize("text, rgb", [("#d02020", (208, 32, 32)), ("EDEEEA", (237, 238, 234))])
def test_hex_parsing(text, rgb):
    assert hex_to_rgb(text) == rgb


@pytest.mark.parametrize("text", ["#d0202", "#gg0000", "red"])
def test_bad_hex_is_a_mask_error(text):
    with pytest.raises(MaskError, match="#RRGGBB"):
        hex_to_rgb(text)


def test_weights_parse_and_refuse_bad_items():
    assert parse_weights("surgical=3, n95=1") == {"surgical": 3.0, "n95": 1.0}
    for bad in ("surgical=x", "surgical=-1"):
        with pytest.raises(MaskError):
            parse_weights(bad)


def test_random_draws_follow_the_weights_and_the_seed():
    picks = [c.name for c in choose_masks("random", 400, 5, weights="surgical=3,n95=1", vary=False)]
    assert set(picks) == {"surgical", "n95"}
    assert 0.65 < picks.count("surgical") / len(picks) < 0.85
    again = [c.name for c in choose_masks("random", 400, 5, weights="surgical=3,n95=1", vary=False)]
    assert picks == again


def test_random_draws_without_weights_follow_each_masks_prevalence(tmp_path):
    picks = [c.name for c in choose_masks("random", 3000, 7, vary=False)]
    assert 1.6 < picks.count("surgical") / picks.count("surgical_white") < 2.5      # prevalence 2 : 1
    assert picks.count("gaiter") / len(picks) < 0.04                                  # gaiters are seldom seen
    user = tmp_path / "masks"
    user.mkdir()
    spec = json.loads((MESHES_DIR / "surgical.json").read_text())
    parts = [{**part, "mesh": str(MESHES_DIR / part["mesh"])} for part in spec["parts"]]
    (user / "mine.json").write_text(json.dumps({**spec, "name": "mine", "parts": parts, "prevalence": 50}))
    mine = [c.name for c in choose_masks("random", 400, 7, vary=False, mask_dirs=(user,))]
    assert mine.count("mine") / len(mine) > 0.6


def test_a_prevalence_that_is_not_above_zero_is_a_malformed_mask(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**json.loads((MESHES_DIR / "surgical.json").read_text()), "prevalence": 0}))
    with pytest.raises(MaskError, match="prevalence"):
        load_mask_spec(path)


def test_creases_are_thin_lines_and_one_or_two_broad_buckles_within_the_shader_limit():
    for seed in range(20):
        creases = draw_creases(np.random.default_rng(seed))
        widths = creases[:, 4]
        broad = (widths >= BUCKLE_WIDTH[0]).sum()
        assert BUCKLES[0] <= broad <= BUCKLES[1] and (widths[:-broad] <= CREASE_WIDTH[1]).all()
        assert len(creases) <= MAX_CREASES
        assert ((creases[:, :2] > 0) & (creases[:, :2] < 1)).all()
    shader = (SHADERS_DIR / "mask.frag").read_text()
    assert f"const int MAX_CREASES = {MAX_CREASES};" in shader


def seeded_colours(name: str, seeds: range) -> np.ndarray:
    """(N, 3) linear fabric colours of `name`'s seeded draws that keep its own colour (no palette shade, no print)."""
    base = srgb_to_linear(np.array(load_mask_spec(MESHES_DIR / f"{name}.json").color) / 255)
    draws = [choice for seed in seeds for choice in choose_masks(name, 1, seed)
             if choice.shade is None and choice.print is None]
    return base * np.array([choice.tint for choice in draws])


def test_seeded_tones_keep_a_white_fabric_white_and_vary_a_coloured_one():
    """One maker's blue is another's teal, but a white mask never comes out lavender or green."""
    def hue_spread(colours):
        chroma = np.log(colours[:, [0, 2]] / colours[:, 1:2])
        return float(np.std(chroma, axis=0).max())
    white, blue = seeded_colours("kn95", range(200)), seeded_colours("surgical", range(200))
    assert len(white) > 100 and len(blue) > 100
    assert hue_spread(white) < 0.03, "white fabrics drawn visibly tinted"
    assert hue_spread(blue) > 0.05, "coloured fabrics lost their maker-to-maker spread"
