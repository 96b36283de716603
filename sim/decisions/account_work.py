"""Account work items after the MQA: whom a multi-threaded cadence calls (`cadence.threading`),
one item per account, and when a recycled account qualifies again (`recycle.requalify_accounts`).

The MQA rule itself (scores, roll-ups, engaged contacts) is `sim.decisions.accounts`; this module
reuses its building blocks so the spans a rotation walks are the ones the breadth rule counts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config.policy import Policy
from sim.decisions.accounts import (
    ContactScores,
    Entries,
    account_fit,
    composite,
    crm_accounts,
    engagement_intervals,
    event_scores,
    time_width,
)
from sim.decisions.mql import DEMO, TOL, Rules, compile_policy, decay_factor
from sim.vocab import SENIORITIES
from sim.world.model import World


@dataclass(frozen=True, eq=False)
class Engagement:
    """Each eligible contact's engaged spans sorted by CRM account then start (what a multi-threaded
    cadence rotates through), and every event's contact value (behaviour capped at contact_cap),
    global event order, to rank the contacts by engagement."""

    acc: np.ndarray          # int64[s]: CRM account of each span
    lead: np.ndarray         # int64[s]
    start: np.ndarray        # float64[s]
    end: np.ndarray          # float64[s]: exclusive
    ev_lead: np.ndarray      # int64[m]: the lead of each event (lead-major, time-sorted within a lead)
    value: np.ndarray        # float64[m]
    ev_key: np.ndarray       # float64[m]: composite (lead, time - base) keys of the events, sorted
    base: float              # the time origin of ev_key
    width: float             # its width: above every event time and the run's end


def engagement(world: World, policy: Policy, rules: Rules | None = None,
               es: ContactScores | None = None) -> Engagement:
    """The engaged spans of every eligible contact under the policy's `mql.account` rule (the same
    spans the MQA breadth rule counts)."""
    r = rules or compile_policy(policy)
    es = es if es is not None else event_scores(world, policy, r)
    rule = policy.mql.account
    lead = es.lead.astype(np.int64)
    t = world.event_time
    same = np.zeros(lead.shape[0], dtype=bool)
    same[1:] = lead[1:] == lead[:-1]
    dt = np.where(same, t - np.roll(t, 1), 0.0)
    prev = np.where(same, np.roll(es.behaviour, 1), 0.0) * decay_factor(r, dt)
    scored = (es.behaviour > prev + TOL) & es.eligible[lead]
    iv_lead, iv_start, iv_end = engagement_intervals(lead, t, scored, rule.engaged_window.minutes)
    acc = crm_accounts(world)[iv_lead]
    order = np.lexsort((iv_start, acc))
    cap = np.inf if rule.contact_cap is None else float(rule.contact_cap)
    base = min(float(t.min()) if t.size else 0.0, 0.0)
    width = time_width(t - base, np.array([world.end - base]))
    return Engagement(acc[order], iv_lead[order], iv_start[order], iv_end[order], lead,
                      np.minimum(es.behaviour, cap), composite(lead, t - base, width), base, width)


def thread_contacts(world: World, policy: Policy, eng: Engagement, item_lead: np.ndarray,
                    item_time: np.ndarray, size: int) -> list[list[int]]:
    """For each work item (its contact `item_lead`, opened at `item_time`), the contacts a
    multi-threaded cadence calls in turn, at most `size`: the item's own contact first, then the
    account's other contacts engaged at that time, decision seniorities (`mql.account.
    decision_seniorities`) before the others, each group by engagement (contact value decayed to
    that time, highest first; lead index on ties)."""
    k = item_lead.shape[0]
    if k == 0:
        return []
    crm = crm_accounts(world)
    acc = crm[item_lead]
    lo = np.searchsorted(eng.acc, acc, side="left")
    hi = np.searchsorted(eng.acc, acc, side="right")
    cnt = hi - lo
    rows = np.repeat(np.arange(k), cnt)
    pos = np.repeat(lo - np.cumsum(np.append(0, cnt[:-1])), cnt) + np.arange(int(cnt.sum()))
    live = (eng.start[pos] <= item_time[rows]) & (item_time[rows] < eng.end[pos])
    rows, who = rows[live], eng.lead[pos[live]]
    keep = who != item_lead[rows]                       # the item's own contact is added first below
    rows = np.concatenate([np.arange(k), rows[keep]])
    who = np.concatenate([item_lead.astype(np.int64), who[keep]])
    own = np.zeros(rows.shape[0], dtype=bool)
    own[:k] = True
    # engagement now: the contact's value after its last event at or before the item's time
    t_ev = world.event_time
    base, width, comp = eng.base, eng.width, eng.ev_key
    if float(item_time.max()) - base >= width or float(item_time.min()) < base:      # items outside the run
        base = min(base, float(item_time.min()))
        width = time_width(t_ev - base, item_time - base)
        comp = composite(eng.ev_lead, t_ev - base, width)
    at = np.searchsorted(comp, composite(who, item_time[rows] - base, width), side="right") - 1
    ok = (at >= 0) & (eng.ev_lead[np.maximum(at, 0)] == who) if t_ev.size else np.zeros(who.shape[0], dtype=bool)
    at = np.maximum(at, 0)
    r = compile_policy(policy)
    if t_ev.size and r.decay_mode == "half_life":
        key = np.log2(np.maximum(eng.value[at], 1e-300)) + (t_ev[at] - base) / r.half_life
    else:
        key = eng.value[at] if t_ev.size else np.zeros(who.shape[0])
    key = np.where(ok, key, -np.inf)
    codes_ = [SENIORITIES.index(s) for s in policy.mql.account.decision_seniorities]
    decider = np.isin(world.seniority[who], codes_)
    order = np.lexsort((who, -key, ~decider, ~own, rows))
    rows, who = rows[order], who[order]
    starts = np.searchsorted(rows, np.arange(k), side="left")
    stops = np.minimum(np.searchsorted(rows, np.arange(k), side="right"), starts + max(size, 1))
    flat = who.tolist()
    return [flat[a:b] for a, b in zip(starts.tolist(), stops.tolist())]


def one_item_per_account(world: World, entry: Entries) -> Entries:
    """The entries with only each CRM account's first (earliest; lowest lead on ties) kept: a
    multi-threaded cadence works the account as one item, whatever the unit."""
    who = np.flatnonzero(np.isfinite(entry.time))
    if who.size == 0:
        return entry
    acc = crm_accounts(world)[who]
    order = np.lexsort((who, entry.time[who], acc))
    a = acc[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = a[1:] != a[:-1]
    drop = who[order][~first]
    time, tier, score = entry.time.copy(), entry.tier.copy(), entry.score.copy()
    time[drop], tier[drop], score[drop] = np.inf, -1, np.nan
    return Entries(time, tier, score)


class AccountThreads:
    """The contacts each work item's cadence calls in turn (`cadence.threading = "spread"`):
    `thread_contacts` for the items known before the run (bulk), one item at a time for the items
    that open later (re-MQAs after a recycle)."""

    def __init__(self, world: World, policy: Policy, leads: np.ndarray, times: np.ndarray):
        self.world, self.policy = world, policy
        self.size = policy.cadence.max_attempts
        self.eng = engagement(world, policy)
        lists = thread_contacts(world, policy, self.eng, leads.astype(np.int64), times.astype(np.float64), self.size)
        self.first: dict[int, list[int]] = dict(zip(leads.tolist(), lists))

    def __call__(self, lead: int, index: int, t: float) -> list[int]:
        """The rotation of the item of `lead` (its `index`-th episode) opened at t."""
        if index == 0 and lead in self.first:
            return self.first[lead]
        return thread_contacts(self.world, self.policy, self.eng, np.array([lead], np.int64),
                               np.array([t], np.float64), self.size)[0]


class NextMqa:
    """The re-qualification of a recycled account work item (`mql.unit` account or hybrid): the
    first time strictly after the recycle at which the account rule holds again, found by a plain
    scalar loop over the account's contacts' events (like `sim.decisions.oracle.next_mql` for
    leads; called for recycled items only).

    The rule is `mql.account`'s: account fit + roll-up of the contacts' behaviour (decayed, capped)
    + intent points while the signal is on, engaged contacts in the last `engaged_window`, a
    decision seniority if asked, the demo fast lane. With `recycle.reset_behaviour` (default) only
    engagement after the recycle counts (every contact's behaviour restarts from zero), so an
    account qualifies again only on new engagement. The roll-up here is the literal one (the top k
    of the contacts' current values). Unit account: the item comes back on its own contact, tier
    re_engaged (demo for a demo request). Hybrid: the lead's own next MQL, once its account has
    qualified again (the later of the two; a demo request does not wait)."""

    def __init__(self, world: World, policy: Policy, rules: Rules | None = None):
        from sim.decisions.mql import in_icp, passes_gates

        self.world, self.policy = world, policy
        self.r = rules or compile_policy(policy)
        crm = crm_accounts(world)
        self.crm = crm
        self.by_acc = np.argsort(crm, kind="stable")
        self.sorted_acc = crm[self.by_acc]
        self.fit = account_fit(world, policy)
        self.eligible = np.asarray(passes_gates(self.r, world, np.arange(world.n), in_icp(self.r, world, np.arange(world.n))),
                                   dtype=bool)
        rule = policy.mql.account
        self.deciders = {SENIORITIES.index(s) for s in rule.decision_seniorities}

    def _contacts(self, acc: int) -> list[int]:
        lo, hi = np.searchsorted(self.sorted_acc, [acc, acc + 1])
        return [int(x) for x in self.by_acc[lo:hi]]

    def account_time(self, lead: int, after: float) -> tuple[float, int, float] | None:
        """(time, tier, account score) of the account's first MQA strictly after `after`, or None."""
        from sim.decisions.mql import RE_ENGAGED
        from sim.decisions.oracle import score_lead

        world, policy, r = self.world, self.policy, self.r
        rule = policy.mql.account
        acc = int(self.crm[lead])
        reset = after if policy.recycle.reset_behaviour else None
        cap = np.inf if rule.contact_cap is None else float(rule.contact_cap)
        events: list[tuple[float, int, int, float, bool]] = []
        for c in self._contacts(acc):
            if not self.eligible[c]:
                continue
            events += [(p.time, p.event, c, p.behaviour, p.fast_lane)
                       for p in score_lead(world, policy, c, reset_at=reset, rules=r)]
        events.sort()
        book = world.accounts
        surges: list[tuple[float, float]] = []
        if book is not None and rule.intent_points > 0 and acc < book.count:
            m = book.s_account == acc
            surges = list(zip(book.s_start[m].tolist(), book.s_end[m].tolist()))
        half = r.half_life if r.decay_mode == "half_life" else None
        behaviour: dict[int, tuple[float, float]] = {}      # contact -> (behaviour, at time)
        last_scored: dict[int, float] = {}
        window = rule.engaged_window.minutes
        for t, _ev, c, b, fast in events:
            prev, t_prev = behaviour.get(c, (0.0, t))
            if half is not None:
                prev *= 2.0 ** (-(t - t_prev) / half)
            if b > prev + TOL:
                last_scored[c] = t
            behaviour[c] = (b, t)
            if t <= after:
                continue
            values = sorted((min(v, cap) * (2.0 ** (-(t - tv) / half) if half is not None else 1.0)
                             for v, tv in behaviour.values()), reverse=True)
            roll = (sum(values) if rule.rollup == "sum" else values[0] if rule.rollup == "max"
                    else sum(values[:rule.top_k]))
            if rule.behaviour_cap is not None:
                roll = min(roll, rule.behaviour_cap)
            score = float(self.fit[c]) + roll
            if any(s <= t < e for s, e in surges):
                score += rule.intent_points
            engaged = [x for x, s in last_scored.items() if t - s < window]
            holds_score = score >= rule.threshold - TOL
            breadth = rule.min_engaged_contacts <= 0 or len(engaged) >= rule.min_engaged_contacts
            holds = (holds_score and breadth) if rule.combine == "and" else (holds_score or breadth)
            if holds and rule.decision_role:
                holds = any(int(world.seniority[x]) in self.deciders for x in engaged)
            if holds or fast:
                return t, DEMO if fast else RE_ENGAGED, score
        return None

    def __call__(self, lead: int, after: float) -> tuple[float, int, float] | None:
        """The item's next entry after a recycle at `after`, as (time, tier, score), or None."""
        if self.policy.mql.unit != "hybrid":
            return self.account_time(lead, after)
        from sim.decisions.oracle import next_mql

        own = next_mql(self.world, self.policy, lead, after, rules=self.r)
        if own is None:
            return None
        if own[1] == DEMO:
            return own
        acc = self.account_time(lead, after)
        if acc is None:
            return None
        return max(own[0], acc[0]), own[1], own[2]
