"""Batches on a local Ray cluster (the render3d[ray] extra): the same bytes as a local batch, resume,
an actor killed mid-run, an image past the timeout, and `render3d batch --ray` joining a running cluster."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

ray = pytest.importorskip("ray")
pytestmark = [pytest.mark.gl, pytest.mark.mediapipe]

from test_batch import output_files, rows, without_timings
from test_clusters import RENDER3D, counts, small_tree

from render3d.batch.dataset import Item, walk
from render3d.batch.pool import Pool
from render3d.batch.ray_runner import RayPool
from render3d.batch.runner import BatchConfig, ImageWorker, Job, run_batch
from render3d.pipeline import FitOptions


class KillingWorker(ImageWorker):
    """Kills its own actor (SIGKILL) on the first image of id_b it is given, once per run."""

    def __call__(self, job: Job) -> dict:
        flag = self.config.output_dir.parent / f"{self.config.output_dir.name}.killed"
        if job.path.startswith("id_b/"):
            try:
                os.close(os.open(flag, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                pass
            else:
                os.kill(os.getpid(), signal.SIGKILL)
        return super().__call__(job)


class SlowWorker(ImageWorker):
    """Takes ten minutes over id_a/2.jpg."""

    def __call__(self, job: Job) -> dict:
        if job.path == "id_a/2.jpg":
            time.sleep(600)
        return super().__call__(job)


@pytest.fixture(scope="module")
def cluster():
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])     # actors unpickle KillingWorker
    context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield context.address_info["address"]
    ray.shutdown()


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return small_tree(tmp_path_factory.mktemp("photos"))


def config_for(tree, out) -> BatchConfig:
    return BatchConfig(tree, out, FitOptions(min_iou=0.5))


def run(tree, out, pool, worker=ImageWorker, config=None) -> dict:
    return run_batch(config or config_for(tree, out), [Item(p) for p in walk(tree, out)], 2, pool=pool, worker=worker)


@pytest.fixture(scope="module")
def reference(tree, tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    run(tree, out, Pool)
    return out


def test_ray_run_equals_a_local_batch_and_resumes(cluster, tree, reference, tmp_path):
    summary = run(tree, tmp_path, RayPool)
    assert summary["complete"] and summary["this_run"]["images"] == 7
    assert output_files(tmp_path) == output_files(reference)
    assert without_timings(rows(tmp_path)) == without_timings(rows(reference))
    assert counts(summary) == counts(json.loads((reference / "summary.json").read_text()))
    again = run(tree, tmp_path, RayPool)
    assert again["this_run"]["images"] == 0 and again["this_run"]["skipped"] == 7


def test_a_killed_actor_loses_and_duplicates_nothing(cluster, tree, reference, tmp_path):
    out = tmp_path / "out"
    summary = run(tree, out, RayPool, worker=KillingWorker)
    assert (tmp_path / "out.killed").exists()                          # an actor did die mid-run
    assert summary["complete"] and summary["this_run"]["images"] == 7
    lines = (out / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == len({json.loads(line)["path"] for line in lines}) == 7
    assert without_timings(rows(out)) == without_timings(rows(reference))
    assert output_files(out) == output_files(reference)
    assert not list(out.rglob("*.tmp"))


def test_an_image_past_the_timeout_is_a_failure_and_the_rest_are_done(cluster, tree, reference, tmp_path):
    out, start = tmp_path / "out", time.monotonic()
    summary = run(tree, out, RayPool, worker=SlowWorker,
                  config=BatchConfig(tree, out, FitOptions(min_iou=0.5), image_timeout=15))
    assert time.monotonic() - start < 300                               # not the ten minutes
    assert summary["complete"] and summary["this_run"]["images"] == 7
    made = {row["path"]: row for row in without_timings(rows(out))}
    slow = made.pop("id_a/2.jpg")
    assert slow["status"] == "failed" and slow["reason"] == "timeout" and "15 s" in slow["error"]
    assert made == {row["path"]: row for row in without_timings(rows(reference)) if row["path"] != "id_a/2.jpg"}
    assert output_files(out) == {name: data for name, data in output_files(reference).items()
                                 if not name.startswith("id_a/2")}           # none of the slow image's outputs
    assert not list(out.rglob("*.tmp"))


def test_the_command_line_joins_a_running_cluster(cluster, tree, reference, tmp_path):
    listed = tmp_path / "list.txt"
    listed.write_text("id_a/2.jpg\nid_b/3.jpg\n")
    command = [RENDER3D, "batch", tree, tmp_path / "out", "--ray", "--address", cluster, "--workers", 1,
               "--list", listed, "--progress-every", 0]
    result = subprocess.run([str(a) for a in command], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "2 images" in result.stdout
    made = output_files(tmp_path / "out")
    assert sorted(made) == ["id_a/2.json", "id_a/2_mask.png", "id_a/2_masked.jpg", "id_a/2_seg.png", "id_b/3.json"]
    assert made == {name: data for name, data in output_files(reference).items() if name in made}
