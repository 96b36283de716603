"""Routing as two small strategies: *assignment* (which workers may take an item: the whole pool,
or one worker chosen in turn) and *ordering* (which waiting item a free worker takes first).

The schema names the pair (`policy.routing.assignment`, `policy.routing.order`); its short form
`routing.discipline` names either an ordering (worked from one shared pool) or an assignment (its
queues worked oldest first): `routing("priority", n)` is Pooled + Priority, `routing("round_robin",
n)` is RoundRobin + Fifo, `routing("priority", n, assignment="round_robin")` is RoundRobin +
Priority. The strategies only read the item's generic fields (`tier`, `score`, `mql_time`, `ready`,
`rep`), so they route leads today and accounts next.

With reps as people (`sim.sales.staffing`), an assignment gets a `Gate`: who may take a new item now
(hired, not left, not away, under the daily cap), and items nobody may take wait in a hold queue
until the next working period opens.

Adding a rule: one class here with the `@ordering("name")` or `@assignment("name")` decorator, and
the same name in the `Literal` of `sim.config.policy.Routing.order` or `.assignment` (a test checks
they agree).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Callable, ClassVar, Protocol

from sim.sales.queues import FifoQueue, HeapQueue, WorkItem, WorkQueue

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from sim.sales.team import Team

__all__ = ["ASSIGNMENTS", "DISCIPLINES", "ORDERINGS", "Assignment", "Gate", "Ordering", "routing"]


class Gate(Protocol):
    """Who may take a new item (reps as people: `sim.sales.staffing.Staffing`)."""

    def eligible(self, worker: int, t: float) -> bool:
        """May the worker be assigned a new item at t (on the team, not away if skipped, under the cap)?"""

    def took(self, worker: int, t: float) -> None:
        """The worker was assigned a new item at t (counts toward its daily cap)."""

    def gone(self, worker: int, t: float) -> bool:
        """Has the worker left the team for good by t (its items must go to someone else)?"""

    def weight(self, worker: int, t: float) -> float:
        """The worker's weight factor at t (e.g. lower while ramping)."""

    def serves(self, worker: int, item: WorkItem) -> bool:
        """Is the worker one the item should go to first (the lead's region, when routing by region)?"""


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

    @staticmethod
    def key(ep: WorkItem, ready: float) -> tuple[float, ...]:
        """The sort key of an item that became ready at `ready` (each ordering defines its own)."""
        raise NotImplementedError

    def new_queue(self) -> WorkQueue:
        return HeapQueue(type(self).key)


@ordering("priority")
class Priority(KeyOrdering):
    """Best tier first (demo, high intent, ...), then highest score, then oldest."""

    @staticmethod
    def key(ep: WorkItem, ready: float) -> tuple[float, ...]:
        return (ep.tier, -ep.score, ready)


@ordering("freshest")
class Freshest(KeyOrdering):
    """Newest MQL first (a fresh lead is likelier to answer)."""

    @staticmethod
    def key(ep: WorkItem, ready: float) -> tuple[float, ...]:
        return (-ep.mql_time, ready)


# -- assignment: which workers may take an item -----------------------------------------------
class Assignment:
    """Owns a team's queues: where an item waits, which queue worker r takes from, whom a newly
    queued item wakes."""

    name: ClassVar[str]
    shared: ClassVar[bool] = False    # every item waits in queues[0] (lets the team bind it once)

    def __init__(self, workers: int, order: Ordering, weights: Sequence[float] = ()):
        self.workers = workers
        self.order = order
        self.queues: list[WorkQueue] = [order.new_queue() for _ in range(self.queue_count(workers))]
        self.gate: Gate | None = None
        self.hold = 0                 # queue of items nobody may take yet (with a gate: its own)

    def set_gate(self, gate: Gate) -> None:
        """Route through a gate (reps as people); per-worker assignments get a hold queue."""
        self.gate = gate
        if not self.shared:
            self.hold = len(self.queues)
            self.queues.append(self.order.new_queue())

    def pick(self, item: WorkItem, t: float, exclude: int = -1) -> int:
        """A worker for a new item at t, or -1 (none may take it now). Per-worker assignments only."""
        return -1

    def reassign(self, item: WorkItem, t: float) -> int:
        """Move a waiting item to another worker's queue (keeping its ready time); the new worker, or -1."""
        if self.shared or not item.queued:
            return -1
        r = self.pick(item, t, exclude=item.rep)
        if r < 0:
            return -1
        ready = item.ready
        self.queue_of(item).remove(item)
        item.rep = r
        self.queues[r].push(item, ready)
        return r

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

    def __init__(self, workers: int, order: Ordering, weights: Sequence[float] = ()):
        super().__init__(workers, order)
        self.next = 0

    @staticmethod
    def queue_count(workers: int) -> int:
        return max(workers, 1)

    def assign(self, item: WorkItem) -> None:
        if self.gate is not None:
            item.rep = self.pick(item, item.mql_time)
        elif self.workers:
            item.rep = self.next
            self.next = (self.next + 1) % self.workers

    def pick(self, item: WorkItem, t: float, exclude: int = -1) -> int:
        """The next worker in turn the gate lets take a new item at t (and not `exclude`), or -1."""
        gate, n = self.gate, self.workers
        for strict in ((True, False) if gate is not None else (False,)):
            for i in range(n):
                r = (self.next + i) % n
                if r != exclude and (gate is None or (gate.eligible(r, t) and (not strict or gate.serves(r, item)))):
                    self.next = (r + 1) % n
                    if gate is not None:
                        gate.took(r, t)
                    return r
        return -1

    def queue_of(self, item: WorkItem) -> WorkQueue:
        return self.queues[item.rep] if item.rep >= 0 else self.queues[self.hold]

    def queue_for(self, worker: int) -> WorkQueue:
        return self.queues[worker]

    def wake_for(self, item: WorkItem, team: Team) -> None:
        if item.rep >= 0:
            team.wake(item.rep)

    def would_wake(self, team: Team) -> bool:
        return self.workers > 0 and team.idle[self.next]


@assignment("weighted_round_robin")
class WeightedRoundRobin(RoundRobin):
    """In turn, in proportion to each worker's weight (smooth weighted round robin, as nginx does it):
    with whole-number weights, every cycle of sum(weights) items gives worker r exactly weights[r]
    (among the workers the gate lets take items; the gate may scale a weight, e.g. while ramping)."""

    def __init__(self, workers: int, order: Ordering, weights: Sequence[float] = ()):
        super().__init__(workers, order)
        self.weights = [float(weights[r]) if r < len(weights) else 1.0 for r in range(workers)]
        self.current = [0.0] * workers

    def assign(self, item: WorkItem) -> None:
        item.rep = self.pick(item, item.mql_time)

    def pick(self, item: WorkItem, t: float, exclude: int = -1) -> int:
        gate, current, weights = self.gate, self.current, self.weights
        best, total = -1, 0.0
        serving = gate is not None and any(gate.serves(r, item) and gate.eligible(r, t)
                                           for r in range(self.workers) if r != exclude)
        for r in range(self.workers):
            if r == exclude or (gate is not None and not gate.eligible(r, t)):
                continue
            if serving and gate is not None and not gate.serves(r, item):
                continue
            w = weights[r] * (gate.weight(r, t) if gate is not None else 1.0)
            current[r] += w
            total += w
            if best < 0 or current[r] > current[best]:
                best = r
        if best >= 0:
            current[best] -= total
            if gate is not None:
                gate.took(best, t)
        return best

    def would_wake(self, team: Team) -> bool:
        return True     # who is next depends on the weights: never open an arrival ahead of the clock


@assignment("owner")
class Owner(RoundRobin):
    """Named-account ownership: each item waits in the queue of its account's owner rep
    (`owners[item.lead]`, see `sim.sales.accounts.lead_owners`; without them, lead id mod workers)."""

    def __init__(self, workers: int, order: Ordering, weights: Sequence[float] = (),
                 owners: Sequence[int] | NDArray[np.integer] | None = None):
        super().__init__(workers, order)
        self.owners = owners

    def assign(self, item: WorkItem) -> None:
        if self.workers:
            item.rep = int(self.owners[item.lead]) if self.owners is not None else item.lead % self.workers

    def would_wake(self, team: Team) -> bool:
        return self.workers > 0 and any(team.idle)


# the short form `routing.discipline`: an ordering from one pool, or round robin / owner worked oldest
# first (new rules are named by the pair only)
DISCIPLINES: tuple[str, ...] = ("fifo", "priority", "freshest", "round_robin", "owner")


def routing(discipline: str, workers: int, assignment: str | None = None, weights: Sequence[float] = (),
            owners: Sequence[int] | NDArray[np.integer] | None = None) -> Assignment:
    """The assignment (with its queues) for a schema value of `policy.routing.discipline`, or, with
    `assignment`, for the pair (assignment, order = `discipline`). `weights` for weighted round
    robin, `owners` (rep per lead) for the owner rule."""
    if assignment is None:
        if discipline in ORDERINGS:
            return Pooled(workers, ORDERINGS[discipline]())
        if discipline not in DISCIPLINES:
            raise ValueError(f"unknown routing discipline {discipline!r}; use one of {sorted(DISCIPLINES)}")
        assignment, discipline = discipline, "fifo"
    if assignment not in ASSIGNMENTS or discipline not in ORDERINGS:
        raise ValueError(f"unknown routing pair ({assignment!r}, {discipline!r}); use an assignment of "
                         f"{sorted(ASSIGNMENTS)} and an order of {sorted(ORDERINGS)}")
    cls = ASSIGNMENTS[assignment]
    if cls is Owner:
        return Owner(workers, ORDERINGS[discipline](), owners=owners)
    return cls(workers, ORDERINGS[discipline](), weights)
