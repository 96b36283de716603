"""A team of workers: who is idle, when they may work (the business calendar), the queues they take
work items from (through an assignment rule), and the team's own log. Nothing in here knows what the
work is (reaching a lead, calling an account): the stage that owns the team supplies one callback
per worker, "worker r is free", and does the work; a second stage gets a second Team.

Speed: the opener (wakes idle workers at the start of each working period) and the midnight monitor
are chains of SimPy timeouts with callbacks, not generator processes; the calendar state is cached
per open period and per closed stretch (`open_lo`/`open_hi` are read inline by the worker loops).
"""
from __future__ import annotations

from array import array
from typing import Any, Callable, Protocol

import numpy as np
import simpy
from simpy.events import Timeout

from sim.calendar import DAY, BusinessCalendar
from sim.sales.queues import WorkItem
from sim.sales.routing import Assignment


class FreeCallback(Protocol):
    """The callback "worker r is free": called with the event that freed it, or with nothing (start, wake)."""

    def __call__(self, _ev: simpy.Event | None = None, /) -> None: ...


# The per-row columns kept compact (array.array typecode): the lists the worker loops append to
# are moved into these at every midnight, so a long run holds 8 bytes a float, not a pointer to a
# 24-32-byte float object (or 1 byte a bool or a queue change, not 8).
COMPACT = {"item": "q", "worker": "q", "start": "d", "handle": "d", "contact": "b",
           "q_time": "d", "q_change": "b", "target": "q"}


class TeamLog:
    """What a team did, as growing columns: one row per attempt, every change of the number of
    items waiting (time, +1 / -1; the level starts at 0 at time 0), one sample per midnight.

    The worker loops append to plain lists (the fastest append); `compact()` (the team's midnight
    monitor calls it) moves the rows of the COMPACT columns into typed arrays, so the lists hold
    only the rows since the last midnight. `column(name)` is the whole column, as a numpy array.
    A reader that needs the lists whole during the run (load quality reads `start`, `handle`)
    sets `compacting = False`."""

    __slots__ = ("workers", "item", "worker", "start", "handle", "contact", "q_time", "q_change",
                 "day_queue", "day_oldest", "moved_item", "moved_time", "moved_from", "moved_to", "target",
                 "compacting", "_done")

    def __init__(self, workers: int):
        self.workers = workers
        self.item: list[int] = []          # the attempt's entity (a lead)
        self.worker: list[int] = []
        self.start: list[float] = []
        self.handle: list[float] = []
        self.contact: list[bool] = []
        self.q_time: list[float] = []
        self.q_change: list[int] = []
        self.day_queue: list[int] = []
        self.day_oldest: list[float] = []
        # reassignments (sla.reassign_after): item, when, from which worker to which
        self.moved_item: list[int] = []
        self.moved_time: list[float] = []
        self.moved_from: list[int] = []
        self.moved_to: list[int] = []
        # multi-threaded cadences (policy cadence.threading set): the contact each attempt called
        self.target: list[int] = []
        self.compacting = True
        self._done = {name: array(code) for name, code in COMPACT.items()}   # rows moved out of the lists

    def queued(self, t: float) -> None:
        self.q_time.append(t)
        self.q_change.append(1)

    def dequeued(self, t: float) -> None:
        self.q_time.append(t)
        self.q_change.append(-1)

    def compact(self) -> None:
        """Move the rows of the COMPACT lists into their typed arrays (the lists are emptied in
        place: the appends the worker loops bound stay valid)."""
        if not self.compacting:
            return
        for name, done in self._done.items():
            rows: list[Any] = getattr(self, name)
            if rows:
                done.extend(rows)
                rows.clear()

    def column(self, name: str, dtype: Any) -> np.ndarray:
        """The whole column `name` (compacted rows, then the rows still in the list) as `dtype`."""
        rows: list[Any] = getattr(self, name)
        done = self._done.get(name)
        if done is None or not done:
            return np.array(rows, dtype)
        head = np.frombuffer(done, dtype=COMPACT_DTYPES[done.typecode]).astype(dtype)   # a copy: the array may grow
        return np.concatenate([head, np.array(rows, dtype)]) if rows else head


COMPACT_DTYPES = {"q": np.int64, "d": np.float64, "b": np.int8}


class Team:
    """Workers, their calendar and availability, their queues and their log."""

    def __init__(self, env: simpy.Environment, calendar: BusinessCalendar, workers: int,
                 routing: Assignment, end: float):
        self.env = env
        self.cal = calendar
        self.workers = workers
        self.routing = routing
        self.queues = routing.queues
        self.end = end
        self.log = TeamLog(workers)
        self.idle = [False] * workers
        self.idle_stack: list[int] = []    # workers that went idle, most recent last (may hold stale entries)
        self.open_lo, self.open_hi = 0.0, 0.0     # the last working period found open: [lo, hi)
        self.shut_lo, self.shut_hi = 0.0, 0.0     # the last closed stretch found: [t, next opening)
        self.on_free: list[FreeCallback] = []
        self.midnight: list[Callable[[], None]] = []   # also called at each midnight (the owner's compaction)
        self._next_open = 0.0
        self.ahead = True                  # may the feeder open an arrival ahead of the clock (would_wake)?
        self.push = self._pusher()

    def staff(self) -> None:
        """Reps as people (routing through a gate): items of a rep who left go back to routing when
        pushed, held items are routed again at every opening, arrivals are never opened ahead."""
        self.ahead = False
        if self.routing.gate is not None and not self.routing.shared:
            self.push = self._gated_pusher(self.push)

    # -- calendar ---------------------------------------------------------------------------
    def is_open(self, t: float) -> bool:
        """calendar.is_open(t), remembering the last open period and the last closed stretch
        (most checks fall inside one of them)."""
        if self.open_lo <= t < self.open_hi:
            return True
        if self.shut_lo <= t < self.shut_hi:
            return False
        cal = self.cal
        if not cal.is_open(t):
            self.shut_lo, self.shut_hi = t, cal.next_open(t)   # no opening in between
            return False
        base = int(t // DAY) * DAY          # the expressions is_open compares with (float-exact)
        self.open_lo, self.open_hi = base + cal.open_minute, base + cal.close_minute
        return True

    # -- availability -----------------------------------------------------------------------
    def wake(self, r: int) -> None:
        """An idle worker becomes free now, after the events already due now (as a triggered event
        would be): at once if no other event is due now, else through a zero-delay timeout."""
        if self.idle[r]:
            self.idle[r] = False
            env = self.env
            if env.peek() > env.now:
                self.on_free[r]()
            else:
                Timeout(env, 0.0).callbacks.append(self.on_free[r])

    def would_wake(self, t: float) -> bool:
        """Would an item queued at t wake an idle worker? (Always yes with reps as people: opening
        an arrival ahead of the clock would route it on the state of another time.)"""
        return not self.ahead or (self.is_open(t) and self.routing.would_wake(self))

    # -- queue ------------------------------------------------------------------------------
    def _pusher(self) -> Callable[[WorkItem, float], None]:
        """`push(item, ready)`: queue an item that is ready now (`ready` is now, or an arrival opened
        ahead of the clock that then wakes no worker) and wake an idle worker if the calendar is
        open. A closure over locals (it runs once per MQL and per follow-up): one shared queue is
        bound directly, the open period is checked inline, the log's appends are bound."""
        routing, is_open, team = self.routing, self.is_open, self
        queue_of, wake_for = routing.queue_of, routing.wake_for
        shared = routing.queues[0] if routing.shared else None
        q_time, q_change = self.log.q_time.append, self.log.q_change.append

        def push(item: WorkItem, ready: float) -> None:
            (shared if shared is not None else queue_of(item)).push(item, ready)
            q_time(ready)
            q_change(1)
            if team.open_lo <= ready < team.open_hi or is_open(ready):
                wake_for(item, team)

        return push

    def _gated_pusher(self, push: Callable[[WorkItem, float], None]) -> Callable[[WorkItem, float], None]:
        """push, after routing an item again if its worker has left the team for good."""
        routing = self.routing
        gate = routing.gate
        assert gate is not None

        def gated_push(item: WorkItem, ready: float) -> None:
            if item.rep >= 0 and gate.gone(item.rep, ready):
                item.rep = routing.pick(item, ready)
            push(item, ready)

        return gated_push

    def route_held(self) -> None:
        """Route the held items again (items nobody could take when they arrived), oldest first."""
        routing = self.routing
        if routing.gate is None or routing.shared:
            return
        hold = routing.queues[routing.hold]
        now, waiting = self.env.now, []
        while (item := hold.pop()) is not None:
            waiting.append(item)
        for item in waiting:
            item.rep = routing.pick(item, now)
            routing.queue_of(item).push(item, item.ready)
            if item.rep >= 0:
                self.wake(item.rep)

    def release(self, worker: int) -> None:
        """A worker left for good: its waiting items go back to routing (the item in hand is finished)."""
        routing = self.routing
        if routing.shared:
            return
        queue, now, waiting = routing.queues[worker], self.env.now, []
        while (item := queue.pop()) is not None:
            waiting.append(item)
        for item in waiting:
            item.rep = routing.pick(item, now)
            routing.queue_of(item).push(item, item.ready)
            if item.rep >= 0 and self.is_open(now):
                self.wake(item.rep)

    def reassign(self, item: WorkItem) -> bool:
        """Move a waiting item to another worker (SLA checkpoint); logged. False if nobody may take it."""
        old, now = item.rep, self.env.now
        new = self.routing.reassign(item, now)
        if new < 0:
            return False
        log = self.log
        log.moved_item.append(item.lead)
        log.moved_time.append(now)
        log.moved_from.append(old)
        log.moved_to.append(new)
        if self.is_open(now):
            self.wake(new)
        return True

    def withdraw(self, item: WorkItem) -> None:
        """Take an item out of its queue now, if it is waiting."""
        if item.queued:
            self.routing.queue_of(item).remove(item)
            self.log.dequeued(self.env.now)

    def escalate(self, item: WorkItem) -> None:
        """Move a waiting item to the front, deadline now (SLA breached, action escalate)."""
        self.routing.queue_of(item).escalate(item, self.env.now)

    # -- actors -----------------------------------------------------------------------------
    def start(self, on_free: list[FreeCallback]) -> None:
        """Start the opener, the midnight monitor and the workers (in this order, at time 0):
        `on_free[r]` is called whenever worker r is free."""
        self.on_free = on_free
        self._open_from(self.cal.next_open(0.0))
        self._on_midnight(None)
        for free in on_free:
            free()

    def _open_from(self, t: float) -> None:
        """Wait for the working period starting at t (the opener)."""
        env = self.env
        if t < self.end:
            self._next_open = t
            if t > env.now:
                Timeout(env, t - env.now).callbacks.append(self._on_open)
            else:
                self._on_open(None)

    def _on_open(self, _ev: simpy.Event | None) -> None:
        """Wake idle workers at the start of every working period."""
        t, cal = self._next_open, self.cal
        self.idle_stack.clear()
        if not self.ahead:
            self.route_held()
        for r in range(self.workers):
            self.wake(r)
        nxt = cal.next_open(cal.period_end(t))
        if not nxt > t:
            raise RuntimeError(f"business calendar does not advance past t={t}")
        self._open_from(nxt)

    def _on_midnight(self, ev: simpy.Event | None) -> None:
        """Sample the queues at each midnight: how many wait, and for how long the longest-waiting
        one has waited (since it became ready: its arrival, or its next attempt falling due)."""
        env = self.env
        if ev is not None:
            oldest = min(q.oldest_ready_time() for q in self.queues)
            self.log.day_queue.append(sum(q.live for q in self.queues))
            self.log.day_oldest.append(env.now - oldest if oldest < env.now else 0.0)
            self.log.compact()
            for hook in self.midnight:
                hook()
        if env.now + DAY <= self.end:
            Timeout(env, DAY).callbacks.append(self._on_midnight)
