"""Job-array shards: `--shard I/N` masks a fixed 1/N of a batch's images into the shared output folder.

An image belongs to shard hash(path) mod N, so its shard depends on its own path alone (not on
the rest of the tree, the list order or the worker count). Shard I keeps its manifest part,
summary, run record, lock and worker log in OUTPUT/.render3d/shard-I-of-N/, so N shards run at
once on one shared folder; `render3d merge` then combines the parts (render3d.batch.merge).
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from render3d.batch.dataset import MANIFEST, STATE_DIR, SUMMARY, Item

PART_NAME = re.compile(r"shard-(\d+)-of-(\d+)")


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` of a batch's images (0 <= index < count)."""
    index: int = 0
    count: int = 1              # 1: the whole batch

    @classmethod
    def parse(cls, text: str) -> Shard:
        """'I/N' with 0 <= I < N; ValueError otherwise."""
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not match or not int(match[1]) < int(match[2]):
            raise ValueError(f"a shard is I/N with 0 <= I < N, not {text!r}")
        return cls(int(match[1]), int(match[2]))

    @property
    def whole(self) -> bool:
        """Whether this is the whole batch (one shard)."""
        return self.count == 1

    def owns(self, path: str) -> bool:
        """Whether image `path` (relative to INPUT_DIR) belongs to this shard."""
        digest = hashlib.blake2b(os.fsencode(path), digest_size=8).digest()
        return int.from_bytes(digest, "big") % self.count == self.index

    def select(self, items: list[Item]) -> list[Item]:
        """This shard's items, in their order."""
        return items if self.whole else [item for item in items if self.owns(item.path)]

    def state_dir(self, output_dir: Path) -> Path:
        """Run record, lock and worker log; for a shard also its manifest part and summary."""
        state = output_dir / STATE_DIR
        return state if self.whole else state / f"shard-{self.index}-of-{self.count}"

    def manifest(self, output_dir: Path) -> Path:
        """This shard's manifest file under `output_dir`."""
        return (output_dir if self.whole else self.state_dir(output_dir)) / MANIFEST

    def summary(self, output_dir: Path) -> Path:
        """This shard's summary file under `output_dir`."""
        return (output_dir if self.whole else self.state_dir(output_dir)) / SUMMARY

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parts(output_dir: Path) -> list[Shard]:
    """The shards that have run into `output_dir`, by count then index."""
    found = [PART_NAME.fullmatch(p.name) for p in (output_dir / STATE_DIR).glob("shard-*-of-*") if p.is_dir()]
    shards = [Shard(int(m[1]), int(m[2])) for m in found if m and int(m[1]) < int(m[2])]
    return sorted(shards, key=lambda shard: (shard.count, shard.index))
