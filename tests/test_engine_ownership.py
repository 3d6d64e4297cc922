"""An engine belongs to one process and one thread: a forked process or another thread gets its own
or a clear EngineError, a GL failure raises, and nothing hangs or silently falls back."""
from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest

import render3d
from render3d.batch.runner import Job
from render3d.errors import EngineError
from render3d.pipeline import Engine, FitOptions

pytestmark = [pytest.mark.gl, pytest.mark.mediapipe]      # end to end: the engine, EGL and MediaPipe

FORK_TIMEOUT_S = 180


def in_thread(function):
    """What `function()` returns or raises when called in a new thread."""
    outcome = {}

    def run():
        try:
            outcome["value"] = function()
        except BaseException as exc:            # handed back to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return outcome


def test_default_engine_in_another_thread_works(astronaut):
    here = render3d.fit(astronaut, min_iou=0.5)
    there = in_thread(lambda: render3d.fit(astronaut, min_iou=0.5))["value"]
    assert [f.status for f in there.faces] == ["ok"]
    assert np.array_equal(there.composite, here.composite)
    assert np.array_equal(there.segmentation, here.segmentation)


def test_an_engine_used_from_another_thread_raises(astronaut):
    engine = Engine()
    error = in_thread(lambda: engine.fit(astronaut, FitOptions(min_iou=0.5))).get("error")
    assert isinstance(error, EngineError) and "one Engine per process and thread" in str(error)
    assert engine.fit(astronaut, FitOptions(min_iou=0.5)).status == "ok"      # still fine at home


def test_a_gl_failure_raises_instead_of_falling_back(astronaut):
    """A render in a thread where the GL context cannot be made current (another thread holds it):
    every GL call fails ("cannot create renderbuffer"), and the fit raises instead of falling back."""
    engine = Engine()
    held, release = threading.Event(), threading.Event()

    def hold_the_context():
        with engine.renderer.ctx:
            held.set()
            release.wait()

    def fit_here():
        engine.owner = (engine.owner[0], threading.get_ident())        # past the engine's own check
        return engine.fit(astronaut, FitOptions(min_iou=0.5))

    holder = threading.Thread(target=hold_the_context)
    holder.start()
    held.wait()
    try:
        error = in_thread(fit_here).get("error")
    finally:
        release.set()
        holder.join()
    assert isinstance(error, EngineError) and "GL failed" in str(error)


def test_engines_in_one_thread_do_not_disturb_each_other(astronaut, engine):
    """Each render makes its own context current: another engine's, made current since, is no harm."""
    before = engine.fit(astronaut, FitOptions(min_iou=0.5))
    other = Engine()                                    # its GL context is now the thread's current one
    assert in_thread(lambda: render3d.fit(astronaut, min_iou=0.5))["value"].status == "ok"
    assert other.fit(astronaut, FitOptions(min_iou=0.5)).status == "ok"
    after = engine.fit(astronaut, FitOptions(min_iou=0.5))
    assert after.status == "ok" and np.array_equal(after.composite, before.composite)


FORK_SCRIPT = """
import multiprocessing, os, sys
import numpy as np, skimage.data, render3d

image = skimage.data.astronaut()


def child_fit(index):
    try:
        return render3d.fit(image, min_iou=0.5).composite
    except render3d.EngineError as exc:
        return str(exc)


if __name__ != "__main__":
    pass
elif sys.argv[1] == "os.fork":
    parent = render3d.fit(image, min_iou=0.5)
    pid = os.fork()
    if pid == 0:
        os._exit(3 if "forked" in child_fit(0) else 4)
    _, status = os.waitpid(pid, 0)
    print("child exit", os.waitstatus_to_exitcode(status))
else:
    parent = render3d.fit(image, min_iou=0.5)
    with multiprocessing.get_context(sys.argv[1]).Pool(2) as pool:
        results = pool.map(child_fit, range(2))
    for result in results:
        print("same" if isinstance(result, np.ndarray) and np.array_equal(result, parent.composite) else result)
"""


def run_fork_script(method: str, folder) -> list[str]:
    script = folder / "fork_after_use.py"
    script.write_text(FORK_SCRIPT)
    done = subprocess.run([sys.executable, str(script), method], capture_output=True, text=True,
                          timeout=FORK_TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.splitlines()


def test_os_fork_after_use_refuses_clearly_in_the_child(tmp_path):
    assert run_fork_script("os.fork", tmp_path) == ["child exit 3"]


def test_fork_pool_after_use_raises_a_clear_error_and_does_not_hang(tmp_path):
    lines = run_fork_script("fork", tmp_path)
    assert len(lines) == 2 and all("forked" in line and "spawn" in line for line in lines), lines


def test_spawn_pool_after_use_gives_the_parents_bytes(tmp_path):
    assert run_fork_script("spawn", tmp_path) == ["same", "same"]


class BrokenEngineWorker:
    """A batch worker whose GL context fails, as it does where EGL breaks mid-run."""

    def __init__(self, config, device=None):
        self.config = config

    def __call__(self, job: Job) -> dict:
        raise EngineError("GL failed in render: cannot create renderbuffer")


def test_a_broken_engine_stops_a_batch_instead_of_failing_every_image(tmp_path):
    from render3d.batch.dataset import Item
    from render3d.batch.runner import BatchConfig, run_batch

    photos = tmp_path / "in"
    photos.mkdir()
    config = BatchConfig(photos, tmp_path / "out", FitOptions())
    with pytest.raises(EngineError, match="cannot create renderbuffer"):
        run_batch(config, [Item(f"{i}.jpg") for i in range(4)], workers=1, worker=BrokenEngineWorker)
    assert (tmp_path / "out/manifest.jsonl").read_bytes() == b""        # no image recorded as failed
