"""Scoring shared by the policies of one world that differ only in what decides an MQL (a threshold
sweep's points; a comparison of thresholds): the threshold-free score trajectory (`scoring.py`) is
computed once and each policy's MQLs are read off it. Results are exactly those of scoring each
policy alone (tests/test_shared_scoring.py).

Not shared: a recycled lead's re-MQL search (`oracle.next_mql`, about as costly per world as first
scoring in a threshold sweep). Sharing its threshold-free steps per (lead, first event after the
recycle) was tried: only about half the searches of 10 thresholds repeat one, and scoring a lead's
whole suffix once cost more than the lazy searches it replaced (benchmarks/README.md, Sweeps).

Why an object passed in rather than a module-level cache: no global state, and it knows what is to
come. One is built per replication (or per group of a sweep's tasks on one world) with every policy
it will score, so it keeps a trajectory only while a later policy needs it.
"""
from __future__ import annotations

import dataclasses
import json
from collections import Counter, OrderedDict
from collections.abc import Iterable

import numpy as np

from sim.config.policy import Policy
from sim.decisions.mql import Rules
from sim.decisions.scoring import ScoreTrajectory, chunk_bounds, score_trajectory
from sim.world.model import World

# What `score_trajectory` reads of a policy: icp, scoring and these mql fields. The other mql fields
# (threshold, thresholds_by_size, fit_min, behaviour_min, high_intent; unit and account, which lead
# scoring does not read) only decide which events are MQLs (`first_mqls`).
TRAJECTORY_MQL_FIELDS = ("rule", "gates", "fast_lane")
MAX_SHARED_EVENTS = 1 << 22   # worlds with more events are scored per policy (a kept trajectory: ~18 B an event)
MAX_SHARED_BYTES = 128 << 20  # kept trajectories at most (one at the event limit is 78-110 MiB; a group
                              # comparing policies that score differently would otherwise keep several)


def trajectory_bytes(kept: list[ScoreTrajectory]) -> int:
    """Bytes of the arrays of a world's kept trajectories (one per chunk of leads)."""
    return sum(int(a.nbytes) for t in kept for f in dataclasses.fields(t) if isinstance(a := getattr(t, f.name), np.ndarray))


def trajectory_key(policy: Policy) -> str:
    """Policies with equal keys have the same score trajectory on any world."""
    return json.dumps([policy.icp.model_dump(mode="json"), policy.scoring.model_dump(mode="json"),
                       policy.mql.model_dump(mode="json", include=set(TRAJECTORY_MQL_FIELDS))], sort_keys=True)


class SharedScoring:
    """The score trajectories of one world, kept for the policies still to come that share them.

    Built with every policy that will be scored on `world`, in any order (a replication's policies, or
    every point of a sweep's group of tasks on one world): a trajectory is computed at the first
    policy of its `trajectory_key` that has a later one, and dropped when the last has read it. So a
    threshold sweep scores each world once, and a single policy keeps nothing. At most `max_entries`
    and `max_bytes` are kept (least recently used dropped first; a later policy of a dropped key
    scores on its own), and none for worlds of more than `max_events` events, whose trajectories
    would cost more memory than their recomputation costs time."""

    def __init__(self, world: World, policies: Iterable[Policy], max_entries: int = 4,
                 max_events: int = MAX_SHARED_EVENTS, max_bytes: int = MAX_SHARED_BYTES) -> None:
        self.world = world
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0                # of the kept trajectories
        self.active = int(world.event_offsets[-1]) <= max_events and not world.mql_at_arrival
        self._uses = Counter(trajectory_key(p) for p in policies) if self.active else Counter()
        self._kept: OrderedDict[tuple[str, int], list[ScoreTrajectory]] = OrderedDict()
        self.computed = 0             # trajectories computed here (each one then shared)

    @property
    def kept(self) -> int:
        """How many trajectories are held now (each for a later policy)."""
        return len(self._kept)

    def trajectories(self, world: World, policy: Policy, r: Rules, chunk: int) -> list[ScoreTrajectory] | None:
        """The trajectories of `world`'s chunks of leads under `policy` (compiled: `r`) when another
        expected policy shares them; None when none does (the caller scores on its own)."""
        if world is not self.world:
            raise ValueError("SharedScoring: built on another world")
        if not self.active:
            return None
        key = trajectory_key(policy)
        left = self._uses[key]
        if not left:                  # a policy it was not built with: use what is kept, change nothing
            return self._kept.get((key, chunk))
        self._uses[key] = left - 1
        kept = self._kept.pop((key, chunk), None)
        if kept is not None:
            self.bytes -= trajectory_bytes(kept)
        if kept is None:
            if left <= 1:
                return None
            bounds = chunk_bounds(world.n, chunk)
            kept = ([score_trajectory(world, r)] if len(bounds) == 1
                    else [score_trajectory(world.leads(a, z), r) for a, z in bounds])
            self.computed += 1
        size = trajectory_bytes(kept)
        if left > 1 and size <= self.max_bytes:
            self._kept[(key, chunk)] = kept
            self.bytes += size
            while len(self._kept) > self.max_entries or self.bytes > self.max_bytes:
                _, dropped = self._kept.popitem(last=False)
                self.bytes -= trajectory_bytes(dropped)
        return kept
