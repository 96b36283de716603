"""One process pool for the whole app, sized to the cores: every session's worlds queue on it, so
twenty browsers share the machine instead of each starting its own processes.

Workers start with the forkserver method (safe beside the web server's threads) and import the
engine once. `workers=0` plays worlds in one thread of the server process instead (tests).
"""
from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
import sys
import threading
from collections import deque
from concurrent.futures import CancelledError, Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from typing import Callable, Iterator, TypeVar

from sim.app.world_cache import TOTAL_BYTES
from sim.app.worlds import WorldJob, WorldOutcome, play_world, warm

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _report_warm_failure(f: Future[bool]) -> None:
    """A worker that failed to warm up still serves worlds (it generates them on demand), but say so."""
    if not f.cancelled() and f.exception() is not None:
        logging.getLogger(__name__).warning("funnelsim app: a pool worker could not pre-generate its worlds: %s",
                                            f.exception())


class WorldPool:
    """Submit world jobs, await their outcomes; shut down once when the app stops."""

    def __init__(self, workers: int | None = None, warm_worlds: tuple[str, int, tuple[int, ...]] | None = None) -> None:
        self.workers = default_workers() if workers is None else workers
        self.warm_worlds = warm_worlds      # (scenario text, seed, replications) each worker generates at start
        self._executor: Executor | None = None
        # The dispatcher: world jobs wait here, each with the future submit() returned, and go to the
        # executor only while fewer than `workers` are in it. A ProcessPoolExecutor moves up to
        # workers + 1 submitted calls into its call queue at once, where cancel() can no longer drop
        # them: a lever moved during a run then waited behind stale worlds. Here a stale world that
        # has not started is always cancellable.
        self._waiting: deque[tuple[WorldJob, Future[WorldOutcome]]] = deque()
        self._in_flight = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._executor is not None:
            return
        if self.workers <= 0:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="funnelsim-world")
            return
        method = "forkserver" if sys.platform.startswith("linux") else "spawn"
        ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            ctx.set_forkserver_preload(["sim.app.worlds"])
        ex = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        text, seed, reps = self.warm_worlds or (None, 0, ())
        share = TOTAL_BYTES // self.workers  # one memory budget for the cached worlds, split
        for _ in range(self.workers):        # start the workers now, not on the first click
            ex.submit(warm, text, seed, reps, share).add_done_callback(_report_warm_failure)
        self._executor = ex

    def submit(self, spec: WorldJob) -> Future[WorldOutcome]:
        """A concurrent future of the world (cancel() drops it if it has not started)."""
        if self._executor is None:
            self.start()
        out: Future[WorldOutcome] = Future()
        with self._lock:
            self._waiting.append((spec, out))
        self._dispatch()
        return out

    def _dispatch(self) -> None:
        """Hand waiting worlds to the executor while fewer than `workers` (at least 1) are in it,
        skipping the ones cancelled meanwhile."""
        while True:
            with self._lock:
                if self._executor is None or not self._waiting or self._in_flight >= max(1, self.workers):
                    return
                spec, out = self._waiting.popleft()
                if not out.set_running_or_notify_cancel():      # cancelled while it waited
                    continue
                self._in_flight += 1
                executor = self._executor
            try:
                inner = executor.submit(play_world, spec)
            except RuntimeError as e:       # the executor is shutting down
                with self._lock:
                    self._in_flight -= 1
                out.set_exception(e)
                continue
            inner.add_done_callback(functools.partial(self._finished, out))

    def _finished(self, out: Future[WorldOutcome], inner: Future[WorldOutcome]) -> None:
        with self._lock:
            self._in_flight -= 1
        if inner.cancelled():
            out.set_exception(CancelledError("the pool stopped before this world ran"))
        elif (exc := inner.exception()) is not None:
            out.set_exception(exc)
        else:
            out.set_result(inner.result())
        self._dispatch()

    def run(self, fn: object, *args: object) -> asyncio.Future[object]:
        """Any picklable top-level call on the pool (a results folder), awaitable."""
        if self._executor is None:
            self.start()
        assert self._executor is not None
        return asyncio.wrap_future(self._executor.submit(fn, *args))  # type: ignore[arg-type]

    def map_unordered(self, fn: Callable[[T], R], items: list[T]) -> Iterator[R]:
        """fn over items on the pool, results as they finish (a classroom round's worlds)."""
        if self._executor is None:
            self.start()
        assert self._executor is not None
        futures = [self._executor.submit(fn, x) for x in items]
        try:
            for f in as_completed(futures):
                yield f.result()
        finally:
            for f in futures:
                f.cancel()

    def shutdown(self) -> None:
        """Stop the workers when the server stops: queued worlds are cancelled, running ones finish
        (a world is well under a second). Waiting matters: without it the server process exits first
        and its pool's worker processes are left running with no parent."""
        with self._lock:
            waiting, self._waiting = list(self._waiting), deque()
            executor, self._executor = self._executor, None
        for _, out in waiting:
            out.cancel()
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
