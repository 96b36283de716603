"""Where waiting MQLs sit and which one a free rep takes next (the routing discipline).

One heap per queue with lazy deletion: an escalated or removed episode bumps its `version`, and
stale heap entries are skipped when popped. This keeps every operation O(log n) without a
process or event per waiting lead.
"""
from __future__ import annotations

import heapq
import itertools
from typing import Callable

from sim.sales.episode import Episode

KeyFn = Callable[[Episode, float], tuple]


def _fifo(ep: Episode, ready: float) -> tuple:
    return (ready,)


def _priority(ep: Episode, ready: float) -> tuple:
    return (ep.tier, -ep.score, ready)


def _freshest(ep: Episode, ready: float) -> tuple:
    return (-ep.mql_time, ready)


KEYS: dict[str, KeyFn] = {"fifo": _fifo, "priority": _priority, "freshest": _freshest, "round_robin": _fifo}


class WorkQueue:
    """A priority queue of episodes ready for their next attempt. Escalated episodes go before
    everything else, oldest deadline first."""

    __slots__ = ("_heap", "_key", "_seq", "_age", "live")

    def __init__(self, discipline: str):
        self._heap: list[tuple] = []
        self._age: list[tuple] = []  # (ready time, push id, seq, episode): finds the longest wait
        self._key = KEYS[discipline]
        self._seq = itertools.count()
        self.live = 0  # episodes waiting (not stale)

    def push(self, ep: Episode, ready: float) -> None:
        ep.version += 1
        ep.pushes += 1
        ep.queued = True
        seq = next(self._seq)
        heapq.heappush(self._heap, (1, self._key(ep, ready), seq, ep.version, ep))
        heapq.heappush(self._age, (ready, ep.pushes, seq, ep))
        self.live += 1

    def oldest_ready_time(self) -> float:
        """Since when the longest-waiting episode has been waiting (inf if none), amortised O(log n)."""
        age = self._age
        while age:
            t, pushes, _, ep = age[0]
            if ep.queued and ep.pushes == pushes:
                return t
            heapq.heappop(age)
        return float("inf")

    def escalate(self, ep: Episode, deadline: float) -> None:
        """Move a waiting episode to the front (SLA breached, action = escalate)."""
        if not ep.queued:
            return
        ep.version += 1
        heapq.heappush(self._heap, (0, (deadline,), next(self._seq), ep.version, ep))

    def remove(self, ep: Episode) -> None:
        """Take a waiting episode out (recycled while waiting)."""
        if ep.queued:
            ep.queued = False
            ep.version += 1
            self.live -= 1

    def pop(self) -> Episode | None:
        heap = self._heap
        while heap:
            _, _, _, version, ep = heapq.heappop(heap)
            if ep.version == version and ep.queued:
                ep.queued = False
                self.live -= 1
                return ep
        return None

