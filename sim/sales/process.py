"""The sales process in SimPy: only MQLs enter. Reps work a queue in business hours; each attempt
reaches the lead with a chance that decays with the time since the MQL; a cadence spaces follow-up
attempts; SLA timers escalate or recycle untouched MQLs; recycled leads may re-MQL later.

Speed: one SimPy process per rep (never per lead), one feeder for MQL arrivals, one opener that
wakes idle reps at the start of each working period. Timers are bare timeout events with
callbacks. Every chance is a counter-based uniform of the lead (`lead_uniform`), so two policies
that make the same attempt on the same lead see the same luck.
"""
from __future__ import annotations

import gc
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Callable

import numpy as np
import simpy
from scipy.special import ndtri

from sim.calendar import BusinessCalendar
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.sales.episode import BREACHED, CONTACTED, OPEN, TRIAGED, UNREACHED, Episode
from sim.sales.queues import WorkQueue
from sim.vocab import TIER_CODE, TIERS
from sim.world.model import PURPOSE_CONTACT, PURPOSE_HANDLE, World, lead_uniform, lead_uniforms

NextMql = Callable[[int, float], "tuple[float, int, float] | None"]
ATTEMPTS_PER_EPISODE = 64  # counter stride: attempt k of episode e uses counter e * 64 + k
_INV_CDF = NormalDist().inv_cdf


@dataclass(frozen=True)
class SalesLog:
    """What the sales process did, as flat arrays (the event log the KPIs are measured from)."""

    # one row per MQL episode
    ep_lead: np.ndarray
    ep_index: np.ndarray
    ep_mql_time: np.ndarray
    ep_tier: np.ndarray
    ep_score: np.ndarray
    ep_attempts: np.ndarray
    ep_first_touch: np.ndarray
    ep_end_time: np.ndarray
    ep_status: np.ndarray
    # one row per attempt (a rep's touch)
    at_lead: np.ndarray
    at_rep: np.ndarray
    at_start: np.ndarray
    at_handle: np.ndarray
    at_contact: np.ndarray
    # the waiting queue: every change (time, number waiting) and a sample at each midnight
    q_time: np.ndarray
    q_len: np.ndarray
    day_queue: np.ndarray
    day_oldest_age: np.ndarray
    reps: int


class _Handle:
    """Handling-time draws: lognormal (mean, cv), exponential or fixed, from a uniform."""

    def __init__(self, scenario: Scenario):
        ht = scenario.sales.handle_time
        self.dist = ht.dist
        self.means = (ht.mean.minutes, ht.conversation_mean.minutes)
        s2 = math.log1p(ht.cv ** 2)
        self.sigma = math.sqrt(s2)
        self.mus = tuple(math.log(m) - s2 / 2 for m in self.means)

    def vector(self, u: np.ndarray, contact: bool) -> np.ndarray:
        """The same draws as __call__, for arrays of uniforms."""
        if self.dist == "fixed":
            return np.full(np.shape(u), self.means[contact])
        u = np.clip(u, 1e-12, 1 - 1e-12)
        if self.dist == "exponential":
            return -self.means[contact] * np.log1p(-u)
        return np.exp(self.mus[contact] + self.sigma * ndtri(u))

    def __call__(self, u: float, contact: bool) -> float:
        if self.dist == "fixed":
            return self.means[contact]
        u = min(max(u, 1e-12), 1 - 1e-12)
        if self.dist == "exponential":
            return -self.means[contact] * math.log1p(-u)
        return math.exp(self.mus[contact] + self.sigma * _INV_CDF(u))


class SalesProcess:
    """One run of the sales process for one policy on one world."""

    def __init__(self, world: World, mql_time: np.ndarray, mql_tier: np.ndarray, mql_score: np.ndarray,
                 policy: Policy, scenario: Scenario, calendar: BusinessCalendar,
                 contact_probability: Callable[[float], float], next_mql: NextMql):
        self.cal = calendar
        self.end = world.end
        self.env = simpy.Environment()
        self.reps = policy.reps if policy.reps is not None else scenario.sales.reps
        self.share = scenario.sales.mql_time_share
        self.contact_probability = contact_probability
        self.next_mql = next_mql
        self.handle = _Handle(scenario)
        self.keys = world.luck.key
        self.max_attempts = policy.cadence.max_attempts
        self.spacing = policy.cadence.spacing
        self.targets = [getattr(policy.sla.targets, t) for t in TIERS]
        self.breach = policy.sla.breach_action
        self.recycle_after = policy.sla.recycle_after
        self.max_recycles = policy.recycle.max_recycles
        self.triage_backlog = policy.routing.triage_backlog
        self.triage_min = policy.routing.triage_min_score
        rr = policy.routing.discipline == "round_robin"
        nq = max(self.reps, 1) if rr else 1
        self.queues = [WorkQueue(policy.routing.discipline) for _ in range(nq)]
        self.round_robin = rr
        self._rr_next = 0
        self.waiting = 0
        self.idle: list[simpy.Event | None] = [None] * self.reps
        self.idle_stack: list[int] = []  # reps that went idle, most recent last (may hold stale entries)
        self.recycles: dict[int, int] = {}
        self.episodes: list[Episode] = []
        # initial MQLs in time order
        eligible = np.flatnonzero(np.isfinite(mql_time) & (mql_time < self.end))
        order = eligible[np.argsort(mql_time[eligible], kind="stable")]
        self._first = (order, mql_time[order], mql_tier[order], mql_score[order])
        self._precompute_first_episodes(order)
        self.at = ([], [], [], [], [])
        self.q_time: list[float] = [0.0]
        self.q_len: list[int] = [0]
        self.day_queue: list[int] = []
        self.day_oldest: list[float] = []

    def _precompute_first_episodes(self, leads: np.ndarray) -> None:
        """Vectorised draws for every attempt of every first MQL episode (the vast majority):
        contact uniform and handling time if reached / not reached. Identical to the scalar
        draws used for later episodes (same counter-based uniforms)."""
        self._pre = min(self.max_attempts, 3) if self.reps else 0  # later attempts are rare: scalar path
        n = self._pre
        k = np.arange(n, dtype=np.uint64)[None, :]
        keys = self.keys[leads][:, None]
        uh = lead_uniforms(keys, PURPOSE_HANDLE, k)
        # flat lists (attempt a of the lead in row r at r * n + a): no per-lead list objects, which
        # cost ~1 us each to build and are re-scanned by the cyclic GC for the rest of the run
        self._row = dict(zip(leads.tolist(), range(0, leads.size * n, n))) if n else {}
        self._u_contact = lead_uniforms(keys, PURPOSE_CONTACT, k).ravel().tolist()
        self._h_reached = self.handle.vector(uh, True).ravel().tolist()
        self._h_missed = self.handle.vector(uh, False).ravel().tolist()

    def _draws(self, ep: Episode) -> tuple[float, float, float]:
        """(contact uniform, handling time if reached, if not) for the episode's next attempt."""
        if ep.index == 0 and ep.attempts < self._pre:
            i = self._row[ep.lead] + ep.attempts
            return self._u_contact[i], self._h_reached[i], self._h_missed[i]
        key = int(self.keys[ep.lead])
        k = ep.index * ATTEMPTS_PER_EPISODE + ep.attempts
        uh = lead_uniform(key, PURPOSE_HANDLE, k)
        return lead_uniform(key, PURPOSE_CONTACT, k), self.handle(uh, True), self.handle(uh, False)

    # -- arrivals ---------------------------------------------------------------------------
    def _feeder(self):
        env = self.env
        leads, times, tiers, scores = self._first
        for lead, t, tier, score in zip(leads.tolist(), times.tolist(), tiers.tolist(), scores.tolist()):
            if t > env.now:
                yield env.timeout(t - env.now)
            self._new_episode(lead, 0, t, tier, score)

    def _new_episode(self, lead: int, index: int, t: float, tier: int, score: float) -> None:
        ep = Episode(lead, index, t, tier, score)
        self.episodes.append(ep)
        if self.round_robin and self.reps:
            ep.rep = self._rr_next
            self._rr_next = (self._rr_next + 1) % self.reps
        if self.breach == "escalate":
            self._at(self.cal.add(t, self.targets[tier]), self._escalate, ep)
        elif self.breach == "recycle":
            self._at(self.cal.add(t, self.recycle_after), self._breach_recycle, ep)
        self._push(ep, t)

    def _at(self, t: float, fn, ep: Episode) -> None:
        """Call fn(ep) at clock time t (if within the run)."""
        if t < self.end:
            ev = self.env.timeout(max(t - self.env.now, 0.0))
            ev.callbacks.append(lambda _ev: fn(ep))

    # -- queue ------------------------------------------------------------------------------
    def _queue_of(self, ep: Episode) -> WorkQueue:
        return self.queues[ep.rep] if ep.rep >= 0 else self.queues[0]

    def _push(self, ep: Episode, ready: float) -> None:
        self._queue_of(ep).push(ep, ready)
        self._queue_changed(+1)
        if not self.cal.is_open(self.env.now):
            return
        if ep.rep >= 0:
            self._wake(ep.rep)
            return
        stack, idle = self.idle_stack, self.idle
        while stack:
            r = stack.pop()
            if idle[r] is not None:
                self._wake(r)
                return

    def _wake(self, r: int) -> None:
        ev = self.idle[r]
        if ev is not None:
            self.idle[r] = None
            ev.succeed()

    def _queue_changed(self, delta: int) -> None:
        self.waiting += delta
        self.q_time.append(self.env.now)
        self.q_len.append(self.waiting)

    def _take(self, r: int) -> Episode | None:
        q = self.queues[r] if self.round_robin else self.queues[0]
        while True:
            ep = q.pop()
            if ep is None:
                return None
            self._queue_changed(-1)
            if (self.triage_backlog is not None and q.live >= self.triage_backlog
                    and ep.score < self.triage_min and ep.tier != TIER_CODE["demo"] and ep.attempts == 0):
                self._recycle(ep, self.env.now, TRIAGED)
                continue
            return ep

    # -- SLA timers -------------------------------------------------------------------------
    def _escalate(self, ep: Episode) -> None:
        if ep.status == OPEN and ep.attempts == 0:
            self._queue_of(ep).escalate(ep, self.env.now)

    def _breach_recycle(self, ep: Episode) -> None:
        if ep.status == OPEN and ep.attempts == 0:
            self._withdraw(ep, BREACHED)

    def _follow_up(self, ep: Episode) -> None:
        """The next cadence attempt falls due. Under breach action `recycle`, a follow-up left
        waiting longer than `recycle_after` ends the cadence: unreached, back to nurture."""
        now = self.env.now
        self._push(ep, now)
        if self.breach == "recycle":
            stay = ep.pushes
            self._at(self.cal.add(now, self.recycle_after), lambda e: self._expire(e, stay), ep)

    def _expire(self, ep: Episode, stay: int) -> None:
        if ep.queued and ep.pushes == stay and ep.status == OPEN:
            self._withdraw(ep, UNREACHED)

    def _withdraw(self, ep: Episode, status: int) -> None:
        """Take a waiting episode out of its queue (if queued) and recycle it now."""
        if ep.queued:
            self._queue_of(ep).remove(ep)
            self._queue_changed(-1)
        self._recycle(ep, self.env.now, status)

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
            self._at(tm, lambda _ep: self._new_episode(ep.lead, ep.index + 1, tm, tier, score), ep)

    # -- reps -------------------------------------------------------------------------------
    def _opener(self):
        """Wake idle reps at the start of every working period."""
        env, cal = self.env, self.cal
        t = cal.next_open(0.0)
        while t < self.end:
            if t > env.now:
                yield env.timeout(t - env.now)
            self.idle_stack.clear()
            for r in range(self.reps):
                self._wake(r)
            nxt = cal.next_open(cal.period_end(t))
            if not nxt > t:
                raise RuntimeError(f"business calendar does not advance past t={t}")
            t = nxt

    def _rep(self, r: int):
        env, cal = self.env, self.cal
        is_open, take = cal.is_open, self._take
        share, draws, p_contact = self.share, self._draws, self.contact_probability
        log_lead, log_rep, log_start, log_handle, log_contact = self.at
        idle_stack = self.idle_stack
        while True:
            now = env.now
            ep = take(r) if is_open(now) else None
            if ep is None:
                ev = env.event()
                self.idle[r] = ev
                idle_stack.append(r)
                yield ev
                continue
            u_contact, h_reached, h_missed = draws(ep)
            if ep.attempts == 0:
                ep.first_touch = now
            ep.attempts += 1
            contact = u_contact < p_contact(now - ep.mql_time)
            h = h_reached if contact else h_missed
            log_lead.append(ep.lead), log_rep.append(r), log_start.append(now)
            log_handle.append(h), log_contact.append(contact)
            if contact:
                ep.status = CONTACTED
                ep.end_time = now
            elif ep.attempts >= self.max_attempts:
                self._recycle(ep, now, UNREACHED)
            else:
                self._at(cal.add(now, self.spacing), self._follow_up, ep)
            yield env.timeout(h / share)

    def _monitor(self):
        """Sample the queue at each midnight: how many wait, and for how long the longest-waiting
        one has waited (since it became ready: its MQL, or its next cadence attempt falling due)."""
        env = self.env
        day = 1440.0
        while env.now + day <= self.end:
            yield env.timeout(day)
            oldest = min(q.oldest_ready_time() for q in self.queues)
            self.day_queue.append(self.waiting)
            self.day_oldest.append(env.now - oldest if oldest < env.now else 0.0)

    def run(self) -> SalesLog:
        env = self.env
        env.process(self._feeder())
        env.process(self._opener())
        env.process(self._monitor())
        for r in range(self.reps):
            env.process(self._rep(r))
        # The run allocates a few container objects per MQL (episodes, heap entries, timers) and keeps
        # most alive to the end: the cyclic GC would re-scan them over and over, for garbage that is
        # freed by reference counting anyway. Collect once afterwards instead.
        gc_enabled = gc.isenabled()
        gc.disable()
        try:
            env.run(until=self.end)
        finally:
            if gc_enabled:
                gc.enable()
        return self._log()

    def _log(self) -> SalesLog:
        eps = self.episodes
        f8, i8 = np.float64, np.int64

        def col(attr: str, dtype) -> np.ndarray:
            return np.fromiter((getattr(e, attr) for e in eps), dtype=dtype, count=len(eps))

        a_lead, a_rep, a_start, a_handle, a_contact = self.at
        return SalesLog(
            ep_lead=col("lead", i8), ep_index=col("index", i8), ep_mql_time=col("mql_time", f8),
            ep_tier=col("tier", np.int8), ep_score=col("score", f8), ep_attempts=col("attempts", i8),
            ep_first_touch=col("first_touch", f8), ep_end_time=col("end_time", f8),
            ep_status=col("status", np.int8),
            at_lead=np.array(a_lead, i8), at_rep=np.array(a_rep, i8), at_start=np.array(a_start, f8),
            at_handle=np.array(a_handle, f8), at_contact=np.array(a_contact, bool),
            q_time=np.array(self.q_time, f8), q_len=np.array(self.q_len, i8),
            day_queue=np.array(self.day_queue, i8), day_oldest_age=np.array(self.day_oldest, f8),
            reps=self.reps,
        )
