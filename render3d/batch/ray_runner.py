"""Batches on Ray Data (`render3d batch --ray`, the `render3d[ray]` extra): actors in place of worker processes.

`RayPool` has the interface of render3d.batch.pool.Pool, so `run_batch` drives a Ray run as it
drives a local one: the same file list, per-image seeds, output layout, resume and per-image
timeout; only the driver writes the manifest, one fsync'd row as each comes back. Each actor masks
its images in one worker process of its own (a render3d.batch.pool.Pool of one): the engine lives
on that process's main thread, not on Ray's call threads, and an image past the timeout has that
process killed and comes back as `TimedOut`, its outputs unwritten. Ray restarts an actor that
dies (killed, out of memory, a lost node; an actor whose worker crashes dies too) and retries its
image elsewhere; outputs are renamed into place whole, so a retried image is written once more
with the same bytes and its row still comes back once.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import warnings
from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np
import ray
import ray.data
from ray import cloudpickle
from ray.util.annotations import RayDeprecationWarning

from render3d.batch.pool import Crashed, Pool, TimedOut
from render3d.batch.runner import Job
from render3d.errors import Render3DError

ACTOR_CPUS = 1.0
MAX_BLOCKS = 100_000         # blocks of one image up to this many (a retried block re-masks only its images)
FAILED = "failed"            # the key of an actor's answer when its engine could not start or broke
TIMED_OUT = "timed_out"      # the key of an actor's answer for an image past the timeout: the seconds allowed
TASK_RETRIES = 2             # tries after an actor died on an image, before it is recorded as worker_crashed


class ActorLost(Crashed):
    """The result of an image whose actor died on every try."""

    def describe(self) -> str:
        """The failure in words, for the manifest."""
        return f"Ray actor died on each of {TASK_RETRIES + 1} tries"


def set_up_pickled(setup: bytes) -> Callable[[Job], dict]:
    """Run a setup that Ray's cloudpickle pickled, so that the actor's worker gets it as Ray shipped it to the
    actor: by value where Ray was told to (register_pickle_by_value)."""
    return cloudpickle.loads(setup)()


class ImageActor:
    """A Ray Data actor: masks batches of jobs (render3d.batch.runner.Job) in its one worker process, `job_timeout`
    seconds at most per image (None: no limit)."""

    def __init__(self, setup: Callable[[], Callable[[Job], dict]], job_timeout: float | None):
        self.pool = Pool(1, partial(set_up_pickled, cloudpickle.dumps(setup)), job_timeout=job_timeout)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        jobs = [cloudpickle.loads(job) for job in batch["job"]]
        paths = [job.path for job in jobs]
        try:
            results = {job.path: result for job, result in self.pool.run(jobs)}
        except Render3DError as exc:            # the driver stops the run, as it does for a local worker
            return {"path": paths, "row": [json.dumps({FAILED: str(exc)})] * len(paths)}
        if any(isinstance(result, Crashed) for result in results.values()):
            os.kill(os.getpid(), signal.SIGKILL)    # die with the worker: Ray retries the image on a fresh actor
        return {"path": paths, "row": [json.dumps({TIMED_OUT: results[path].seconds}
                                                  if isinstance(results[path], TimedOut) else results[path])
                                       for path in paths]}


class RayPool:
    """`size` Ray Data actors; `run` yields (path, manifest row) as images finish, in any order.

    Joins the cluster at `address` ('auto', 'ray://host:10001', or None for a new local one) unless
    Ray is already initialised in this process. Actors' own logs stay in Ray's session logs, so `log`
    is not used. An image that runs past `job_timeout` seconds comes back as `TimedOut`.
    """

    def __init__(self, size: int, setup: Callable, log: Path | None = None, job_timeout: float | None = None,
                 address: str | None = None, actor_cpus: float = ACTOR_CPUS):
        self.size, self.setup, self.job_timeout, self.actor_cpus = size, setup, job_timeout, actor_cpus
        self.owned = not ray.is_initialized()
        if self.owned:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        logging.getLogger("ray.data").setLevel(logging.ERROR)     # keep job logs to render3d's progress lines
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.max_errored_blocks = -1      # an image that keeps killing its actor is failed, not the run

    def run(self, jobs: Iterable[Job], stopping: Callable[[], bool] = lambda: False) -> Iterator[tuple[Job, Any]]:
        """Mask `jobs`; once `stopping()` is true no more rows are taken (the rest resume).

        Each job comes back once; one whose actor died on every try comes back as `Crashed`.
        """
        jobs = {job.path: job for job in jobs}
        dataset = ray.data.from_items([{"job": cloudpickle.dumps(job)} for job in jobs.values()],
                                      override_num_blocks=min(len(jobs), MAX_BLOCKS))
        with warnings.catch_warnings():          # Ray names no other way to bound retries before 2.64
            warnings.simplefilter("ignore", RayDeprecationWarning)
            rows = dataset.map_batches(ImageActor, fn_constructor_args=(self.setup, self.job_timeout), batch_size=1,
                                       batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=self.size),
                                       num_cpus=self.actor_cpus, max_task_retries=TASK_RETRIES)
        returned = set()
        for row in rows.iter_rows():
            if stopping():
                return
            result = json.loads(row["row"])
            if FAILED in result:
                raise Render3DError(f"a Ray actor failed: {result[FAILED]}")
            if row["path"] not in returned:        # a block retried after yielding some rows
                returned.add(row["path"])
                yield jobs[row["path"]], TimedOut(result[TIMED_OUT]) if TIMED_OUT in result else result
        for path, job in jobs.items():
            if path not in returned:
                yield job, ActorLost(None)

    def close(self) -> None:
        """Shut Ray down when this pool started it."""
        if self.owned:
            ray.shutdown()

    def __enter__(self) -> RayPool:
        return self

    def __exit__(self, *_) -> None:
        self.close()
