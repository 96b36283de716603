"""Generated worlds kept in a pool worker between answers, so a lever that changes only the policy
never generates its world again (about a quarter of a `classroom` world's CPU time: 20 of 80 ms).

A world depends only on (scenario, seed, replication) and the engine never modifies it (a sweep
reuses worlds the same way, see `run_replication`), so a cached world gives exactly the KPIs of a
fresh one. The cache lives in one worker process (each worker has its own); it is bounded in count
and in bytes of the worlds' arrays, least recently used first out.
"""
from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from sim.calendar import BusinessCalendar
    from sim.config.scenario import Scenario
    from sim.world.model import World

MAX_WORLDS = 64                 # worlds per worker (chosen without a source: 3 sessions x 20 worlds)
TOTAL_BYTES = 512 * 2**20       # bytes of arrays across all of a pool's workers (chosen without a
                                # source: a `classroom` world is ~3.5 MB, `baseline` ~9 MB); the pool
                                # gives each worker an equal share, so more cores do not mean more memory
MAX_BYTES = TOTAL_BYTES         # one cache on its own (e.g. workers = 0: worlds played in a thread)
MAX_CALENDARS = 8               # business calendars, one per scenario text


def world_arrays(obj: Any, _seen: set[int] | None = None) -> Iterator[np.ndarray]:
    """The numpy arrays held by a world (its dataclasses, dicts, lists and tuples), each once."""
    import numpy as np
    seen = _seen if _seen is not None else set()
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        yield obj
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from world_arrays(getattr(obj, f.name), seen)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from world_arrays(v, seen)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from world_arrays(v, seen)


def world_bytes(obj: Any) -> int:
    """Bytes of the numpy arrays held by a world."""
    return sum(int(a.nbytes) for a in world_arrays(obj))


def freeze(world: World) -> World:
    """Make a world's arrays read-only: a cached world is shared by every later run of the worker,
    so a run that wrote into it would change the others' answers; it fails loudly instead."""
    for a in world_arrays(world):
        a.flags.writeable = False
    return world


class WorldCache:
    """Worlds by (scenario text, seed, replication) and calendars by scenario text, LRU-bounded."""

    def __init__(self, max_worlds: int = MAX_WORLDS, max_bytes: int = MAX_BYTES) -> None:
        self.max_worlds = max_worlds
        self.max_bytes = max_bytes
        self._worlds: OrderedDict[tuple[str, int, int], tuple[World, int]] = OrderedDict()
        self._calendars: OrderedDict[str, BusinessCalendar] = OrderedDict()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._worlds)

    def __contains__(self, key: tuple[str, int, int]) -> bool:
        return key in self._worlds

    def world(self, text: str, scenario: Scenario, seed: int, replication: int) -> World:
        """`generate_world(scenario, seed, replication)`, generated once; `text` is the scenario's
        canonical JSON (the key: equal text, equal scenario)."""
        key = (text, seed, replication)
        got = self._worlds.get(key)
        if got is not None:
            self._worlds.move_to_end(key)
            self.hits += 1
            return got[0]
        from sim.world.generate import generate_world
        self.misses += 1
        world = freeze(generate_world(scenario, seed, replication))
        size = world_bytes(world)
        if size <= self.max_bytes:          # a world bigger than the whole budget is not kept
            self._worlds[key] = (world, size)
            self.bytes += size
            self._evict()
        return world

    def calendar(self, text: str, scenario: Scenario) -> BusinessCalendar:
        """The scenario's business calendar, built once per scenario text."""
        cal = self._calendars.get(text)
        if cal is None:
            from sim.calendar import BusinessCalendar
            cal = BusinessCalendar.from_scenario(scenario)
            self._calendars[text] = cal
            while len(self._calendars) > MAX_CALENDARS:
                self._calendars.popitem(last=False)
        else:
            self._calendars.move_to_end(text)
        return cal

    def _evict(self) -> None:
        while self._worlds and (len(self._worlds) > self.max_worlds or self.bytes > self.max_bytes):
            _, (_, size) = self._worlds.popitem(last=False)
            self.bytes -= size
