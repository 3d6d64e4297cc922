"""`--code` entries and quotas: parsing, exact proportions, and an assignment that resumes and shards agree on."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from render3d.batch.code import assign, parse_code, quotas
from render3d.errors import MaskError, OptionError
from render3d.options import FitOptions


def test_entries_name_a_mask_then_a_colour_or_a_texture_file(tmp_path):
    texture = tmp_path / "check-4.png"
    texture.write_bytes(b"")
    colour, plain, textured = parse_code(f"surgical-#0473e2=2, N95 ,cloth-{texture}=0.5", FitOptions())
    assert (colour.text, colour.weight, colour.options(FitOptions()).color) == ("surgical-#0473e2", 2.0, "#0473e2")
    assert plain.text == "N95" and plain.weight == 1.0 and plain.options(FitOptions(color="#ffffff")).color is None
    options = textured.options(FitOptions())
    assert (options.mask, options.texture, options.color, textured.weight) == ("cloth", texture, None, 0.5)


def test_an_entry_names_a_bundled_pattern():
    printed, plain = parse_code("cloth-pattern:tartan=3,cloth", FitOptions())
    assert printed.options(FitOptions()).pattern == "tartan" and printed.weight == 3.0
    assert plain.options(FitOptions(pattern="stars")).pattern is None     # each entry sets the print alone


@pytest.mark.parametrize("code, error, words", [
    ("", OptionError, "names no entry"),
    ("surgical=two", OptionError, "not a number"),
    ("surgical=0", OptionError, "above 0"),
    ("-#ffffff", OptionError, "names no mask"),
    ("surgical-#zzzzzz", OptionError, "zzzzzz"),
    ("cloth-weave:plaid", OptionError, "unknown field kind 'weave'"),
    ("no_such_mask-#ffffff", MaskError, "no_such_mask"),
    ("cloth-/no/such/texture.png", MaskError, "does not exist"),
    ("cloth-pattern:no_such_print", MaskError, "unknown pattern 'no_such_print'"),
])
def test_bad_entries_are_refused(code, error, words):
    with pytest.raises(error, match=words):
        parse_code(code, FitOptions())


@pytest.mark.parametrize("weights, count, expected", [
    ([2, 1, 1], 8, [4, 2, 2]),
    ([1, 1, 1], 10, [4, 3, 3]),            # the one left over goes to the first of the tied remainders
    ([1, 2], 4, [1, 3]),                   # 1.33 and 2.67: the larger remainder gets the spare
    ([3, 1], 0, [0, 0]),
    ([0.5, 0.25, 0.25], 3, [1, 1, 1]),      # remainders 0.5, 0.75, 0.75: the spares go to the 0.75s
])
def test_quotas_are_the_largest_remainder_shares(weights, count, expected):
    assert quotas(weights, count) == expected


def test_quotas_sum_to_the_count_and_stay_within_one_of_each_share():
    rng = np.random.default_rng(5)
    for _ in range(200):
        weights, count = rng.uniform(0.1, 5, rng.integers(1, 8)).tolist(), int(rng.integers(0, 500))
        counts = quotas(weights, count)
        shares = np.array(weights) * count / sum(weights)
        assert sum(counts) == count and np.all(np.abs(np.array(counts) - shares) < 1)


def test_the_assignment_is_exact_seeded_and_the_same_in_any_order_or_share():
    entries = parse_code("surgical-#0473e2=2,cloth-#e54294=1,n95=1", FitOptions())
    paths = [f"id_{i % 7}/{i}.jpg" for i in range(403)]
    given = assign(entries, paths, seed=3)
    assert Counter(e.text for e in given.values()) == {"surgical-#0473e2": 201, "cloth-#e54294": 101, "n95": 101}
    assert assign(entries, paths[::-1], seed=3) == given                # the sorted list, not the order given
    other = assign(entries, paths, seed=4)
    assert Counter(other.values()) == Counter(given.values()) and other != given
    shares = [paths[index::3] for index in range(3)]                   # any split of the work sees one assignment
    assert {path: given[path] for share in shares for path in share} == given
