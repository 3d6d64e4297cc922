"""Mask choice without GL or MediaPipe: recolouring tints and seeded draws."""
from __future__ import annotations

import numpy as np
import pytest

from render3d.colourspace import hex_to_rgb, linear_to_srgb, srgb_to_linear
from render3d.errors import MaskError
from render3d.mask.choice import base_tint, choose_masks, parse_weights


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
