"""Packaging: the declared dependencies are what the runtime imports, the pinned sets in requirements/
are closed and agree with pyproject.toml, and the engine runs without mediapipe's unused jax."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import tomllib
from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# Requirements of pinned packages that the pinned sets leave out on purpose (see requirements/*.txt).
LEFT_OUT = {"jax", "jaxlib", "sentencepiece", "sounddevice", "opencv-python-headless"}
MODULE_DISTRIBUTIONS = metadata.packages_distributions()


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(name: str) -> dict[str, str]:
    """{distribution: version} of requirements/NAME.txt and the files it includes."""
    found = {}
    for line in (ROOT / "requirements" / f"{name}.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found.update(pins(line[3:].removesuffix(".txt")))
        elif line:
            dist, version = line.split("==")
            found[canonical(dist)] = version
    return found


# Modules loaded only with their extra (the command line imports them behind its option).
EXTRA_ONLY_MODULES = {"render3d/batch/ray_runner.py"}


def imported_distributions(module_level: bool) -> set[str]:
    """Distributions the package's modules import (all imports, or those at module level only, where
    modules of an extra are left out); the asset generator, a development tool, is left out."""
    found = set()
    for path in (ROOT / "render3d").rglob("*.py"):
        if "assetgen" in path.parts or (module_level and path.relative_to(ROOT).as_posix() in EXTRA_ONLY_MODULES):
            continue
        tree = ast.parse(path.read_text())
        nodes = tree.body if module_level else ast.walk(tree)
        for node in nodes:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "render3d":
                    # An extra that is not installed here: its modules are named as its distributions.
                    found.update(canonical(d) for d in MODULE_DISTRIBUTIONS.get(top, [top]))
    return found


def declared(requirements: list[str]) -> dict[str, Requirement]:
    return {canonical(r.name): r for r in map(Requirement, requirements)}


def test_runtime_imports_are_the_declared_dependencies():
    runtime = declared(PROJECT["dependencies"])
    extras = {name for extra in ("train", "ray") for name in declared(PROJECT["optional-dependencies"][extra])}
    assert imported_distributions(module_level=True) <= set(runtime)
    # Everything else the package imports comes with the train extra (the training adapters) or the ray
    # extra (Ray Data runs, the Parquet manifest).
    assert imported_distributions(module_level=False) - set(runtime) <= extras
    # Every declared dependency is imported, but rtree, which trimesh's closest-point queries use.
    assert set(runtime) - {"rtree"} <= imported_distributions(module_level=False)


@pytest.mark.parametrize("extra, lock", [(None, "base"), ("test", "test"), ("train", "train")])
def test_pinned_sets_agree_with_pyproject(extra, lock):
    requirements = PROJECT["dependencies"] if extra is None else PROJECT["optional-dependencies"][extra]
    pinned = pins(lock)
    for name, requirement in declared(requirements).items():
        assert name in pinned, f"{name} is declared but not pinned in requirements/{lock}.txt"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (name, pinned[name])


@pytest.mark.parametrize("lock", ["base", "test", "train"])
def test_pinned_sets_are_closed(lock):
    """Every requirement of a pinned, installed package is pinned too: installing with --no-deps
    leaves nothing missing (but what LEFT_OUT names)."""
    pinned = pins(lock)
    environment = default_environment()
    checked = 0
    for name, version in pinned.items():
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue                                        # an extra that is not installed here
        if dist.version.split("+")[0] != version:
            continue
        checked += 1
        for text in dist.requires or ():
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate({**environment, "extra": ""}):
                continue
            needed = canonical(requirement.name)
            if needed in LEFT_OUT:
                continue
            assert needed in pinned, f"{name} needs {needed}, which requirements/{lock}.txt does not pin"
            assert requirement.specifier.contains(pinned[needed], prereleases=True), (name, text, pinned[needed])
    if lock != "train":
        assert checked == len(pinned)                       # the suite runs in exactly this set


@pytest.mark.gl
@pytest.mark.mediapipe
def test_face_mesh_and_engine_run_without_jax():
    code = ("import sys, render3d, render3d.samples as s; r = render3d.fit(s.astronaut()); "
            "print(r.status, sorted(m for m in ('jax', 'jaxlib', 'sentencepiece', 'sounddevice', 'skimage', "
            "'torch') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok", "[]"]

