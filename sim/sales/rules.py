"""The sales stage's rules, one component each: the cadence (how many attempts, how far apart), the
SLA breach action (none, escalate, recycle), recycling back to nurture (and the re-MQL that may
follow), backlog triage, and patience (queueing mode: a waiting lead goes cold and leaves).

Each is built once from EngineParams; the stage calls it at its few hook points (an item opens, a
follow-up falls due, a worker takes an item). Timers are bare SimPy timeouts set through the stage's
`at(t, callback, value)`, whose value is what the callback needs.
"""
from __future__ import annotations

from typing import Callable, ClassVar, cast

import simpy

from sim.calendar import BusinessCalendar
from sim.sales.draws import AttemptLuck
from sim.sales.episode import ABANDONED, BREACHED, OPEN, TRIAGED, UNREACHED, Episode
from sim.sales.params import EngineParams
from sim.sales.queues import WorkQueue
from sim.sales.team import Team
from sim.vocab import TIER_CODE

At = Callable[[float, Callable[[simpy.Event], None], object], None]    # call back at time t with a value
Withdraw = Callable[[Episode, int], None]                                # out of the queue, recycled with a status
NextMql = Callable[[int, float], "tuple[float, int, float] | None"]      # (lead, after) -> (time, tier, score)


class Cadence:
    """Up to `max_attempts` touches per item, the next one `spacing` after the last."""

    def __init__(self, p: EngineParams, cal: BusinessCalendar):
        self.max_attempts = p.max_attempts
        self.next_due = cal.adder(p.spacing)    # t -> when the next attempt falls due


# -- SLA breach actions ----------------------------------------------------------------------
class Breach:
    """What happens to an item left untouched too long. The base class does nothing (action none)."""

    name: ClassVar[str] = "none"

    def __init__(self, p: EngineParams, cal: BusinessCalendar, at: At, team: Team, withdraw: Withdraw):
        pass

    def opened(self, item: Episode, t: float) -> None:
        """A new item is queued at t."""

    def requeued(self, item: Episode, t: float) -> None:
        """A follow-up attempt of the item fell due and was queued at t."""


class Escalate(Breach):
    """Past its tier's time-to-first-touch target, an untouched item goes to the front of its queue."""

    name = "escalate"

    def __init__(self, p: EngineParams, cal: BusinessCalendar, at: At, team: Team, withdraw: Withdraw):
        self.at, self.team = at, team
        self.after_target = [cal.adder(d) for d in p.sla_targets]

    def opened(self, item: Episode, t: float) -> None:
        self.at(self.after_target[item.tier](t), self._on_due, item)

    def _on_due(self, ev: simpy.Event) -> None:
        item = cast(Episode, ev.value)
        if item.status == OPEN and item.attempts == 0:
            self.team.escalate(item)


class RecycleUntouched(Breach):
    """An item untouched `recycle_after` after it opened goes back to nurture (breached); a due
    follow-up left waiting that long ends the cadence (unreached)."""

    name = "recycle"

    def __init__(self, p: EngineParams, cal: BusinessCalendar, at: At, team: Team, withdraw: Withdraw):
        self.at, self.withdraw = at, withdraw
        self.after = cal.adder(p.recycle_after)

    def opened(self, item: Episode, t: float) -> None:
        self.at(self.after(t), self._on_breach, item)

    def requeued(self, item: Episode, t: float) -> None:
        self.at(self.after(t), self._on_expire, (item, item.pushes))

    def _on_breach(self, ev: simpy.Event) -> None:
        item = cast(Episode, ev.value)
        if item.status == OPEN and item.attempts == 0:
            self.withdraw(item, BREACHED)

    def _on_expire(self, ev: simpy.Event) -> None:
        item, stay = cast("tuple[Episode, int]", ev.value)
        if item.queued and item.pushes == stay and item.status == OPEN:
            self.withdraw(item, UNREACHED)


# the schema's `sla.breach_action` values: a new action is one class here and its name there
BREACH_ACTIONS: dict[str, type[Breach]] = {c.name: c for c in (Breach, Escalate, RecycleUntouched)}


def breach_rule(p: EngineParams, cal: BusinessCalendar, at: At, team: Team, withdraw: Withdraw) -> Breach:
    """The component for `p.breach_action`."""
    return BREACH_ACTIONS[p.breach_action](p, cal, at, team, withdraw)


# -- reassignment ------------------------------------------------------------------------------
class Reassign:
    """SLA checkpoint (policy sla.reassign_after): an item still untouched that long after it opened
    (or after its last reassignment) is moved to another rep who may take it now (round robin in
    turn, skipping away and capped reps), keeping its age; if nobody may, it stays and is checked
    again one period later. Each move is logged in the team's log (`moved_*`)."""

    def __init__(self, p: EngineParams, cal: BusinessCalendar, at: At, team: Team):
        if p.reassign_after is None:
            raise ValueError("Reassign needs reassign_after")
        self.at, self.team = at, team
        self.after = cal.adder(p.reassign_after)

    def opened(self, item: Episode, t: float) -> None:
        self.at(self.after(t), self._on_due, item)

    def _on_due(self, ev: simpy.Event) -> None:
        item = cast(Episode, ev.value)
        if item.status == OPEN and item.attempts == 0:
            if item.queued:
                self.team.reassign(item)
            self.opened(item, self.team.env.now)


# -- recycling, triage, patience ---------------------------------------------------------------
class Recycle:
    """Back to nurture with a final status; unless the lead has used up its `max_recycles`, its own
    later engagement may make it an MQL again (`next_mql`), which reopens it then."""

    def __init__(self, p: EngineParams, at: At, next_mql: NextMql, reopen: Callable[[simpy.Event], None], end: float):
        self.max_recycles = p.max_recycles
        self.at, self.next_mql, self.reopen, self.end = at, next_mql, reopen, end
        self.recycles: dict[int, int] = {}

    def __call__(self, item: Episode, t: float, status: int) -> None:
        item.status = status
        item.end_time = t
        n = self.recycles.get(item.lead, 0) + 1
        self.recycles[item.lead] = n
        if n >= self.max_recycles:
            return
        nxt = self.next_mql(item.lead, t)
        if nxt is not None and nxt[0] < self.end:
            tm, tier, score = nxt
            self.at(tm, self.reopen, (item.lead, item.index + 1, tm, tier, score))


class Triage:
    """While the backlog is at least `backlog`, a worker skips (recycles, status triaged) untouched
    non-demo items scoring below `min_score` instead of working them."""

    def __init__(self, backlog: int, min_score: float):
        self.backlog, self.min_score = backlog, min_score

    def taker(self, queue: WorkQueue, env: simpy.Environment, log_dequeued: Callable[[float], None],
              recycle: Recycle) -> Callable[[], Episode | None]:
        """queue.pop, skipping the items triaged away (each dequeued and recycled now)."""
        # the sales stage queues only Episodes: its queue's pop gives them back
        pop = cast("Callable[[], Episode | None]", queue.pop)
        backlog, min_score, demo = self.backlog, self.min_score, TIER_CODE["demo"]

        def take() -> Episode | None:
            while True:
                item = pop()
                if item is None:
                    return None
                if queue.live >= backlog and item.score < min_score and item.tier != demo and item.attempts == 0:
                    now = env.now
                    log_dequeued(now)
                    recycle(item, now, TRIAGED)
                    continue
                return item

        return take


class Patience:
    """Queueing mode: an item still waiting for its first touch after its patience (exponential,
    drawn from the lead's luck) goes cold and leaves (status abandoned)."""

    def __init__(self, luck: AttemptLuck, at: At, team: Team):
        self.luck, self.at, self.team = luck, at, team

    def opened(self, item: Episode, t: float) -> None:
        self.at(t + self.luck.patience(item), self._on_end, item)

    def _on_end(self, ev: simpy.Event) -> None:
        item = cast(Episode, ev.value)
        if item.status == OPEN and item.attempts == 0 and item.queued:
            self.team.withdraw(item)
            item.status = ABANDONED
            item.end_time = self.team.env.now
