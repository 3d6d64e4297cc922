"""FitOptions are checked when they are made, without MediaPipe or GL."""
from __future__ import annotations

from dataclasses import replace

import pytest

import render3d
from render3d.errors import MaskError
from render3d.options import FitOptions
from render3d.pipeline import FitOptions as PipelineFitOptions


def test_fit_options_are_importable_where_they_were():
    assert render3d.FitOptions is FitOptions is PipelineFitOptions


@pytest.mark.parametrize("values", [{"mask": "no_such_mask"}, {"wear": "sideways"}, {"color": "#12345"},
                                    {"mask": "random", "mask_weights": "surgical=x"},
                                    {"mask": "random", "mask_weights": "nope=1"}, {"texture": "missing.png"}])
def test_bad_mask_options_are_mask_errors(values):
    with pytest.raises(MaskError):
        FitOptions(**values)


@pytest.mark.parametrize("values", [{"max_faces": 0}, {"max_pixels": -1}, {"min_iou": 1.5}, {"realism": "fancy"},
                                    {"realism_off": ("light", "gloss")}, {"seed": 1.5}])
def test_bad_values_are_value_errors(values):
    with pytest.raises(ValueError):
        FitOptions(**values)


def test_good_options_and_replacements():
    options = FitOptions(mask="random", mask_weights="surgical=3,n95=1", wear="chin", color="#d02020", min_iou=0.5,
                         realism_off=("camera",))
    assert options.as_json()["realism_off"] == ["camera"]
    assert replace(options, mask="kn95").mask == "kn95"
    with pytest.raises(MaskError):
        replace(options, mask="no_such_mask")
    assert FitOptions(mask="all").mask == "all"          # the command line expands it into one run per mask
