"""The sales process in SimPy: only MQLs enter. Reps work a queue in business hours; each attempt
reaches the lead with a chance that decays with the time since the MQL; a cadence spaces follow-up
attempts; SLA timers escalate or recycle untouched MQLs; recycled leads may re-MQL later.

Speed: one actor per rep (never per lead), one feeder for MQL arrivals, one opener that wakes idle
reps at the start of each working period, all chains of SimPy timeout events with callbacks (no
generator processes); cadence, SLA and re-MQL timers are bare timeouts. Every
chance is a counter-based uniform of the lead (`lead_uniform`), so two policies that make the same
attempt on the same lead see the same luck. The log record is `sim.sales.log.SalesLog`.
"""
from __future__ import annotations

import gc
import math
from typing import Callable

import numpy as np
import simpy
from simpy.events import Timeout

from sim.calendar import DAY, BusinessCalendar
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.sales.draws import Handle, always, doubles
from sim.sales.episode import ABANDONED, BREACHED, CONTACTED, OPEN, TRIAGED, UNREACHED, Episode
from sim.sales.log import SalesLog, build_log
from sim.sales.queues import WorkQueue, make_queue
from sim.vocab import TIER_CODE, TIERS
from sim.world.model import PURPOSE_CONTACT, PURPOSE_HANDLE, PURPOSE_PATIENCE, World, lead_uniform, lead_uniforms

NextMql = Callable[[int, float], "tuple[float, int, float] | None"]
ATTEMPTS_PER_EPISODE = 64  # counter stride: attempt k of episode e uses counter e * 64 + k
__all__ = ["ATTEMPTS_PER_EPISODE", "NextMql", "SalesLog", "SalesProcess"]


class SalesProcess:
    """One run of the sales process for one policy on one world.

    Every actor is a chain of SimPy events with callbacks rather than a generator process: a rep's
    attempt is a Timeout whose callback makes the rep free again; MQL arrivals, follow-ups falling
    due, SLA timers and re-MQLs are Timeouts whose value is what their callback needs (nothing for
    the feeder's next arrival, (episode, pushes) for an expiry, the re-MQL's lead, index, time, tier
    and score). The order of
    events (SimPy's (time, priority, insertion) order) is exactly that of the equivalent processes;
    callbacks just skip the generator frames (about a third of the engine's time once).

    Queueing mode (`scenario.queueing`, textbook sales): the same machinery reduced to M/M/c(+M):
    one attempt per MQL that always reaches the lead, exponential handling (the rep is blocked for an
    exponential time of mean `queueing.handle_time`, of which the MQL work is the mql_time_share), FIFO, no SLA actions, triage or recycling (the calendar is 24/7, see BusinessCalendar).
    With a `patience`, a lead still waiting for its first touch then leaves (status ABANDONED).
    """

    def __init__(self, world: World, mql_time: np.ndarray, mql_tier: np.ndarray, mql_score: np.ndarray,
                 policy: Policy, scenario: Scenario, calendar: BusinessCalendar,
                 contact_probability: Callable[[float], float], next_mql: NextMql):
        """`contact_probability(delay)`: chance an attempt `delay` minutes after the MQL reaches the
        lead, non-increasing in the delay (`ResponseModel.scalar_contact_probability()`)."""
        self.cal = calendar
        self.end = world.end
        self.env = simpy.Environment()
        self.reps = policy.reps if policy.reps is not None else scenario.sales.reps
        queueing = scenario.queueing
        textbook = queueing.textbook
        self.patience = queueing.patience.minutes if queueing.enabled and queueing.patience is not None else None
        self.share = scenario.sales.mql_time_share
        if textbook:
            contact_probability = always
        self.contact_probability = contact_probability
        # contact_probability is non-increasing in the delay, so a draw above its value at 0 never reaches
        self._p_max = contact_probability(0.0)
        self.next_mql = next_mql
        ht = scenario.sales.handle_time
        if textbook:  # an attempt blocks its rep for handle / mql_time_share: exponential, mean handle_time
            m = queueing.handle_time.minutes * self.share
            self.handle = Handle("exponential", m, m, 0.0)
        else:
            self.handle = Handle(ht.dist, ht.mean.minutes, ht.conversation_mean.minutes, ht.cv)
        self.keys = world.luck.key
        self.max_attempts = 1 if textbook else policy.cadence.max_attempts
        self._after_spacing = calendar.adder(policy.cadence.spacing)
        self._after_target = [calendar.adder(getattr(policy.sla.targets, t)) for t in TIERS]
        self._after_recycle = calendar.adder(policy.sla.recycle_after)
        self.breach = "none" if textbook else policy.sla.breach_action
        self.max_recycles = policy.recycle.max_recycles
        self.triage_backlog = None if textbook else policy.routing.triage_backlog
        self.triage_min = policy.routing.triage_min_score
        discipline = "fifo" if textbook else policy.routing.discipline
        rr = discipline == "round_robin"
        nq = max(self.reps, 1) if rr else 1
        self.queues = [make_queue(discipline) for _ in range(nq)]
        self.round_robin = rr
        self._rr_next = 0
        self.idle = [False] * self.reps
        self.idle_stack: list[int] = []  # reps that went idle, most recent last (may hold stale entries)
        self._open_lo, self._open_hi = 0.0, 0.0   # the last working period found open: [lo, hi)
        self._shut_lo, self._shut_hi = 0.0, 0.0   # the last closed stretch found: [t, next opening)
        self.recycles: dict[int, int] = {}
        self.episodes: list[Episode] = []
        # initial MQLs in time order
        eligible = np.flatnonzero(np.isfinite(mql_time) & (mql_time < self.end))
        order = eligible[np.argsort(mql_time[eligible], kind="stable")]
        self._first = (order, mql_time[order], mql_tier[order], mql_score[order])
        self._precompute_first_episodes(order)
        self.at = ([], [], [], [], [])
        self._q_change_time: list[float] = []   # each change of the number waiting: when, and +1 / -1
        self._q_change: list[int] = []
        self.day_queue: list[int] = []
        self.day_oldest: list[float] = []
        self._free = [self._rep_loop(r) for r in range(self.reps)]   # callback: rep r is free

    def _precompute_first_episodes(self, leads: np.ndarray) -> None:
        """Vectorised draws for every attempt of every first MQL episode (the vast majority):
        contact uniform and handling time if reached / not reached. Identical to the scalar
        draws used for later episodes (same counter-based uniforms)."""
        self._pre = min(self.max_attempts, 3) if self.reps else 0  # later attempts are rare: scalar path
        n = self._pre
        k = np.arange(n, dtype=np.uint64)[None, :]
        keys = self.keys[leads][:, None]
        uh = lead_uniforms(keys, PURPOSE_HANDLE, k)
        # flat arrays of doubles (attempt a of the i-th first MQL at i * n + a, its Episode.row):
        # array.array indexes from Python almost as fast as a list, without a float object per
        # draw (a quarter of the memory, and no tolist)
        self._u_contact = doubles(lead_uniforms(keys, PURPOSE_CONTACT, k))
        self._h_reached = doubles(self.handle.vector(uh, True))
        self._h_missed = doubles(self.handle.vector(uh, False))
        if self.patience is not None:    # each first episode's patience (exponential)
            u = np.clip(lead_uniforms(self.keys[leads], PURPOSE_PATIENCE, 0), 0.0, 1 - 1e-12)
            self._patience = doubles(-self.patience * np.log1p(-u))

    def _patience_of(self, ep: Episode) -> float:
        """How long the episode waits for its first touch before it leaves (queueing mode)."""
        if ep.row >= 0:
            return self._patience[ep.row // max(self._pre, 1)]
        u = min(lead_uniform(int(self.keys[ep.lead]), PURPOSE_PATIENCE, ep.index), 1 - 1e-12)
        return -self.patience * math.log1p(-u)

    def _draws(self, ep: Episode) -> tuple[float, float, float]:
        """(contact uniform, handling time if reached, if not) for the episode's next attempt."""
        if ep.row >= 0 and ep.attempts < self._pre:
            i = ep.row + ep.attempts
            return self._u_contact[i], self._h_reached[i], self._h_missed[i]
        key = int(self.keys[ep.lead])
        k = ep.index * ATTEMPTS_PER_EPISODE + ep.attempts
        uh = lead_uniform(key, PURPOSE_HANDLE, k)
        return lead_uniform(key, PURPOSE_CONTACT, k), self.handle(uh, True), self.handle(uh, False)

    def _is_open(self, t: float) -> bool:
        """calendar.is_open(t), remembering the last open period and the last closed stretch
        (most checks fall inside one of them)."""
        if self._open_lo <= t < self._open_hi:
            return True
        if self._shut_lo <= t < self._shut_hi:
            return False
        if not self.cal.is_open(t):
            self._shut_lo, self._shut_hi = t, self.cal.next_open(t)   # no opening in between
            return False
        base = int(t // DAY) * DAY          # the expressions is_open compares with (float-exact)
        self._open_lo, self._open_hi = base + self.cal.open_minute, base + self.cal.close_minute
        return True

    def _at(self, t: float, callback: Callable[[simpy.Event], None], value) -> None:
        """Call callback(event) at clock time t (if within the run), with `value` as event.value."""
        if t < self.end:
            now = self.env.now
            Timeout(self.env, t - now if t > now else 0.0, value).callbacks.append(callback)

    # -- arrivals ---------------------------------------------------------------------------
    def _feed_from(self, i: int, due: bool = False, ahead: bool = True) -> None:
        """Open the initial MQLs from the i-th on until one lies in the future, then wait for it.
        `due`: the i-th is the one just waited for (now may differ from its time by an ulp).

        A future MQL that comes before every other scheduled event and would wake no rep (the
        calendar is closed, or no rep is idle) is opened at once, stamped with its own time: nothing
        can happen in between, so the run is the same with one event fewer (most MQLs arrive
        outside working hours). Not `ahead` at the start, before the other actors scheduled anything."""
        env, new_episode, stride = self.env, self._new_episode, max(self._pre, 1)
        leads, times, tiers, scores = self._feed
        n = len(times)
        while i < n:
            t = times[i]
            if not due and t > env.now and (not ahead or t >= env.peek() or self._wakes_a_rep(t)):
                self._feed_next = i
                Timeout(env, t - env.now).callbacks.append(self._on_feed)
                return
            new_episode(leads[i], 0, t, tiers[i], scores[i], i * stride)
            due = False
            i += 1

    def _wakes_a_rep(self, t: float) -> bool:
        """Would an MQL arriving at t wake an idle rep?"""
        if not self._is_open(t):
            return False
        if self.round_robin:
            return self.reps > 0 and self.idle[self._rr_next]
        idle = self.idle
        return any(idle[r] for r in self.idle_stack)

    def _on_feed(self, _ev: simpy.Event) -> None:
        self._feed_from(self._feed_next, due=True)

    def _new_episode(self, lead: int, index: int, t: float, tier: int, score: float, row: int = -1) -> None:
        ep = Episode(lead, index, t, tier, score, row)
        self.episodes.append(ep)
        if self.round_robin and self.reps:
            ep.rep = self._rr_next
            self._rr_next = (self._rr_next + 1) % self.reps
        if self.breach == "escalate":
            self._at(self._after_target[tier](t), self._on_escalate, ep)
        elif self.breach == "recycle":
            self._at(self._after_recycle(t), self._on_breach_recycle, ep)
        if self.patience is not None:
            self._at(t + self._patience_of(ep), self._on_patience_end, ep)
        self._push(ep, t)

    def _on_re_mql(self, ev: simpy.Event) -> None:
        self._new_episode(*ev.value)

    # -- queue ------------------------------------------------------------------------------
    def _queue_of(self, ep: Episode) -> WorkQueue:
        return self.queues[ep.rep] if ep.rep >= 0 else self.queues[0]

    def _push(self, ep: Episode, ready: float) -> None:
        """Queue an episode that is ready now (`ready` is now, or an MQL opened ahead of the clock
        by the feeder, which then wakes no rep) and wake an idle rep if the calendar is open."""
        (self.queues[ep.rep] if ep.rep >= 0 else self.queues[0]).push(ep, ready)
        self._q_change_time.append(ready)
        self._q_change.append(1)
        if not self._is_open(ready):
            return
        if ep.rep >= 0:
            self._wake(ep.rep)
            return
        stack, idle = self.idle_stack, self.idle
        while stack:
            r = stack.pop()
            if idle[r]:
                self._wake(r)
                return

    def _wake(self, r: int) -> None:
        """An idle rep becomes free now, after the events already due now (as a triggered event
        would be): at once if no other event is due now, else through a zero-delay timeout."""
        if self.idle[r]:
            self.idle[r] = False
            env = self.env
            if env.peek() > env.now:
                self._free[r]()
            else:
                Timeout(env, 0.0).callbacks.append(self._free[r])

    def _take(self, r: int) -> Episode | None:
        q = self.queues[r] if self.round_robin else self.queues[0]
        now = self.env.now
        while True:
            ep = q.pop()
            if ep is None:
                return None
            self._q_change_time.append(now)
            self._q_change.append(-1)
            if (self.triage_backlog is not None and q.live >= self.triage_backlog
                    and ep.score < self.triage_min and ep.tier != TIER_CODE["demo"] and ep.attempts == 0):
                self._recycle(ep, now, TRIAGED)
                continue
            return ep

    # -- SLA timers -------------------------------------------------------------------------
    def _on_escalate(self, ev: simpy.Event) -> None:
        ep = ev.value
        if ep.status == OPEN and ep.attempts == 0:
            self._queue_of(ep).escalate(ep, self.env.now)

    def _on_breach_recycle(self, ev: simpy.Event) -> None:
        ep = ev.value
        if ep.status == OPEN and ep.attempts == 0:
            self._withdraw(ep, BREACHED)

    def _on_patience_end(self, ev: simpy.Event) -> None:
        """Queueing mode: a lead still waiting for its first touch goes cold and leaves."""
        ep = ev.value
        if ep.status == OPEN and ep.attempts == 0 and ep.queued:
            now = self.env.now
            self._queue_of(ep).remove(ep)
            self._q_change_time.append(now)
            self._q_change.append(-1)
            ep.status = ABANDONED
            ep.end_time = now

    def _on_follow_up(self, ev: simpy.Event) -> None:
        """The next cadence attempt falls due. Under breach action `recycle`, a follow-up left
        waiting longer than `recycle_after` ends the cadence: unreached, back to nurture."""
        ep = ev.value
        now = self.env.now
        self._push(ep, now)
        if self.breach == "recycle":
            self._at(self._after_recycle(now), self._on_expire, (ep, ep.pushes))

    def _on_expire(self, ev: simpy.Event) -> None:
        ep, stay = ev.value
        if ep.queued and ep.pushes == stay and ep.status == OPEN:
            self._withdraw(ep, UNREACHED)

    def _withdraw(self, ep: Episode, status: int) -> None:
        """Take a waiting episode out of its queue (if queued) and recycle it now."""
        now = self.env.now
        if ep.queued:
            self._queue_of(ep).remove(ep)
            self._q_change_time.append(now)
            self._q_change.append(-1)
        self._recycle(ep, now, status)

    def _recycle(self, ep: Episode, t: float, status: int) -> None:
        """Back to nurture; the lead may re-MQL later from its own engagement."""
        ep.status = status
        ep.end_time = t
        n = self.recycles.get(ep.lead, 0) + 1
        self.recycles[ep.lead] = n
        if n >= self.max_recycles:
            return
        nxt = self.next_mql(ep.lead, t)
        if nxt is not None and nxt[0] < self.end:
            tm, tier, score = nxt
            self._at(tm, self._on_re_mql, (ep.lead, ep.index + 1, tm, tier, score))

    # -- reps -------------------------------------------------------------------------------
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
        """Wake idle reps at the start of every working period."""
        t, cal = self._next_open, self.cal
        self.idle_stack.clear()
        for r in range(self.reps):
            self._wake(r)
        nxt = cal.next_open(cal.period_end(t))
        if not nxt > t:
            raise RuntimeError(f"business calendar does not advance past t={t}")
        self._open_from(nxt)

    def _rep_loop(self, r: int) -> Callable[[simpy.Event | None], None]:
        """The callback that makes rep r free: take the next episode and start an attempt (a
        Timeout of handle / mql_time_share back to this callback), or go idle until woken."""
        env, take, is_open = self.env, self._take, self._is_open
        # common case inline: one shared queue, no triage (else _take)
        pop = self.queues[0].pop if not self.round_robin and self.triage_backlog is None else None
        q_time, q_change = self._q_change_time.append, self._q_change.append
        share, draws, p_contact, p_max = self.share, self._draws, self.contact_probability, self._p_max
        log_lead, log_rep, log_start, log_handle, log_contact = (x.append for x in self.at)
        idle, idle_stack = self.idle, self.idle_stack
        pre, u_contact, h_reached, h_missed = self._pre, self._u_contact, self._h_reached, self._h_missed
        max_attempts, after_spacing, follow_up, end = self.max_attempts, self._after_spacing, self._on_follow_up, self.end

        def free(_ev: simpy.Event | None = None) -> None:
            now = env.now
            if self._open_lo <= now < self._open_hi or is_open(now):
                if pop is None:
                    ep = take(r)
                else:
                    ep = pop()
                    if ep is not None:
                        q_time(now)
                        q_change(-1)
            else:
                ep = None
            if ep is None:
                idle[r] = True
                idle_stack.append(r)
                return
            k = ep.attempts
            if ep.row >= 0 and k < pre:
                i = ep.row + k
                u = u_contact[i]
                contact = u < p_max and u < p_contact(now - ep.mql_time)
                h = h_reached[i] if contact else h_missed[i]
            else:
                u, h1, h0 = draws(ep)
                contact = u < p_contact(now - ep.mql_time)
                h = h1 if contact else h0
            if k == 0:
                ep.first_touch = now
            ep.attempts = k + 1
            log_lead(ep.lead)
            log_rep(r)
            log_start(now)
            log_handle(h)
            log_contact(contact)
            if contact:
                ep.status = CONTACTED
                ep.end_time = now
            elif k + 1 >= max_attempts:
                self._recycle(ep, now, UNREACHED)
            else:
                t = after_spacing(now)
                if t < end:
                    Timeout(env, t - now if t > now else 0.0, ep).callbacks.append(follow_up)
            Timeout(env, h / share).callbacks.append(free)

        return free

    def _on_midnight(self, _ev: simpy.Event | None) -> None:
        """Sample the queue at each midnight: how many wait, and for how long the longest-waiting
        one has waited (since it became ready: its MQL, or its next cadence attempt falling due)."""
        env = self.env
        if _ev is not None:
            oldest = min(q.oldest_ready_time() for q in self.queues)
            self.day_queue.append(sum(q.live for q in self.queues))
            self.day_oldest.append(env.now - oldest if oldest < env.now else 0.0)
        if env.now + DAY <= self.end:
            Timeout(env, DAY).callbacks.append(self._on_midnight)

    def run(self) -> SalesLog:
        self._feed = tuple(a.tolist() for a in self._first)
        # the actors start at time 0 in this order: arrivals, opener, midnight monitor, reps
        self._feed_from(0, ahead=False)
        self._open_from(self.cal.next_open(0.0))
        self._on_midnight(None)
        for free in self._free:
            free()
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
        return self._log()

    def _log(self) -> SalesLog:
        return build_log(self.episodes, self.at, self._q_change_time, self._q_change, self.day_queue,
                         self.day_oldest, self.reps)
