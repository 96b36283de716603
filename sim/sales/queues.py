"""Where waiting work items sit, in the order a free worker takes them (the ordering rules of
`sim.sales.routing` build these).

Two implementations with one interface (`push`, `pop`, `escalate`, `remove`, `oldest_ready_time`,
`live`):

* `FifoQueue` (fifo): a deque in push order. Episodes only become ready "now"
  (an MQL arrives, a follow-up falls due), so push order is ready-time order and FIFO needs no
  heap: push, pop and removal are O(1). Each entry is the episode and its `version` at the push
  (16 bytes; an OrderedDict entry was ~83): a removed, escalated or re-pushed episode has a newer
  version, so its old entry is stale and skipped. Escalated episodes move to a small heap of their own.
* `HeapQueue` (priority, freshest): one heap with lazy deletion: an escalated or removed episode
  bumps its `version`, and stale heap entries are skipped when popped. O(log n) per operation.

Escalated episodes (SLA breached, action escalate) go before everything else, oldest deadline first.
"""
from __future__ import annotations

import heapq
import itertools
from collections import deque
from typing import Callable, Protocol, cast


class WorkItem(Protocol):
    """What a team's queues, routing and log touch on a work item: entity-neutral (an MQL episode,
    `sim.sales.episode.Episode`, today; an account's next). `lead` is the entity's id."""

    lead: int
    tier: int            # ordering fields
    score: float
    mql_time: float      # when the item arrived
    attempts: int
    status: int
    rep: int             # assigned worker (round robin), else -1
    ready: float         # queue bookkeeping: when it last became ready, ...
    queued: bool
    version: int
    pushes: int


KeyFn = Callable[[WorkItem, float], tuple[float, ...]]   # (item, ready time) -> sort key, smallest first
AgeEntry = tuple[float, int, int, WorkItem]                # (ready time, push id, seq, item)


def oldest_ready(age: list[AgeEntry]) -> float:
    """Ready time of the longest-waiting live entry of an age heap (ready time, push id, seq,
    episode), dropping stale entries (episodes taken or re-queued since) on the way; inf if none."""
    while age:
        t, pushes, _, ep = age[0]
        if ep.queued and ep.pushes == pushes:
            return t
        heapq.heappop(age)
    return float("inf")


class _Escalated:
    """The escalated episodes of a queue: a heap by deadline, and a heap by ready time (for the age)."""

    __slots__ = ("heap", "age")

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, int, WorkItem]] = []   # (deadline, seq, version, episode)
        self.age: list[AgeEntry] = []    # (ready time, push id, seq, episode)

    def oldest(self) -> float:
        return oldest_ready(self.age)


class FifoQueue:
    """First ready, first served (push order), escalated episodes first."""

    __slots__ = ("_items", "_versions", "_esc", "_esc_heap", "_seq", "live")

    def __init__(self) -> None:
        # push order: the episode and its version at the push (stale once the version moved on)
        self._items: deque[WorkItem] = deque()
        self._versions: deque[int] = deque()
        self._esc = _Escalated()
        self._esc_heap = self._esc.heap
        self._seq = itertools.count()
        self.live = 0  # episodes waiting

    def push(self, ep: WorkItem, ready: float) -> None:
        ep.version = v = ep.version + 1
        ep.pushes += 1
        ep.queued = True
        ep.ready = ready
        self._items.append(ep)
        self._versions.append(v)
        self.live += 1

    def _first(self) -> WorkItem | None:
        """The longest-waiting live episode of the push order (dropping stale entries before it)."""
        items, versions = self._items, self._versions
        while items:
            ep = items[0]
            if ep.queued and ep.version == versions[0]:
                return ep
            items.popleft()
            versions.popleft()
        return None

    def oldest_ready_time(self) -> float:
        """Since when the longest-waiting episode has been waiting (inf if none)."""
        first = self._first()
        t = first.ready if first is not None else float("inf")
        return min(t, self._esc.oldest()) if self._esc.age else t

    def escalate(self, ep: WorkItem, deadline: float) -> None:
        """Move a waiting episode to the front (SLA breached, action = escalate)."""
        if not ep.queued:
            return
        ep.version += 1         # its push-order entry is stale from now on
        seq = next(self._seq)
        heapq.heappush(self._esc_heap, (deadline, seq, ep.version, ep))
        heapq.heappush(self._esc.age, (ep.ready, ep.pushes, seq, ep))

    def remove(self, ep: WorkItem) -> None:
        """Take a waiting episode out (recycled while waiting)."""
        if ep.queued:
            ep.queued = False
            ep.version += 1
            self.live -= 1

    def _pop_escalated(self) -> WorkItem | None:
        """The escalated episode with the earliest deadline, if any (dropping stale entries)."""
        heap = self._esc_heap
        while heap:
            _, _, version, ep = heapq.heappop(heap)
            if ep.version == version and ep.queued:
                ep.queued = False
                self.live -= 1
                return ep
        return None

    def pop(self) -> WorkItem | None:
        if self._esc_heap and (ep := self._pop_escalated()) is not None:
            return ep
        items, versions = self._items, self._versions
        while items:
            ep, version = items.popleft(), versions.popleft()
            if ep.queued and ep.version == version:
                ep.queued = False
                self.live -= 1
                return ep
        return None


class HeapQueue:
    """A priority queue of episodes ready for their next attempt, ordered by a key function."""

    __slots__ = ("_heap", "_key", "_seq", "_age", "live")

    def __init__(self, key: KeyFn):
        self._heap: list[tuple[int, tuple[float, ...], int, int, WorkItem]] = []   # (escalated 0 / 1, key, seq, version, item)
        self._age: list[AgeEntry] = []  # (ready time, push id, seq, episode): finds the longest wait
        self._key = key
        self._seq = itertools.count()
        self.live = 0  # episodes waiting (not stale)

    def push(self, ep: WorkItem, ready: float) -> None:
        ep.version += 1
        ep.pushes += 1
        ep.queued = True
        ep.ready = ready
        seq = next(self._seq)
        heapq.heappush(self._heap, (1, self._key(ep, ready), seq, ep.version, ep))
        heapq.heappush(self._age, (ready, ep.pushes, seq, ep))
        self.live += 1

    def oldest_ready_time(self) -> float:
        """Since when the longest-waiting episode has been waiting (inf if none), amortised O(log n)."""
        return oldest_ready(self._age)

    def escalate(self, ep: WorkItem, deadline: float) -> None:
        """Move a waiting episode to the front (SLA breached, action = escalate)."""
        if not ep.queued:
            return
        ep.version += 1
        heapq.heappush(self._heap, (0, (deadline,), next(self._seq), ep.version, ep))

    def remove(self, ep: WorkItem) -> None:
        """Take a waiting episode out (recycled while waiting)."""
        if ep.queued:
            ep.queued = False
            ep.version += 1
            self.live -= 1

    def pop(self) -> WorkItem | None:
        heap = self._heap
        while heap:
            _, _, _, version, ep = heapq.heappop(heap)
            if ep.version == version and ep.queued:
                ep.queued = False
                self.live -= 1
                return ep
        return None


WorkQueue = FifoQueue | HeapQueue


class ArrivalRun:
    """A run of initial MQLs queued in arrival order and not yet taken: positions [lo, hi) of the
    stage's arrival list. One entry in the FIFO for the whole run, however long the backlog."""

    __slots__ = ("lo", "hi")

    def __init__(self, lo: int, hi: int):
        self.lo, self.hi = lo, hi


class ArrivalFifo(FifoQueue):
    """A FIFO whose initial arrivals wait as positions, not objects (`push_arrival`): an item is
    made (`make(position)`) only when a worker takes it, so a backlog costs no Python object per
    waiting MQL. The order is FifoQueue's exactly: a run of positions sits where those arrivals
    were pushed, between the items pushed before and after. Only for items no timer touches while
    they wait (no SLA breach action, reassignment or patience): a position cannot be escalated or
    removed."""

    __slots__ = ("_make", "_ready_of", "_entries")

    def __init__(self, make: Callable[[int], WorkItem], ready_of: Callable[[int], float]):
        super().__init__()
        self._make = make            # position -> the item, taken (not queued), pushed once
        self._ready_of = ready_of    # position -> its arrival time
        # FifoQueue's push order, seen with the runs of positions it also holds here
        self._entries = cast("deque[WorkItem | ArrivalRun]", self._items)

    def push_arrivals(self, lo: int, hi: int) -> None:
        """Queue the initial arrivals at positions [lo, hi) (positions are pushed in increasing order)."""
        entries = self._entries
        last = entries[-1] if entries else None
        if isinstance(last, ArrivalRun) and last.hi == lo:
            last.hi = hi
        else:
            entries.append(ArrivalRun(lo, hi))
            self._versions.append(0)
        self.live += hi - lo

    def oldest_ready_time(self) -> float:
        entries, versions = self._entries, self._versions
        t = float("inf")
        while entries:
            ep = entries[0]
            if isinstance(ep, ArrivalRun):
                t = self._ready_of(ep.lo)
                break
            if ep.queued and ep.version == versions[0]:
                t = ep.ready
                break
            entries.popleft()
            versions.popleft()
        return min(t, self._esc.oldest()) if self._esc.age else t

    def pop(self) -> WorkItem | None:
        if self._esc_heap and (ep := self._pop_escalated()) is not None:
            return ep
        entries, versions = self._entries, self._versions
        while entries:
            first = entries[0]
            if isinstance(first, ArrivalRun):
                i = first.lo
                first.lo = i + 1
                if i + 1 == first.hi:
                    entries.popleft()
                    versions.popleft()
                self.live -= 1
                return self._make(i)
            entries.popleft()
            version = versions.popleft()
            if first.queued and first.version == version:
                first.queued = False
                self.live -= 1
                return first
        return None
