"""The command line the batch benchmarks share: a folder of photos, then their own options."""
from __future__ import annotations

import argparse
from pathlib import Path


def parse_folder_args(doc: str, **defaults: int | str) -> argparse.Namespace:
    """Parse `DIR [--NAME VALUE ...]`: DIR as `folder` (a Path), then one option per keyword, typed and
    defaulted by its value (`rounds=1` gives `--rounds N`, an int). The help's title is `doc`'s first line."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("folder", type=Path)
    for name, default in defaults.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)
    return parser.parse_args()
