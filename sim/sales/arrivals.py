"""The initial MQL episodes of a run kept as columns by arrival position, made into objects only
when a worker takes one (deferred arrivals).

In a run whose initial MQLs wait in one pooled FIFO queue and no timer touches a waiting item (the
default routing, no SLA breach action, no reassignment, no patience), an MQL that has arrived but
not been taken needs nothing but its position in arrival order: its lead, time, tier and score are
already in the stage's arrival arrays. `sim.sales.queues.ArrivalFifo` queues positions; this module
makes the episode when a worker takes it, folds the closed ones back into columns at midnight, and
puts the run's episodes back in opening order at the end. In a backlog that never clears (1M leads
on 6 reps: 99.5% of episodes still wait at the end), an MQL costs ~25 bytes of columns instead of
~400 bytes of Python objects, and opening it is a list append instead of an object.
"""
from __future__ import annotations

from array import array
from typing import Any

import numpy as np

from sim.sales.draws import AttemptLuck
from sim.sales.episode import NAN, OPEN, Episode
from sim.sales.log import EPISODE_COLUMNS, MIN_CHUNK, EpisodeLog
from sim.sales.params import EngineParams
from sim.sales.queues import FifoQueue
from sim.sales.routing import Assignment

LUCK_BLOCK = 4096    # first episodes whose attempt luck is drawn at a time, as workers reach them


def defers(p: EngineParams, route: Assignment, threads: object | None) -> bool:
    """May the run keep waiting initial MQLs as positions? Only if they wait in one pooled FIFO
    queue (no gate), nothing touches a waiting item before a worker takes it (no SLA breach action,
    reassignment or patience timer) and an item is one lead (no multi-threaded cadence)."""
    return (route.shared and route.gate is None and type(route.queues[0]) is FifoQueue
            and p.breach_action == "none" and p.reassign_after is None and p.patience is None
            and threads is None and not p.staffed)


class FirstEpisodes:
    """Every initial MQL episode of a run, by arrival position: the fixed fields from the arrival
    arrays, the ones a run changes (attempts, first touch, end, status) as columns. `make(i)` gives
    the object of the episode at position i when a worker takes it (kept in `items` while it may
    still change); `compact()` writes the closed ones at the front of `items` back into the columns."""

    __slots__ = ("leads", "times", "tiers", "scores", "stride", "luck", "attempts", "first_touch", "end_time", "status",
                 "items")

    def __init__(self, leads: np.ndarray, times: np.ndarray, tiers: np.ndarray, scores: np.ndarray, stride: int,
                 luck: AttemptLuck):
        n = leads.shape[0]
        self.luck = luck                                 # drawn on demand (upfront=False), LUCK_BLOCK at a time
        self.leads, self.times, self.tiers, self.scores = leads, times, tiers, scores
        self.stride = stride                             # Episode.row = position x stride (attempt luck offset)
        self.attempts = np.zeros(n, np.int64)
        self.first_touch = np.full(n, NAN)
        self.end_time = np.full(n, NAN)
        self.status = np.full(n, OPEN, np.int8)
        self.items: list[Episode] = []                   # taken, possibly still changing, oldest first

    def make(self, i: int) -> Episode:
        """The episode at arrival position i, as the feeder would have opened and queued it, now taken."""
        luck = self.luck
        if i >= luck.drawn:
            luck.draw_to(min(i + LUCK_BLOCK, self.leads.shape[0]))
        ep = Episode(self.leads.item(i), 0, self.times.item(i), self.tiers.item(i), self.scores.item(i),
                     i * self.stride)
        ep.version = ep.pushes = 1          # pushed once (at its arrival), taken now
        ep.ready = ep.mql_time
        self.items.append(ep)
        return ep

    def ready_of(self, i: int) -> float:
        """When the episode at position i became ready: its arrival."""
        return float(self.times[i])

    def compact(self) -> None:
        """Write the longest run of closed episodes at the front of `items` back into the columns (at
        least MIN_CHUNK at a time): a closed episode never changes again (not with a `cover` cadence,
        which never defers arrivals)."""
        items, n = self.items, 0
        for ep in items:
            if ep.status == OPEN:
                break
            n += 1
        if n >= MIN_CHUNK:
            self._write(items[:n])
            del items[:n]

    def _write(self, eps: list[Episode]) -> None:
        at = np.fromiter((ep.row for ep in eps), np.int64, len(eps)) // self.stride
        self.attempts[at] = np.fromiter((ep.attempts for ep in eps), np.int64, len(eps))
        self.first_touch[at] = np.fromiter((ep.first_touch for ep in eps), np.float64, len(eps))
        self.end_time[at] = np.fromiter((ep.end_time for ep in eps), np.float64, len(eps))
        self.status[at] = np.fromiter((ep.status for ep in eps), np.int8, len(eps))

    def columns(self, opened: int) -> list[np.ndarray]:
        """The EPISODE_COLUMNS of the first `opened` positions (the ones the feeder opened)."""
        self._write(self.items)
        k = slice(0, opened)
        fixed = {"lead": self.leads[k], "index": np.zeros(opened, np.int64), "mql_time": self.times[k],
                 "tier": self.tiers[k], "score": self.scores[k], "attempts": self.attempts[k],
                 "first_touch": self.first_touch[k], "end_time": self.end_time[k], "status": self.status[k]}
        return [np.asarray(fixed[name], dtype) for name, dtype in EPISODE_COLUMNS]


class OpeningOrder:
    """A run's episodes in the order they opened: the deferred initial ones (`FirstEpisodes`) and
    the later ones (re-MQLs, kept as objects in an EpisodeLog), with, for each later episode, how
    many initial ones had opened before it (`before`)."""

    def __init__(self, first: FirstEpisodes, later: EpisodeLog):
        self.first, self.later = first, later
        self.before = array("q")
        self.opened = 0          # initial episodes opened so far (set by the feeder)

    def columns(self) -> list[np.ndarray]:
        """The EPISODE_COLUMNS of every episode, in opening order."""
        first = self.first.columns(self.opened)
        later = self.later.columns()
        if not later[0].size:
            return first
        before = np.frombuffer(self.before, np.int64)
        n = self.opened + before.size
        at_later = before + np.arange(before.size)       # later episode e follows `before[e]` initial ones
        is_first = np.ones(n, bool)
        is_first[at_later] = False
        out: list[np.ndarray] = []
        for a, b in zip(first, later):
            col: np.ndarray[Any, Any] = np.empty(n, a.dtype)
            col[is_first] = a
            col[at_later] = b
            out.append(col)
        return out
