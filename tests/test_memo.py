"""The identity-keyed cache of results computed from a loaded mask's arrays."""
from __future__ import annotations

import numpy as np

from render3d.memo import same_objects_cache


def test_results_are_reused_for_the_same_arrays_and_recomputed_for_others():
    calls = []

    @same_objects_cache(maxsize=2)
    def total(values: np.ndarray) -> float:
        calls.append(values)
        return float(values.sum())

    a, b, c = np.arange(3.0), np.arange(4.0), np.arange(5.0)
    assert total(a) == 3 and total(a) == 3 and len(calls) == 1
    assert total(a.copy()) == 3 and len(calls) == 2          # equal values, another array: computed
    assert total(b) == 6 and total(c) == 10 and len(calls) == 4
    assert total(a) == 3 and len(calls) == 5                 # the least recently used was dropped
