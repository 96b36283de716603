"""Routing as two small strategies: *assignment* (which workers may take an item: the whole pool,
or one worker chosen in turn) and *ordering* (which waiting item a free worker takes first).

A schema value of `policy.routing.discipline` names either an ordering (worked from one shared pool)
or an assignment (its queues worked oldest first): `routing("priority", n)` is Pooled + Priority,
`routing("round_robin", n)` is RoundRobin + Fifo. The strategies only read the item's generic
fields (`tier`, `score`, `mql_time`, `ready`, `rep`), so they route leads today and accounts next.

Adding a rule: one class here with the `@ordering("name")` or `@assignment("name")` decorator, and
the same name in the `Literal` of `sim.config.policy.Routing.discipline` (a test checks they agree).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Callable, ClassVar

from sim.sales.queues import FifoQueue, HeapQueue, KeyFn, WorkItem, WorkQueue

if TYPE_CHECKING:
    from sim.sales.team import Team

__all__ = ["ASSIGNMENTS", "DISCIPLINES", "ORDERINGS", "Assignment", "Ordering", "routing"]


# -- ordering: which waiting item goes first ---------------------------------------------------
class Ordering:
    """Makes the queues a team's workers take items from."""

    name: ClassVar[str]

    def new_queue(self) -> WorkQueue:
        raise NotImplementedError


ORDERINGS: dict[str, type[Ordering]] = {}


def ordering(name: str) -> Callable[[type[Ordering]], type[Ordering]]:
    """Register an ordering rule under its schema value."""
    def register(cls: type[Ordering]) -> type[Ordering]:
        cls.name = name
        ORDERINGS[name] = cls
        return cls
    return register


@ordering("fifo")
class Fifo(Ordering):
    """Oldest ready first. Items only become ready "now", so push order is ready order: an O(1)
    OrderedDict queue, no heap."""

    def new_queue(self) -> WorkQueue:
        return FifoQueue()


class KeyOrdering(Ordering):
    """Smallest `key(item, ready)` first, in a heap (ties: push order)."""

    key: ClassVar[KeyFn]

    def new_queue(self) -> WorkQueue:
        return HeapQueue(type(self).key)


@ordering("priority")
class Priority(KeyOrdering):
    """Best tier first (demo, high intent, ...), then highest score, then oldest."""

    @staticmethod
    def key(ep: WorkItem, ready: float) -> tuple:
        return (ep.tier, -ep.score, ready)


@ordering("freshest")
class Freshest(KeyOrdering):
    """Newest MQL first (a fresh lead is likelier to answer)."""

    @staticmethod
    def key(ep: WorkItem, ready: float) -> tuple:
        return (-ep.mql_time, ready)


# -- assignment: which workers may take an item -----------------------------------------------
class Assignment:
    """Owns a team's queues: where an item waits, which queue worker r takes from, whom a newly
    queued item wakes."""

    name: ClassVar[str]
    shared: ClassVar[bool] = False    # every item waits in queues[0] (lets the team bind it once)

    def __init__(self, workers: int, order: Ordering):
        self.workers = workers
        self.queues: list[WorkQueue] = [order.new_queue() for _ in range(self.queue_count(workers))]

    @staticmethod
    def queue_count(workers: int) -> int:
        return 1

    def assign(self, item: WorkItem) -> None:
        """Called once when the item is created (before it is first queued)."""

    def queue_of(self, item: WorkItem) -> WorkQueue:
        return self.queues[0]

    def queue_for(self, worker: int) -> WorkQueue:
        return self.queues[0]

    def wake_for(self, item: WorkItem, team: Team) -> None:
        """Wake a worker who can take the item just queued (the calendar is open)."""
        raise NotImplementedError

    def would_wake(self, team: Team) -> bool:
        """Would an item queued now (calendar open) wake an idle worker?"""
        raise NotImplementedError


ASSIGNMENTS: dict[str, type[Assignment]] = {}


def assignment(name: str) -> Callable[[type[Assignment]], type[Assignment]]:
    """Register an assignment rule under its schema value (its queues are worked oldest first)."""
    def register(cls: type[Assignment]) -> type[Assignment]:
        cls.name = name
        ASSIGNMENTS[name] = cls
        return cls
    return register


@assignment("pooled")
class Pooled(Assignment):
    """One shared queue; a new item wakes the worker who went idle last."""

    shared = True

    def wake_for(self, item: WorkItem, team: Team) -> None:
        stack, idle = team.idle_stack, team.idle
        while stack:
            r = stack.pop()
            if idle[r]:
                team.wake(r)
                return

    def would_wake(self, team: Team) -> bool:
        idle = team.idle
        return any(idle[r] for r in team.idle_stack)


@assignment("round_robin")
class RoundRobin(Assignment):
    """Each item is assigned in turn to one worker and waits in that worker's own queue."""

    def __init__(self, workers: int, order: Ordering):
        super().__init__(workers, order)
        self.next = 0

    @staticmethod
    def queue_count(workers: int) -> int:
        return max(workers, 1)

    def assign(self, item: WorkItem) -> None:
        if self.workers:
            item.rep = self.next
            self.next = (self.next + 1) % self.workers

    def queue_of(self, item: WorkItem) -> WorkQueue:
        return self.queues[item.rep] if item.rep >= 0 else self.queues[0]

    def queue_for(self, worker: int) -> WorkQueue:
        return self.queues[worker]

    def wake_for(self, item: WorkItem, team: Team) -> None:
        if item.rep >= 0:
            team.wake(item.rep)

    def would_wake(self, team: Team) -> bool:
        return self.workers > 0 and team.idle[self.next]


@assignment("owner")
class Owner(RoundRobin):
    """Named-account ownership: each item waits in the queue of its account's owner rep
    (`owners[item.lead]`, see `sim.sales.accounts.lead_owners`; without them, lead id mod workers)."""

    def __init__(self, workers: int, order: Ordering, owners: Sequence[int] | None = None):
        super().__init__(workers, order)
        self.owners = owners

    def assign(self, item: WorkItem) -> None:
        if self.workers:
            item.rep = int(self.owners[item.lead]) if self.owners is not None else item.lead % self.workers

    def would_wake(self, team: Team) -> bool:
        return self.workers > 0 and any(team.idle)


# the schema's values: an ordering from one pool, or an assignment worked oldest first
DISCIPLINES: tuple[str, ...] = (*ORDERINGS, *(a for a in ASSIGNMENTS if a != "pooled"))


def routing(discipline: str, workers: int, owners: Sequence[int] | None = None) -> Assignment:
    """The assignment (with its queues) for a schema value of `policy.routing.discipline`;
    `owners` (rep per lead) for the owner rule."""
    if discipline == "owner":
        return Owner(workers, Fifo(), owners)
    if discipline in ORDERINGS:
        return Pooled(workers, ORDERINGS[discipline]())
    if discipline in ASSIGNMENTS:
        return ASSIGNMENTS[discipline](workers, Fifo())
    raise ValueError(f"unknown routing discipline {discipline!r}; use one of {sorted(DISCIPLINES)}")
