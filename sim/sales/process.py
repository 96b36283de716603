"""The sales process in SimPy: only MQLs enter. Reps work a queue in business hours; each attempt
reaches the lead with a chance that decays with the time since the MQL; a cadence spaces follow-up
attempts; SLA timers escalate or recycle untouched MQLs; recycled leads may re-MQL later.

`SalesProcess` is the orchestrator of parts with one job each:

* `EngineParams` (params.py): the scenario and policy resolved once, textbook queueing included;
* `Team` (team.py): the reps, their calendar and availability, their queues and their `TeamLog`;
* routing (routing.py): an assignment rule (pooled, round robin) over ordering rules (fifo,
  priority, freshest);
* rules (rules.py): `Cadence`, the SLA `Breach` action, `Recycle`, `Triage`, `Patience`;
* `AttemptLuck` (draws.py): the counter-based luck of every attempt.

What is left here: the MQL feeder (leads arrive), the worker loop (a rep takes an MQL and makes an
attempt) and the run. Speed: one actor per rep (never per lead), one feeder, one opener, all chains
of SimPy timeout events with callbacks (no generator processes); the worker loop binds what it uses
as locals and reads pre-drawn luck inline. The log record is `sim.sales.log.SalesLog`.
"""
from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Callable, cast

import numpy as np
import simpy
from simpy.events import Timeout

from sim.calendar import BusinessCalendar
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.sales.accounts import lead_owners
from sim.sales.arrivals import FirstEpisodes, OpeningOrder, defers
from sim.sales.draws import ATTEMPTS_PER_EPISODE, AttemptLuck
from sim.sales.episode import CONTACTED, OPEN, UNREACHED, Episode, ThreadedEpisode
from sim.sales.log import EpisodeLog, SalesLog, build_log
from sim.sales.params import EngineParams
from sim.sales.queues import ArrivalFifo
from sim.sales.routing import routing
from sim.sales.rules import Cadence, NextMql, Patience, Reassign, Recycle, Triage, breach_rule
from sim.sales.staffing import Staffing, staffed_team
from sim.sales.team import FreeCallback, Team
from sim.world.model import World

FEED_BLOCK = 1 << 16   # initial MQLs turned into Python lists at a time by the feeder
EAGER_BELOW = 64       # deferred arrivals: an MQL arriving to a shorter queue is an episode at once
# Deferred arrivals from this many initial MQLs on: below it, their objects take little memory (~12 MB)
# and the eager engine is ~5-10% faster (benchmarks/bench_sales.py: 0.097-0.106 vs 0.110-0.113 s on baseline).
DEFER_FROM = 25_000

__all__ = ["ATTEMPTS_PER_EPISODE", "EngineParams", "Mqls", "NextMql", "SalesLog", "SalesProcess", "Threads"]

# (lead, episode index, opening time) -> the contacts the item's attempts call in turn (cadence.threading)
Threads = Callable[[int, int, float], "list[int]"]


@dataclass(frozen=True)
class Mqls:
    """Each lead's first MQL (time, inf if never; tier code; score), as the scorer gives them."""

    time: np.ndarray
    tier: np.ndarray
    score: np.ndarray


class SalesProcess:
    """One run of the sales process for one policy on one world.

    Every actor is a chain of SimPy events with callbacks rather than a generator process: a rep's
    attempt is a Timeout whose callback makes the rep free again; MQL arrivals, follow-ups falling
    due, SLA timers and re-MQLs are Timeouts whose value is what their callback needs. The order of
    events (SimPy's (time, priority, insertion) order) is exactly that of the equivalent processes;
    callbacks just skip the generator frames (about a third of the engine's time once).

    Queueing mode (`scenario.queueing`, textbook sales) is the same machinery with the parameters
    EngineParams.resolve gives it: M/M/c(+M), see there. With a `patience`, a lead still waiting for
    its first touch then leaves (status ABANDONED).
    """

    staffing: Staffing | None        # reps as people, else None (today's team)
    _free: list[FreeCallback]        # callback per rep: rep r is free
    _feed: tuple[list[int], list[float], list[int], list[float]]   # a block of the initial MQLs: lead, time, tier, score
    _feed_next: int                  # the next of them to open
    _feed_base: int                  # index of the first initial MQL in `_feed` (a block of FEED_BLOCK)

    def __init__(self, world: World, mqls: Mqls, params: EngineParams, calendar: BusinessCalendar,
                 next_mql: NextMql, threads: Threads | None = None, defer: bool | None = None):
        """`next_mql(lead, after)`: the lead's next MQL after a recycle at `after`, as (time, tier,
        score), or None. `threads` (policy cadence.threading set): the contacts each item's attempts
        call in turn; every attempt then takes the scalar luck path and logs the contact it called.
        `defer`: keep waiting initial MQLs as positions where the rules allow it (`defers`): None
        (the default) from DEFER_FROM initial MQLs on, True whatever their number, False never. The
        log is the same either way."""
        self.params = p = params
        self.end = end = world.end
        self.env = env = simpy.Environment()
        # initial MQLs in time order
        eligible = np.flatnonzero(np.isfinite(mqls.time) & (mqls.time < end))
        order = eligible[np.argsort(mqls.time[eligible], kind="stable")]
        self.first = (order, mqls.time[order], mqls.tier[order], mqls.score[order])
        self.threads = threads
        pre = min(p.max_attempts, 3) if p.workers and threads is None else 0   # later attempts are rare: scalar path
        self.deferred: OpeningOrder | None = None
        if p.staffed:     # reps as people (sim.sales.staffing); else today's team, untouched
            self.team, self.staffing = team, _ = staffed_team(env, p, world, calendar, end)
        else:
            owners = lead_owners(world, p.workers) if "owner" in (p.routing, p.assignment) else None
            route = routing(p.routing, p.workers, p.assignment, owners=owners)
            if ((order.shape[0] >= DEFER_FROM if defer is None else defer)
                    and defers(p, route, threads)):       # waiting initial MQLs as positions (sim.sales.arrivals)
                # their attempt luck is drawn as they are taken, in arrival order
                self.luck = AttemptLuck(world.luck.key, p.handle, order, pre, p.patience, upfront=False)
                first = FirstEpisodes(*self.first, stride=max(pre, 1), luck=self.luck)
                route.queues[0] = ArrivalFifo(first.make, first.ready_of)
                self.deferred = OpeningOrder(first, EpisodeLog())
            self.team = team = Team(env, calendar, p.workers, route, end)
            self.staffing = None
        # closed episodes become columns at each midnight (deferred: the later ones; the initial ones apart)
        self.episodes = EpisodeLog() if self.deferred is None else self.deferred.later
        self._keep = self.episodes.items.append
        self.cover = threads is not None and p.cover      # keep calling after the first conversation
        if self.cover:
            self.episodes.compacting = False                # a contacted item still changes
        else:
            team.midnight.append(self.episodes.compact)
        if self.deferred is not None:
            team.midnight.append(self.deferred.first.compact)
        if threads is not None:
            self._new_episode = self._new_threaded_episode    # type: ignore[method-assign]
        if self.deferred is None:
            self.luck = AttemptLuck(world.luck.key, p.handle, order, pre, p.patience)
        self.cadence = Cadence(p, calendar)
        self.recycle = Recycle(p, self.at, next_mql, self._on_re_mql, end)
        self.breach = breach_rule(p, calendar, self.at, team, self.withdraw)
        self.patience = Patience(self.luck, self.at, team) if p.patience is not None else None
        self.triage = Triage(p.triage_backlog, p.triage_min_score) if p.triage_backlog is not None else None
        self.rushed = p.rushed(team.log, calendar) if p.rushed is not None else None   # load quality
        if self.rushed is not None:
            team.log.compacting = False     # load quality reads the attempt lists whole during the run
        self.reassign = Reassign(p, calendar, self.at, team) if p.reassign_after is not None else None
        if self.staffing is None:
            self._free = [self._worker(r) for r in range(p.workers)]   # callback: rep r is free
        else:
            self._free = self.staffing.workers(self)
            self.staffing.schedule_absences(self.at)

    @classmethod
    def from_config(cls, world: World, mqls: Mqls, policy: Policy, scenario: Scenario,
                    calendar: BusinessCalendar, contact_probability: Callable[[float], float],
                    next_mql: NextMql, threads: Threads | None = None) -> SalesProcess:
        """`contact_probability(delay)`: non-increasing in the delay (`ResponseModel.scalar_contact_probability()`)."""
        return cls(world, mqls, EngineParams.resolve(policy, scenario, contact_probability), calendar, next_mql,
                   threads)

    def at(self, t: float, callback: Callable[[simpy.Event], None], value: object) -> None:
        """Call callback(event) at clock time t (if within the run), with `value` as event.value."""
        if t < self.end:
            now = self.env.now
            Timeout(self.env, t - now if t > now else 0.0, value).callbacks.append(callback)

    def withdraw(self, ep: Episode, status: int) -> None:
        """Take a waiting episode out of its queue (if queued) and recycle it now."""
        self.team.withdraw(ep)
        self.recycle(ep, self.env.now, status)

    # -- arrivals ---------------------------------------------------------------------------
    def _feed_from(self, i: int, due: bool = False, ahead: bool = True) -> None:
        """Open the initial MQLs from the i-th on until one lies in the future, then wait for it.
        `due`: the i-th is the one just waited for (now may differ from its time by an ulp).

        A future MQL that comes before every other scheduled event and would wake no rep (the
        calendar is closed, or no rep is idle) is opened at once, stamped with its own time: nothing
        can happen in between, so the run is the same with one event fewer (most MQLs arrive
        outside working hours). Not `ahead` at the start, before the other actors scheduled anything."""
        if self.deferred is not None:
            self._feed_deferred(i, due, ahead)
            return
        env, new_episode, stride, would_wake = self.env, self._new_episode, max(self.luck.pre, 1), self.team.would_wake
        while True:
            leads, times, tiers, scores = self._feed
            base = self._feed_base
            n = len(times)
            j = i - base
            while j < n:
                t = times[j]
                if not due and t > env.now and (not ahead or t >= env.peek() or would_wake(t)):
                    self._feed_next = base + j
                    Timeout(env, t - env.now).callbacks.append(self._on_feed)
                    return
                new_episode(leads[j], 0, t, tiers[j], scores[j], (base + j) * stride)
                due = False
                j += 1
            i = base + n
            if i >= self.first[0].shape[0]:
                self._feed_next = i
                return
            self._load_feed(i)

    def _feed_deferred(self, i: int, due: bool, ahead: bool) -> None:
        """`_feed_from` when arrivals are deferred (sim.sales.arrivals): an initial MQL is opened by
        queueing its position, with the queue's log and waking an idle rep (what `_open` does with
        pooled routing and no timers). Arrivals that `_feed_from` would open ahead of the clock one
        by one, waking no one (no rep idle, or the calendar closed), are opened in one step: every
        arrival before the next scheduled event (and, if reps are idle, before the next opening)."""
        deferred, env, team = self.deferred, self.env, self.team
        assert deferred is not None
        times = self.first[1]
        n = times.shape[0]
        queue = cast(ArrivalFifo, team.queues[0])
        push, open_now = queue.push_arrivals, deferred.first.opened_now
        routing, log = team.routing, team.log
        q_time, q_change = log.q_time, log.q_change
        block, base = self._feed[1], self._feed_base      # arrival times as a list, FEED_BLOCK at a time
        while i < n:
            j = i - base
            if j >= len(block):
                self._load_feed(i)
                block, base, j = self._feed[1], i, 0
            t = block[j]
            if not due and t > env.now:       # in the future: wait for it, or open it ahead of the clock
                if not ahead:
                    break
                peek = env.peek()
                if t >= peek:
                    break
                # Nobody idle, or the calendar closed at t (until team.shut_hi, the next opening):
                # every arrival before the next event (and that opening) is opened now, waking no one.
                if routing.would_wake(team):
                    if team.is_open(t):
                        break
                    peek = min(peek, team.shut_hi)
                k = int(times.searchsorted(peek, "left"))
                while i < k and queue.live < EAGER_BELOW:     # a short queue: episodes, one by one
                    t = times.item(i)
                    queue.push(open_now(i), t)
                    q_time.append(t)
                    q_change.append(1)
                    deferred.opened = i = i + 1
                if i < k:
                    push(i, k)
                    q_time.extend(times[i:k].tolist())
                    q_change.extend([1] * (k - i))
                    deferred.opened = i = k
                continue
            deferred.opened = i + 1
            if queue.live < EAGER_BELOW:      # a short queue: as an episode now (a rep may take it at once)
                team.push(open_now(i), t)
            else:
                push(i, i + 1)
                q_time.append(t)
                q_change.append(1)
                if team.open_lo <= t < team.open_hi or team.is_open(t):
                    routing.wake_for(cast(Episode, None), team)
            due = False
            i += 1
        self._feed_next = i
        if i < n:
            Timeout(env, times.item(i) - env.now).callbacks.append(self._on_feed)

    def _load_feed(self, i: int) -> None:
        """The initial MQLs [i, i + FEED_BLOCK) as Python lists (the feeder reads them one by one):
        a block at a time, so a large run does not hold every MQL as Python objects at once."""
        self._feed_base = i
        if self.deferred is not None:       # the deferred feeder reads only the times
            self._feed = ([], self.first[1][i:i + FEED_BLOCK].tolist(), [], [])
            return
        self._feed = cast("tuple[list[int], list[float], list[int], list[float]]",
                          tuple(a[i:i + FEED_BLOCK].tolist() for a in self.first))

    def _on_feed(self, _ev: simpy.Event) -> None:
        self._feed_from(self._feed_next, due=True)

    def _new_episode(self, lead: int, index: int, t: float, tier: int, score: float, row: int = -1) -> None:
        if self.deferred is not None:       # a later episode: after the initial ones opened so far
            self.deferred.before.append(self.deferred.opened)
        self._open(Episode(lead, index, t, tier, score, row), t)

    def _new_threaded_episode(self, lead: int, index: int, t: float, tier: int, score: float, row: int = -1) -> None:
        """`_new_episode` for a multi-threaded cadence: the item knows whom its attempts call."""
        assert self.threads is not None
        self._open(ThreadedEpisode(lead, index, t, tier, score, self.threads(lead, index, t)), t)

    def _open(self, ep: Episode, t: float) -> None:
        """A new MQL episode enters sales: kept, assigned, its SLA and timers armed, queued."""
        self._keep(ep)
        self.team.routing.assign(ep)
        self.breach.opened(ep, t)
        if self.reassign is not None:
            self.reassign.opened(ep, t)
        if self.patience is not None:
            self.patience.opened(ep, t)
        self.team.push(ep, t)

    def after_cover_attempt(self, ep: Episode, now: float, contact: bool) -> None:
        """After an attempt of a `cover` cadence: the first conversation marks the item contacted
        (its outcome follows from then); calls go on, spaced by the cadence, while attempts are
        left and a contact of the rotation is not reached yet. Out of attempts before any
        conversation: recycled, as any cadence."""
        item = cast(ThreadedEpisode, ep)
        if contact:
            item.reached.add(item.target)
            if item.status == OPEN:
                item.status = CONTACTED
                item.end_time = now
        if item.attempts >= self.cadence.max_attempts or len(item.reached) >= len(item.targets):
            if item.status == OPEN:
                self.recycle(item, now, UNREACHED)
            return
        t = self.cadence.next_due(now)
        if t < self.end:
            Timeout(self.env, t - now if t > now else 0.0, item).callbacks.append(self._on_follow_up)

    def _on_re_mql(self, ev: simpy.Event) -> None:
        self._new_episode(*cast("tuple[int, int, float, int, float]", ev.value))

    def _on_follow_up(self, ev: simpy.Event) -> None:
        """The next cadence attempt falls due: back in the queue (and under the breach rule's watch)."""
        ep = cast(Episode, ev.value)
        now = self.env.now
        self.team.push(ep, now)
        self.breach.requeued(ep, now)

    # -- reps -------------------------------------------------------------------------------
    def _worker(self, r: int) -> FreeCallback:
        """The callback that makes rep r free: take the next episode and start an attempt (a
        Timeout of handle / time share back to this callback), or go idle until woken."""
        env, team, p, luck = self.env, self.team, self.params, self.luck
        queue = team.routing.queue_for(r)
        log = team.log
        q_time, q_change, is_open = log.q_time.append, log.q_change.append, team.is_open
        # the stage queues only Episodes, so its queue's pop gives them back
        take = cast("Callable[[], Episode | None]", queue.pop) if self.triage is None else \
            self.triage.taker(queue, env, log.dequeued, self.recycle)
        share, later, p_contact = p.time_share, luck.later, p.contact_probability
        record = self.threads is not None       # multi-threaded: whom each attempt called
        if record:
            later = luck.threaded
        log_target = log.target.append
        cover, after_cover = self.cover, self.after_cover_attempt
        # contact_probability is non-increasing in the delay, so a draw above its value at 0 never reaches
        p_max = p_contact(0.0)
        log_item, log_worker, log_start, log_handle, log_contact = (
            log.item.append, log.worker.append, log.start.append, log.handle.append, log.contact.append)
        idle, idle_stack, recycle = team.idle, team.idle_stack, self.recycle
        pre, u_contact, h_reached, h_missed = luck.pre, luck.u_contact, luck.h_reached, luck.h_missed
        max_attempts, next_due = self.cadence.max_attempts, self.cadence.next_due
        follow_up, end = self._on_follow_up, self.end
        rushed = self.rushed

        def free(_ev: simpy.Event | None = None) -> None:
            now = env.now
            ep = take() if team.open_lo <= now < team.open_hi or is_open(now) else None
            if ep is None:
                idle[r] = True
                idle_stack.append(r)
                return
            q_time(now)             # log.dequeued(now), inline: once per attempt
            q_change(-1)
            k = ep.attempts
            if ep.row >= 0 and k < pre:
                i = ep.row + k
                u = u_contact[i]
                contact = u < p_max and u < p_contact(now - ep.mql_time)
                h = h_reached[i] if contact else h_missed[i]
            else:
                u, h1, h0 = later(ep)
                contact = u < p_contact(now - ep.mql_time)
                h = h1 if contact else h0
            if contact and rushed is not None:      # load quality: a rushed conversation
                h = rushed(now, h)
            if k == 0:
                ep.first_touch = now
            ep.attempts = k + 1
            log_item(ep.lead)
            log_worker(r)
            log_start(now)
            log_handle(h)
            log_contact(contact)
            if record:
                log_target(cast(ThreadedEpisode, ep).target)
            if cover:
                after_cover(ep, now, contact)
            elif contact:
                ep.status = CONTACTED
                ep.end_time = now
            elif k + 1 >= max_attempts:
                recycle(ep, now, UNREACHED)
            else:
                t = next_due(now)
                if t < end:
                    Timeout(env, t - now if t > now else 0.0, ep).callbacks.append(follow_up)
            Timeout(env, h / share).callbacks.append(free)

        return free

    def run(self) -> SalesLog:
        self._load_feed(0)
        # the actors start at time 0 in this order: arrivals, opener, midnight monitor, reps
        self._feed_from(0, ahead=False)
        self.team.start(self._free)
        # The run allocates a few container objects per MQL (episodes, queue entries, timers) and
        # keeps most alive to the end: the cyclic GC would re-scan them over and over, for garbage
        # that is freed by reference counting anyway. Collect once afterwards instead.
        gc_enabled = gc.isenabled()
        gc.disable()
        try:
            self.env.run(until=self.end)
        finally:
            if gc_enabled:
                gc.enable()
        episodes = self.episodes if self.deferred is None else self.deferred
        return build_log(episodes, self.team.log, targets=self.threads is not None)
