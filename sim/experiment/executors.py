"""Where tasks run: an executor seam on `concurrent.futures.Executor`.

- sequential (default): runs each task when submitted, in this process (fine in notebooks);
- processes (`workers=K`): a local process pool (forkserver start: safe next to the progress bar's
  thread, and workers import the engine once);
- Dask (`dask="local"` starts a LocalCluster; `dask="tcp://host:port"` joins a running scheduler)
  through `distributed.Client.get_executor()`; needs the optional extra `funnelsim[dask]`.

`run_tasks` keeps a bounded number of tasks in flight and hands results back by task id, so the
order of completion never changes the results. Tasks that play on the same world (a sweep's points
that change only policies, in one replication) are sent as one group, so the world is generated
once and the results cross between processes once (see `chunks`).
"""
from __future__ import annotations

import math
import multiprocessing
import sys
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

from sim.experiment.world_task import TaskResult, TaskSpec, execute_group, world_key

CONNECT_TIMEOUT = "10s"    # how long to try reaching a running Dask scheduler
MAX_GROUP = 24             # tasks per group at most: a 20-point sweep's replication is one group (its world
                           # generated and scored once); with several workers, groups are also cut to about
                           # 4 per worker, so progress stays visible; a group's results arrive together


class SequentialExecutor(Executor):
    """Runs each submitted call at once, in the calling process."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        f: Future[Any] = Future()
        try:
            f.set_result(fn(*args, **kwargs))
        except BaseException as e:  # noqa: BLE001 - delivered through the future, like other executors
            if isinstance(e, KeyboardInterrupt):
                raise
            f.set_exception(e)
        return f


class EngineError(RuntimeError):
    """The requested execution engine cannot be started (e.g. Dask not installed)."""


@contextmanager
def make_executor(workers: int = 1, dask: str | None = None) -> Iterator[tuple[Executor, int]]:
    """(executor, parallelism) for the chosen engine; shut down on exit."""
    if dask:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise EngineError("Dask is not installed: pip install 'funnelsim[dask]'") from None
        cluster = None
        if dask == "local":
            cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=40)
            client = Client(cluster)
        else:
            try:
                client = Client(dask, timeout=CONNECT_TIMEOUT)
            except OSError as e:
                raise EngineError(f"cannot reach the Dask scheduler at {dask}: {e}") from None
        try:
            n = max(1, sum(client.nthreads().values()))
            yield client.get_executor(), n
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    elif workers > 1:
        method = "forkserver" if sys.platform.startswith("linux") else "spawn"
        ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            ctx.set_forkserver_preload(["sim.experiment.world_task"])
        ex = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
        try:
            yield ex, workers
        finally:
            ex.shutdown(wait=True, cancel_futures=True)
    else:
        yield SequentialExecutor(), 1


def chunks(tasks: list[TaskSpec], parallelism: int, group: bool = True) -> list[tuple[TaskSpec, ...]]:
    """The tasks as groups sent to the executor, in order of their first task: tasks sharing a
    world (`world_key`) together, split evenly into groups of at most MAX_GROUP tasks and, with
    several workers, small enough that there are about 4 groups per worker. `group=False`: one task
    per group."""
    if not group:
        return [(t,) for t in tasks]
    by_world: dict[str, list[TaskSpec]] = {}
    for t in tasks:
        by_world.setdefault(world_key(t), []).append(t)
    cap = MAX_GROUP if parallelism <= 1 else min(MAX_GROUP, math.ceil(len(tasks) / (4 * parallelism)))
    cap = max(1, cap)
    out = []
    for same in by_world.values():
        k = math.ceil(len(same) / cap)
        size, extra = divmod(len(same), k)
        i = 0
        for j in range(k):
            n = size + (j < extra)
            out.append(tuple(same[i:i + n]))
            i += n
    return out


def run_tasks(executor: Executor, tasks: Iterable[TaskSpec], parallelism: int,
              on_result: Callable[[TaskResult], None], group: bool = True) -> None:
    """Run every task with at most 2 x parallelism groups (see `chunks`) in flight; `on_result`
    sees each result (in completion order; callers key by id). A task whose worker dies becomes an
    error result."""
    pending: dict[Future[list[TaskResult]], tuple[str, ...]] = {}
    limit = max(1, 2 * parallelism)
    it = iter(chunks(list(tasks), parallelism, group))
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) < limit:
                specs = next(it, None)
                if specs is None:
                    exhausted = True
                    break
                pending[executor.submit(execute_group, specs)] = tuple(s.id for s in specs)
            if not pending:
                return
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for f in done:
                tids = pending.pop(f)
                try:
                    results = f.result()
                except Exception as e:  # noqa: BLE001 - e.g. a worker process killed
                    results = [TaskResult(tid, error=f"{type(e).__name__}: {e}") for tid in tids]
                for res in results:
                    on_result(res)
    except BaseException:
        for f in pending:
            f.cancel()
        raise
