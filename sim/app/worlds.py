"""The app's unit of work: one world (scenario x seed x replication) with one or two policies played on
it, run in a worker process. Plain data in, plain data out (picklable, small), so the page can
receive each world as soon as it finishes.

The reference and the changed policy meet the same world when the scenario is the same (one
`run_replication`, the world generated once); when the world itself changed (lead volume, a spike,
the response curve) each side plays its own scenario on the same seed and replication, which is
still a paired comparison (common random numbers).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

# Daily series kept per world for the load-over-time chart (window days only).
SERIES = ("queue_at_midnight", "oldest_wait_business_hours")


@dataclass(frozen=True)
class WorldJob:
    """One world to play: the scenario and policies as JSON text (hashable, cached in the worker)."""

    scenario: str
    policies: tuple[str, ...]
    seed: int
    replication: int


@dataclass
class WorldOutcome:
    """Per policy name: its flat KPIs and its daily series; `error` when the world failed."""

    replication: int
    kpis: dict[str, dict[str, float]] = field(default_factory=dict)
    series: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    error: str | None = None
    cpu: float = 0.0              # seconds of the worker's CPU spent on this world (benchmarks/bench_app.py)


def job(scenario: dict[str, Any], policies: list[dict[str, Any]], seed: int, replication: int) -> WorldJob:
    """A job from model dumps (`model_dump(mode="json")`)."""
    return WorldJob(dumps(scenario), tuple(dumps(p) for p in policies), seed, replication)


def dumps(data: dict[str, Any]) -> str:
    """Canonical JSON of a settings dump: equal settings give equal text (the cache key)."""
    return json.dumps(data, sort_keys=True, default=str)


@lru_cache(maxsize=64)
def _scenario(text: str) -> Any:
    from sim.config.scenario import Scenario
    return Scenario.model_validate_json(text)


@lru_cache(maxsize=256)
def _policy(text: str) -> Any:
    from sim.config.policy import Policy
    return Policy.model_validate_json(text)


@lru_cache(maxsize=1)
def worker_worlds() -> Any:
    """This process's cache of generated worlds (one per pool worker, made on first use)."""
    from sim.app.world_cache import WorldCache
    return WorldCache()


def play_world(spec: WorldJob) -> WorldOutcome:
    """Play every policy of the job on its world; an exception becomes `error` (never raised, so a
    bad world cannot break the pool)."""
    start = time.process_time()
    try:
        from sim.experiment.replication import run_replication
        from sim.experiment.world_task import flatten
        from sim.measure.spikes import spike_kpis
        scenario = _scenario(spec.scenario)
        policies = [_policy(p) for p in spec.policies]
        cache = worker_worlds()
        rep = run_replication(scenario, policies, spec.seed, spec.replication,
                              world=cache.world(spec.scenario, scenario, spec.seed, spec.replication),
                              calendar=cache.calendar(spec.scenario, scenario))
        out = WorldOutcome(spec.replication)
        for name in rep.runs:
            d = rep.daily(name)
            out.kpis[name] = {k: float(v) for k, v in {**flatten(rep.runs[name].kpis), **spike_kpis(d, scenario)}.items()
                              if isinstance(v, (int, float))}
            w = d[d["in_window"]]
            out.series[name] = {c: [float(x) for x in w[c].to_numpy()] for c in SERIES}
        out.cpu = time.process_time() - start
        return out
    except Exception as e:  # noqa: BLE001 - reported on the page, the pool keeps serving
        return WorldOutcome(spec.replication, error=f"{type(e).__name__}: {e}")


def warm(scenario: str | None = None, seed: int = 0, replications: tuple[int, ...] = (),
         max_bytes: int | None = None) -> bool:
    """Import the engine in a worker (called once per worker when the pool starts) and generate
    the start scenario's first worlds (`scenario` as `dumps` text), so the first answer of a
    change finds its world in the worker's cache. `max_bytes`: this worker's share of the world
    cache's budget (the pool divides one budget among its workers)."""
    import sim.experiment.replication  # noqa: F401
    import sim.measure.spikes  # noqa: F401
    if max_bytes is not None:
        worker_worlds().max_bytes = max_bytes
    if scenario is not None:
        sc = _scenario(scenario)
        cache = worker_worlds()
        cache.calendar(scenario, sc)
        for r in replications:
            cache.world(scenario, sc, seed, r)
    return True
