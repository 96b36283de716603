"""The app's worker-side world cache: a world taken from the cache gives exactly the KPIs of a
fresh run (same worlds, common random numbers), and the cache stays within its bounds."""
from __future__ import annotations

import math

from sim.app.world_cache import WorldCache, world_bytes
from sim.app.worlds import dumps, job, play_world, warm, worker_worlds
from sim.experiment.replication import run_replication
from sim.experiment.world_task import flatten
from sim.inputs import load_policy, load_scenario

SHORT = [("horizon.window", "28d"), ("horizon.runout", "30d")]


def _same(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def test_a_cached_world_gives_the_kpis_of_a_fresh_run() -> None:
    scenario = load_scenario("workshop", SHORT)
    ref = load_policy("seed-example", []).model_copy(update={"name": "reference"})
    changed = ref.model_copy(update={"name": "changed", "mql": ref.mql.model_copy(update={"threshold": 80})})
    sc = scenario.model_dump(mode="json")
    first = play_world(job(sc, [ref.model_dump(mode="json")], 11, 3))            # generates world 3
    assert (dumps(sc), 11, 3) in worker_worlds()
    again = play_world(job(sc, [changed.model_dump(mode="json")], 11, 3))        # takes it from the cache
    assert first.error is None and again.error is None
    fresh = run_replication(scenario, [ref, changed], 11, 3)                     # the normal runner
    for name, out in (("reference", first), ("changed", again)):
        want = {k: float(v) for k, v in flatten(fresh.runs[name].kpis).items() if isinstance(v, (int, float))}
        got = {k: v for k, v in out.kpis[name].items() if k in want}
        assert _same(got, want), name


def test_a_cached_world_cannot_be_changed_by_a_run() -> None:
    """A cached world serves every later answer of its worker: its arrays are read-only, so a run
    that wrote into one would fail instead of changing the answers after it."""
    import numpy as np
    import pytest

    from sim.app.world_cache import world_arrays

    scenario = load_scenario("workshop", SHORT)
    cache = WorldCache()
    world = cache.world(dumps(scenario.model_dump(mode="json")), scenario, 5, 0)
    arrays = list(world_arrays(world))
    assert len(arrays) > 10 and not any(a.flags.writeable for a in arrays)
    with pytest.raises(ValueError, match="read-only"):
        world.arrival[0] = np.inf
    run_replication(scenario, [load_policy("seed-example", [])], 5, 0, world=world)   # the engine only reads


def test_warm_generates_the_first_worlds_of_the_start_scenario() -> None:
    scenario = load_scenario("workshop", SHORT)
    text = dumps(scenario.model_dump(mode="json"))
    assert warm(text, 5, (0, 1))
    assert (text, 5, 0) in worker_worlds() and (text, 5, 1) in worker_worlds()


def test_the_cache_is_bounded_in_count_and_bytes_least_recent_out() -> None:
    scenario = load_scenario("workshop", SHORT)
    text = dumps(scenario.model_dump(mode="json"))
    by_count = WorldCache(max_worlds=2)
    for r in range(3):
        by_count.world(text, scenario, 1, r)
    by_count.world(text, scenario, 1, 1)                # a hit: world 1 becomes the most recent
    assert len(by_count) == 2 and (text, 1, 0) not in by_count and by_count.hits == 1
    size = world_bytes(by_count.world(text, scenario, 1, 1))
    by_bytes = WorldCache(max_bytes=int(size * 1.5))
    for r in range(3):
        by_bytes.world(text, scenario, 1, r)
        assert by_bytes.bytes <= by_bytes.max_bytes
    assert len(by_bytes) == 1
    tiny = WorldCache(max_bytes=1)                      # a world bigger than the budget is not kept
    tiny.world(text, scenario, 1, 0)
    assert len(tiny) == 0 and tiny.bytes == 0


def test_worlds_not_started_stay_cancellable_in_a_process_pool() -> None:
    """The pool hands a world to its processes only when one is free: a lever moved during a run
    cancels every world not yet started (a ProcessPoolExecutor alone moves workers + 1 of them into
    its call queue, beyond cancel(), and the new setting waited behind them)."""
    import time

    from sim.app.pool import WorldPool

    sc = load_scenario("workshop", SHORT).model_dump(mode="json")
    slow = load_scenario("baseline", [("arrivals.leads_per_year", 400_000)]).model_dump(mode="json")
    pol = load_policy("seed-example", []).model_dump(mode="json")
    pool = WorldPool(1)
    try:
        futures = [pool.submit(job(slow, [pol], 2, 0))] + [pool.submit(job(sc, [pol], 2, r)) for r in range(5)]
        deadline = time.monotonic() + 60
        while not futures[0].running() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)                     # the slow world runs on; an executor moves calls into its queue
        assert not futures[0].done()
        cancelled = sum(f.cancel() for f in futures)
        assert cancelled >= 5
        done = [f.result(timeout=60) for f in futures if not f.cancelled()]
        assert all(o.error is None for o in done)
        assert pool.submit(job(sc, [pol], 2, 9)).result(timeout=60).error is None     # the pool still serves
    finally:
        pool.shutdown()
