"""`--code` quotas (MaskTheFace's `--code`): an exact mix of masks, colours and textures over a run's images.

`--code 'surgical-#0473e2=2,cloth-#e54294=1,n95=1'`: each entry is `MASK[-FIELD][=WEIGHT]`, a mask name
(or alias), then optionally one field, then its weight (default 1):
- `#RRGGBB`: the mask recoloured (as `--color`);
- `KIND:VALUE`: a field of a named kind, from `NAMED_FIELDS`: `pattern:NAME` prints the fabric with a
  bundled pattern (as `--pattern`; `render3d masks --patterns` lists them);
- anything else: a texture file (as `--texture`), relative to the working folder or absolute.

The entries are given to the images of a run in exact proportions (largest remainder: each entry
gets its share of the images, rounded up or down by at most one), shuffled by the seed, over the
run's whole image list in sorted order. A resumed run and every `--shard` of it therefore give
each image the same entry.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from render3d.errors import OptionError
from render3d.options import FitOptions

CODE_STREAM = 2             # the shuffle's own random stream of the batch seed (masks draw from 0, wear from 1)
NAMED_FIELD = re.compile(r"([a-z_]+):(.+)")
# `KIND:VALUE` fields: KIND -> the FitOptions fields that VALUE sets
NAMED_FIELDS: dict[str, Callable[[str], dict]] = {"pattern": lambda name: {"pattern": name}}


@dataclass(frozen=True)
class CodeEntry:
    """One entry of a `--code` mix: what it is called in the outputs, the options it sets, its weight."""
    text: str                           # the entry as written, less its weight: 'surgical-#0473e2'
    settings: tuple[tuple[str, object], ...]   # (FitOptions field, value) pairs: mask, then color, texture or pattern
    weight: float = 1.0

    def options(self, options: FitOptions) -> FitOptions:
        """`options` with this entry's mask, colour, texture or pattern (raises as FitOptions does on bad ones)."""
        return replace(options, **{"color": None, "texture": None, "pattern": None, **dict(self.settings)})


def parse_entry(item: str) -> CodeEntry:
    """'cloth-#e54294=2' -> CodeEntry('cloth-#e54294', (('mask', 'cloth'), ('color', '#e54294')), 2.0)."""
    text, weight = item.strip(), 1.0
    if "=" in text:
        text, _, number = text.rpartition("=")
        try:
            weight = float(number)
        except ValueError:
            raise OptionError(f"--code entry {item.strip()!r}: the weight after '=' is not a number") from None
        if not weight > 0:
            raise OptionError(f"--code entry {item.strip()!r}: the weight must be above 0")
    text = text.strip()
    mask, _, field = text.partition("-")
    if not mask:
        raise OptionError(f"--code entry {item.strip()!r} names no mask")
    settings: dict[str, object] = {"mask": mask}
    named = NAMED_FIELD.fullmatch(field)
    if field.startswith("#"):
        settings["color"] = field
    elif named and not Path(field).exists():
        kind, value = named.groups()
        if kind not in NAMED_FIELDS:
            raise OptionError(f"--code entry {text!r}: unknown field kind {kind!r} (fields: #RRGGBB, a texture "
                              f"file{''.join(f', {k}:NAME' for k in NAMED_FIELDS)})")
        settings.update(NAMED_FIELDS[kind](value))
    elif field:
        settings["texture"] = Path(field).absolute()     # the same file for workers elsewhere (Ray)
    return CodeEntry(text, tuple(settings.items()), weight)


def parse_code(code: str, options: FitOptions) -> list[CodeEntry]:
    """The entries of a `--code` value, each checked against `options` (an unknown mask raises MaskError,
    a bad colour OptionError, as the options themselves do)."""
    entries = [parse_entry(item) for item in code.split(",") if item.strip()]
    if not entries:
        raise OptionError("--code names no entry: 'MASK[-#RRGGBB|-TEXTURE|-pattern:NAME][=WEIGHT],...'")
    for entry in entries:
        entry.options(options)
    return entries


def quotas(weights: list[float], count: int) -> list[int]:
    """How many of `count` images each weight gets: the largest-remainder rounding of `count` shared in
    proportion to `weights` (sums to `count`; ties go to the earlier entry)."""
    shares = np.asarray(weights, float) * count / sum(weights)
    counts = np.floor(shares).astype(int)
    by_remainder = np.argsort(-(shares - counts), kind="stable")
    counts[by_remainder[:count - counts.sum()]] += 1
    return counts.tolist()


def assign(entries: list[CodeEntry], paths: list[str], seed: int) -> dict[str, CodeEntry]:
    """Each path its entry: the quotas of `entries` over all `paths` (a run's whole image list, before a
    shard's share is taken), shuffled by `seed` and dealt out to the paths in sorted order."""
    slots = np.repeat(np.arange(len(entries)), quotas([e.weight for e in entries], len(paths)))
    slots = np.random.default_rng([seed, CODE_STREAM]).permutation(slots)
    return {path: entries[slot] for path, slot in zip(sorted(paths), slots)}
