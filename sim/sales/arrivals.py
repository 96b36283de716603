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
from operator import attrgetter
from typing import Any, cast

import numpy as np

from sim.sales.draws import AttemptLuck
from sim.sales.episode import NAN, OPEN, Episode
from sim.sales.log import EPISODE_COLUMNS, MIN_CHUNK, EpisodeLog, closed_prefix
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
                 "items", "closed", "block_lo", "block")

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
        self.closed = 0                                  # how many at the front of `items` are known closed
        self.block_lo = 0                                # the positions make() reads as lists: [block_lo, +len)
        self.block: tuple[list[int], list[float], list[int], list[float]] = ([], [], [], [])

    def make(self, i: int) -> Episode:
        """The episode at arrival position i, as the feeder would have opened and queued it, now taken."""
        ep = self.opened_now(i)
        ep.version = ep.pushes = 1          # pushed once (at its arrival), taken now
        ep.ready = ep.mql_time
        return ep

    def opened_now(self, i: int) -> Episode:
        """The episode at arrival position i as an object, not queued yet (the feeder queues it as
        the eager engine would when the queue is short; see `SalesProcess._feed_deferred`)."""
        k = i - self.block_lo
        if not 0 <= k < len(self.block[0]):
            self._load(i)
            k = 0
        leads, times, tiers, scores = self.block
        ep = Episode(leads[k], 0, times[k], tiers[k], scores[k], i * self.stride)
        self.items.append(ep)
        return ep

    def _load(self, i: int) -> None:
        """The fixed fields of positions [i, i + LUCK_BLOCK) as Python lists, and their attempt luck
        (positions are taken in about increasing order: one block at a time)."""
        hi = min(i + LUCK_BLOCK, self.leads.shape[0])
        self.block_lo = i
        self.block = cast("tuple[list[int], list[float], list[int], list[float]]",
                          tuple(a[i:hi].tolist() for a in (self.leads, self.times, self.tiers, self.scores)))
        self.luck.draw_to(hi)

    def ready_of(self, i: int) -> float:
        """When the episode at position i became ready: its arrival."""
        return float(self.times[i])

    def compact(self) -> None:
        """Write the longest run of closed episodes at the front of `items` back into the columns (at
        least MIN_CHUNK at a time): a closed episode never changes again (not with a `cover` cadence,
        which never defers arrivals)."""
        items = self.items
        self.closed = n = closed_prefix(items, self.closed)
        if n >= MIN_CHUNK:
            self._write(items[:n])
            del items[:n]
            self.closed = 0

    def _write(self, eps: list[Episode]) -> None:
        n = len(eps)
        at = np.fromiter(map(attrgetter("row"), eps), np.int64, n) // self.stride
        for name in ("attempts", "first_touch", "end_time", "status"):
            col: np.ndarray = getattr(self, name)
            col[at] = np.fromiter(map(attrgetter(name), eps), col.dtype, n)

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
