"""Worker processes for batches: long-lived, each set up once, one job at a time.

Processes are started with 'spawn' (a GL context or the landmark model must not be forked).
Each worker calls `setup()` once (for a batch: create the engine), then runs the handler it
returned on every job it is sent. A worker that dies, in native code or killed, is noticed
through its process sentinel: its job comes back as `Crashed` and a fresh worker replaces it.
A job that runs past the pool's `job_timeout` has its worker killed and comes back as `TimedOut`.
Workers start with SIGINT and SIGTERM held back, then ignore them (the parent decides when to
stop), and die with their parent (PR_SET_PDEATHSIG on Linux, and a check of the parent's pid).
"""
from __future__ import annotations

import ctypes
import faulthandler
import multiprocessing
import os
import signal
import sys
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from render3d.errors import EngineError, Render3DError

Setup = Callable[[], Callable[[Any], Any]]
JOIN_TIMEOUT_S = 10.0
PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class Crashed:
    """The result of a job whose worker died before answering."""
    exitcode: int | None

    def describe(self) -> str:
        """The crash in words: the signal that killed the worker, or its exit code."""
        if self.exitcode is not None and self.exitcode < 0:
            return f"worker crashed ({signal.Signals(-self.exitcode).name})"
        return f"worker crashed (exit code {self.exitcode})"


@dataclass(frozen=True)
class TimedOut:
    """The result of a job that ran longer than the pool's job timeout (its worker was killed)."""
    seconds: float

    def describe(self) -> str:
        """The failure in words, for the manifest."""
        return f"took more than {self.seconds:g} s"


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent dies; exit now if it already has."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


@contextmanager
def stop_signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back (block them) while starting a process: it starts with them blocked
    (until it ignores them), so a Ctrl-C during its start-up cannot kill it with a traceback, and one
    that reaches this process meanwhile is delivered afterwards, not lost."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def worker_main(conn: Connection, setup: Setup, log: Path | None, parent: int) -> None:
    """A worker process: set up, then answer jobs until told to stop.

    Ctrl-C and SIGTERM, which reach the whole process group, are left to the parent: it lets the
    job under way finish. A worker dies with its parent. An EngineError (a broken GL context)
    is sent back instead of an answer: it stops the pool.
    """
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    die_with_parent(parent)
    if log is not None:          # native libraries print to fds 1 and 2: keep them off the terminal
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o666)
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
            try:
                conn.send(("done", handler(job)))
            except EngineError as exc:
                conn.send(("engine_failed", str(exc)))
                return
    except (EOFError, BrokenPipeError):
        pass                     # the parent is gone


class Worker:
    """A worker process and the pipe to it; `job` is the work it holds."""
    def __init__(self, context, setup: Setup, log: Path | None):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=worker_main, args=(child, setup, log, os.getpid()), daemon=True)
        with stop_signals_held():
            self.process.start()
        child.close()
        self.ready = False
        self.job: Any = None
        self.busy = False
        self.started = 0.0       # when its job started running (monotonic seconds), once ready

    def send(self, job: Any) -> None:
        """Hand the worker a job and mark it busy."""
        self.job, self.busy, self.started = job, True, time.monotonic()
        self.conn.send(job)

    def overdue(self, timeout: float | None) -> bool:
        """Whether the job under way has run past `timeout` seconds."""
        return timeout is not None and self.busy and self.ready and time.monotonic() - self.started > timeout

    def receive(self) -> tuple[str, Any] | None:
        """The worker's next message, or None when it has died."""
        try:
            return self.conn.recv() if self.conn.poll() else None
        except (EOFError, OSError):
            return None


class Pool:
    """`size` spawned workers; `run` yields (job, result, Crashed or TimedOut) as jobs finish, in any
    order. A job's time (`job_timeout` seconds, None: no limit) counts from its worker being ready.

    Jobs may be anything picklable but None (which tells a worker to exit).
    """

    def __init__(self, size: int, setup: Setup, log: Path | None = None, job_timeout: float | None = None):
        self.context = multiprocessing.get_context("spawn")
        self.setup, self.log, self.job_timeout = setup, log, job_timeout
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
            waited = [w.conn for w in busy] + [w.process.sentinel for w in busy]
            ready = set(wait(waited, self.until_overdue(busy)))
            for worker in busy:
                if worker.overdue(self.job_timeout):
                    worker.process.kill()
                    self.replace(worker)
                    dispatch(self.workers[-1])
                    yield worker.job, TimedOut(self.job_timeout)
                    continue
                if worker.conn not in ready and worker.process.sentinel not in ready:
                    continue
                message = worker.receive()
                if message is None:
                    crashed = self.replace(worker, stopping())
                    if crashed is None:
                        continue
                    dispatch(self.workers[-1])
                    yield worker.job, crashed
                    continue
                kind, payload = message
                if kind == "setup_failed":
                    raise Render3DError(f"a worker could not start: {payload}")
                if kind == "engine_failed":
                    raise EngineError(payload)
                if kind == "ready":
                    worker.ready, worker.started = True, time.monotonic()
                    continue
                job, worker.busy = worker.job, False
                dispatch(worker)
                yield job, payload

    def until_overdue(self, busy: list[Worker]) -> float | None:
        """Seconds until the first running job is overdue (None: no job has a limit running)."""
        deadlines = [w.started + self.job_timeout for w in busy if w.ready] if self.job_timeout else []
        return max(0.0, min(deadlines) - time.monotonic()) + 0.01 if deadlines else None

    def replace(self, dead: Worker, stopping: bool = False) -> Crashed | None:
        """Swap a dead worker for a fresh one. A worker that dies while starting stops the pool,
        unless the run is stopping (it was killed along with us): then it is dropped (None)."""
        dead.process.join()
        crashed = Crashed(dead.process.exitcode)
        if not dead.ready and not stopping:
            raise Render3DError(f"a worker could not start: {crashed.describe()}")
        dead.conn.close()
        self.workers.remove(dead)
        if not dead.ready:
            return None
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
        stop_resource_tracker()

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, exc_type, *_) -> None:
        self.close(abandon=exc_type is not None)


def stop_resource_tracker() -> None:
    """Stop the helper process that 'spawn' starts beside its workers, and wait for it, so that none
    outlives the pool (multiprocessing starts it again if it is needed later)."""
    from multiprocessing import resource_tracker

    stop = getattr(resource_tracker._resource_tracker, "_stop", None)
    if stop is not None:
        stop()
