"""A batch's images: found by walking the input folder or read from a list, with their output places.

Images are named by their POSIX path relative to the input folder (the manifest key). Outputs
mirror that layout under the output folder, so identity folders survive. No entry can place an
output outside the output folder: list entries with `..`, or outside the input folder, or inside
the output folder, are refused; output folders are checked after resolving symlinks.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from render3d.errors import InputError, OutputError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
MANIFEST = "manifest.jsonl"
SUMMARY = "summary.json"
STATE_DIR = ".render3d"                 # run options, lock and worker log


@dataclass(frozen=True)
class Item:
    """One image of a batch, by its path relative to the input folder, or refused with a reason."""
    path: str                   # relative POSIX path under the input folder, or the list entry as given
    reason: str | None = None   # why it is refused before processing ('unsafe_path', 'name_clash')
    error: str | None = None


def is_inside(path: Path, folder: Path) -> bool:
    """Whether `path` is `folder` or lies below it (both resolved)."""
    return path == folder or folder in path.parents


def walk(input_dir: Path, output_dir: Path) -> list[str]:
    """Image files under `input_dir` (by suffix), sorted, skipping `output_dir` when it lies inside.

    Symlinked files are read wherever they point; symlinked folders are followed once each.
    """
    root, skip = input_dir.resolve(), output_dir.resolve()
    found, seen = [], set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        real = Path(folder).resolve()
        if real in seen or is_inside(real, skip):
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        base = Path(folder).relative_to(root)
        found += [(base / name).as_posix() for name in files if Path(name).suffix.lower() in IMAGE_SUFFIXES]
    return sorted(found)


def read_list(list_file: Path, input_dir: Path, output_dir: Path) -> list[Item]:
    """Entries of a list file (one path a line, relative to `input_dir` or absolute under it), in order."""
    try:
        lines = list_file.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the list {list_file}: {exc}") from None
    root, out = input_dir.resolve(), output_dir.resolve()
    items = []
    for line in filter(None, (line.strip() for line in lines)):
        entry = Path(line)
        if ".." in entry.parts:
            items.append(Item(line, "unsafe_path", "'..' is not allowed in list entries"))
            continue
        absolute = entry if entry.is_absolute() else root / entry
        if not is_inside(absolute, root) or absolute == root:
            items.append(Item(line, "unsafe_path", f"not under the input folder {root}"))
        elif is_inside(absolute, out):
            items.append(Item(line, "unsafe_path", "inside the output folder"))
        else:
            items.append(Item(absolute.relative_to(root).as_posix()))
    return items


def output_place(output_dir: Path, path: str) -> tuple[Path, str]:
    """The folder and stem of an image's outputs: its relative folder under `output_dir`, its stem."""
    relative = PurePosixPath(path)
    return output_dir.joinpath(*relative.parent.parts), relative.stem


def confined(output_dir: Path, folder: Path) -> Path:
    """`folder`, once checked to stay inside `output_dir` after resolving symlinks."""
    if not is_inside(folder.resolve(), output_dir.resolve()):
        raise OutputError(f"output folder {folder} resolves outside {output_dir}")
    return folder


def checked(items: list[Item]) -> list[Item]:
    """Each entry once (where it first appears), refusing those whose outputs would overwrite
    another entry's ('a.jpg' and 'a.png' in one folder share a stem: the first keeps it) or the summary."""
    owners: dict[tuple[str, str], str] = {}
    first: dict[str, Item] = {}
    for item in items:
        if item.path in first:
            continue
        if item.reason is None:
            parent, stem = output_place(Path("."), item.path)
            key = (parent.as_posix(), stem)
            if key == (".", Path(SUMMARY).stem):
                item = Item(item.path, "name_clash", f"its {SUMMARY} would overwrite the batch summary")
            elif owners.setdefault(key, item.path) != item.path:
                item = Item(item.path, "name_clash", f"same output names as {owners[key]}")
        first[item.path] = item
    return list(first.values())
