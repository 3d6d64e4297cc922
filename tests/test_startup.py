"""Start-up stays light: the CLI imports none of the heavy libraries, a fit imports MediaPipe's face
solutions without matplotlib or the audio tasks, and code that uses the whole mediapipe package
afterwards still gets it."""
from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = [pytest.mark.gl, pytest.mark.mediapipe]      # end to end: the engine, EGL and MediaPipe

HEAVY = ("trimesh", "scipy", "mediapipe", "matplotlib", "moderngl_window", "sounddevice", "imageio")


def imported_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running `code`."""
    probe = f"{code}\nimport sys\nprint('modules:', *sorted(sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    return set(next(line for line in out.splitlines() if line.startswith("modules:")).split()[1:])


def loaded(modules: set[str], names: tuple[str, ...]) -> set[str]:
    return {name for name in names if name in modules}


def test_cli_imports_no_heavy_library():
    modules = imported_after("import render3d.cli")
    assert loaded(modules, HEAVY) == set()
    assert "render3d.pipeline" not in modules          # the engine loads with the first fit, in its process


@pytest.mark.parametrize("command", [["--help"], ["masks"]])
def test_help_and_the_mask_list_import_neither_opencv_nor_gl_nor_the_realism_stages(command):
    modules = imported_after(f"import sys\nsys.argv = ['render3d', *{command!r}]\nfrom render3d.launch import main\n"
                             "try:\n    main()\nexcept SystemExit:\n    pass")
    assert "render3d.mask.library" in modules or command == ["--help"]
    assert loaded(modules, HEAVY + ("cv2", "moderngl", "render3d.realism", "render3d.mask.occlusion")) == set()


def test_fit_imports_neither_matplotlib_nor_the_audio_tasks():
    modules = imported_after("import skimage.data, render3d\n"
                             "assert render3d.fit(skimage.data.astronaut(), mask='surgical').status == 'ok'")
    assert "mediapipe.python.solutions.face_mesh" in modules and "scipy.spatial" in modules
    assert loaded(modules, ("matplotlib", "sounddevice", "mediapipe.tasks")) == set()


def test_whole_mediapipe_package_still_works_after_the_engine():
    modules = imported_after(
        "import skimage.data, render3d\n"
        "render3d.fit(skimage.data.astronaut())\n"
        "import mediapipe as mp\n"
        "assert mp.__version__ == '0.10.21' and mp.solutions.drawing_utils.draw_landmarks\n"
        "with mp.solutions.face_mesh.FaceMesh(static_image_mode=True) as mesh:\n"
        "    assert len(mesh.process(skimage.data.astronaut()).multi_face_landmarks) == 1\n"
        "assert mp.tasks.vision.FaceLandmarker")
    assert "matplotlib" in modules
