"""Worker processes for batches: long-lived, each set up once, one job at a time.

Processes are started with 'spawn' (a GL context or the landmark model must not be forked).
Each worker calls `setup()` once (for a batch: create the engine), then runs the handler it
returned on every job it is sent. A worker that dies, in native code or killed, is noticed
through its process sentinel: its job comes back as `Crashed` and a fresh worker replaces it.
"""
from __future__ import annotations

import faulthandler
import multiprocessing
import os
import signal
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from render3d.errors import Render3DError

Setup = Callable[[], Callable[[Any], Any]]
JOIN_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Crashed:
    """The result of a job whose worker died before answering."""
    exitcode: int | None

    def describe(self) -> str:
        """The crash in words: the signal that killed the worker, or its exit code."""
        if self.exitcode is not None and self.exitcode < 0:
            return f"worker crashed ({signal.Signals(-self.exitcode).name})"
        return f"worker crashed (exit code {self.exitcode})"


def worker_main(conn: Connection, setup: Setup, log: Path | None) -> None:
    """A worker process: set up, then answer jobs until told to stop.

    Ctrl-C and SIGTERM, which reach the whole process group, are left to the parent: it lets the
    job under way finish. A worker whose parent is gone exits after its job.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if log is not None:          # native libraries print to fds 1 and 2: keep them off the terminal
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    faulthandler.enable()        # a native crash leaves its traceback in the log
    try:
        handler = setup()
    except Exception as exc:
        conn.send(("setup_failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    try:
        for job in iter(conn.recv, None):
            conn.send(("done", handler(job)))
    except (EOFError, BrokenPipeError):
        pass                     # the parent is gone


class Worker:
    """A worker process and the pipe to it; `job` is the work it holds."""
    def __init__(self, context, setup: Setup, log: Path | None):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=worker_main, args=(child, setup, log), daemon=True)
        self.process.start()
        child.close()
        self.ready = False
        self.job: Any = None
        self.busy = False

    def send(self, job: Any) -> None:
        """Hand the worker a job and mark it busy."""
        self.job, self.busy = job, True
        self.conn.send(job)

    def receive(self) -> tuple[str, Any] | None:
        """The worker's next message, or None when it has died."""
        try:
            return self.conn.recv() if self.conn.poll() else None
        except (EOFError, OSError):
            return None


class Pool:
    """`size` spawned workers; `run` yields (job, result or Crashed) as jobs finish, in any order.

    Jobs may be anything picklable but None (which tells a worker to exit).
    """

    def __init__(self, size: int, setup: Setup, log: Path | None = None):
        self.context = multiprocessing.get_context("spawn")
        self.setup, self.log = setup, log
        self.workers = [Worker(self.context, setup, log) for _ in range(size)]

    def run(self, jobs: Iterable, stopping: Callable[[], bool] = lambda: False) -> Iterator[tuple[Any, Any]]:
        """Run `jobs`; once `stopping()` is true no new job starts, and those under way finish."""
        pending = iter(jobs)

        def dispatch(worker: Worker) -> None:
            job = None if stopping() else next(pending, None)
            if job is not None:
                worker.send(job)

        for worker in self.workers:
            dispatch(worker)
        while busy := [w for w in self.workers if w.busy]:
            ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy]))
            for worker in busy:
                if worker.conn not in ready and worker.process.sentinel not in ready:
                    continue
                message = worker.receive()
                if message is None:
                    yield worker.job, self.replace(worker)
                    dispatch(self.workers[-1])
                    continue
                kind, payload = message
                if kind == "setup_failed":
                    raise Render3DError(f"a worker could not start: {payload}")
                if kind == "ready":
                    worker.ready = True
                    continue
                job, worker.busy = worker.job, False
                dispatch(worker)
                yield job, payload

    def replace(self, dead: Worker) -> Crashed:
        """Swap a dead worker for a fresh one; a worker that dies while starting stops the pool."""
        dead.process.join()
        crashed = Crashed(dead.process.exitcode)
        if not dead.ready:
            raise Render3DError(f"a worker could not start: {crashed.describe()}")
        dead.conn.close()
        self.workers.remove(dead)
        self.workers.append(Worker(self.context, self.setup, self.log))
        return crashed

    def close(self, abandon: bool = False) -> None:
        """Stop the workers: let them finish their job and exit, or (`abandon`) kill them."""
        for worker in self.workers:
            if abandon:
                worker.process.kill()
            else:
                with suppress(OSError):
                    worker.conn.send(None)
        for worker in self.workers:
            worker.process.join(JOIN_TIMEOUT_S)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, exc_type, *_) -> None:
        self.close(abandon=exc_type is not None)
