"""Account-level qualification (MQA) and the work items it hands to sales, vectorised.

Account score at each event of any of its contacts (CRM accounts: orphan leads are accounts of
their own) = account fit + roll-up of the contacts' behaviour + intent points while the account's
intent signal is on. A contact's value is its lead behaviour score after its last event (negative
points and the no-open penalty aside), capped at `contact_cap`, decayed like lead scores between
events. Decay must be `none` or `half_life`: both shrink every contact by the same factor over the
same time, so the roll-up can be carried from one account event to the next exactly (the sum by a
linear recurrence, the top k contacts as a small sorted state).

Engaged contacts: a contact is engaged for `engaged_window` after each event that scored points;
the count at an event comes from a sweep over these intervals. The rule holds at the first account
event where (score >= threshold) and/or (engaged >= min_engaged_contacts) [and a decision-seniority
contact is engaged]; a demo request takes the fast lane in every mode.

What sales receives is per lead (so the sales engine is unchanged): `unit = "lead"` the lead MQLs,
`"account"` one item per MQA (the contact whose event qualified it) or one per engaged contact,
`"hybrid"` a lead MQL whose account is an MQA, at the later of the two times (a demo request
through the fast lane need not wait for its account).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.config.policy import Policy
from sim.decisions.mql import DEMO, HIGH_INTENT, STANDARD, TOL, Rules, compile_policy, decay_factor
from sim.decisions.scoring import EventScores, Scored, score_events
from sim.vocab import COMPANY_SIZES, INDUSTRIES, REGIONS, SENIORITIES
from sim.world.model import World

CHUNK_LEADS = 131_072


@dataclass(frozen=True, eq=False)
class Entries:
    """What enters the sales queue, per lead: first entry time (inf if never), tier, score."""

    time: np.ndarray
    tier: np.ndarray
    score: np.ndarray


@dataclass(frozen=True, eq=False)
class Mqas:
    """Each CRM account's first MQA: account ids, times, scores and the triggering lead."""

    account: np.ndarray   # int64[k], CRM account ids that qualified
    time: np.ndarray      # float64[k]
    score: np.ndarray     # float64[k]
    lead: np.ndarray      # int64[k]
    tier: np.ndarray      # int8[k]


def crm_accounts(world: World) -> np.ndarray:
    """int64[n]: each lead's CRM account (a world without accounts: every lead its own)."""
    if world.accounts is None:
        return np.arange(world.n, dtype=np.int64)
    return world.accounts.lead_crm


@dataclass(frozen=True, eq=False)
class ContactScores:
    """What the account roll-up reads from lead scoring, per event (global order) and per lead."""

    eligible: np.ndarray     # bool[n]: the lead passes the gates
    lead: np.ndarray         # int64[m]
    behaviour: np.ndarray    # float64[m]: behaviour after the event
    fast_lane: np.ndarray    # bool[m]: a demo request taking the fast lane


def _keep(es: EventScores, offset: int = 0) -> ContactScores:
    return ContactScores(es.eligible, es.lead.astype(np.int64) + offset, es.behaviour, es.fast_lane)


def event_scores(world: World, policy: Policy, rules: Rules) -> ContactScores:
    """`score_events` over the whole world, in chunks of leads (global lead indices), keeping only
    what the roll-up needs."""
    if world.n <= CHUNK_LEADS:
        return _keep(score_events(world, policy, rules))
    parts = [_keep(score_events(world.leads(a, min(a + CHUNK_LEADS, world.n)), policy, rules), a)
             for a in range(0, world.n, CHUNK_LEADS)]
    return ContactScores(*(np.concatenate([getattr(p, f.name) for p in parts])
                           for f in dataclasses.fields(ContactScores)))


def points(table: Mapping[Any, float], names: tuple[str, ...], default: float = 0.0) -> np.ndarray:
    """float64[len(names)]: a {vocabulary value: number} table as an array by code (absent = default)."""
    plain = {str(k): float(v) for k, v in table.items()}
    return np.array([plain.get(k, default) for k in names], dtype=np.float64)


def account_fit(world: World, policy: Policy) -> np.ndarray:
    """float64[n]: the policy's fit points for each lead's company (size, industry, region, customer)."""
    fit = policy.scoring.fit
    size, ind, reg = (points(fit.company_size, COMPANY_SIZES), points(fit.industry, INDUSTRIES),
                      points(fit.region, REGIONS))
    out: np.ndarray = size[world.company_size] + ind[world.industry] + reg[world.region]
    return out + np.where(world.existing_customer, float(fit.existing_customer), 0.0)


def composite(key: np.ndarray, time: np.ndarray, width: float) -> np.ndarray:
    """float64 keys that sort like (key, time): key x width + time, width a power of two above every
    time, so key x width is exact; times closer than ~1e-3 minutes may compare equal (harmless)."""
    out: np.ndarray = key.astype(np.float64) * width + time
    return out


def time_width(*times: np.ndarray) -> float:
    """A power of two above every (non-negative) time given."""
    top = max([float(np.max(t)) for t in times if t.size] + [1.0])
    return float(2.0 ** np.ceil(np.log2(top + 2.0)))


def active_count(iv_key: np.ndarray, iv_start: np.ndarray, iv_end: np.ndarray,
                 q_key: np.ndarray, q_time: np.ndarray) -> np.ndarray:
    """int64[q]: how many intervals [start, end) with the query's key contain the query time.

    Counted as (starts <= t) - (ends <= t) among the intervals of the key, by binary search in the
    sorted composite (key, time) values: intervals of smaller keys are counted in both and cancel."""
    if q_key.size == 0:
        return np.zeros(0, dtype=np.int64)
    lo = min([float(np.min(t)) for t in (iv_start, q_time) if t.size] + [0.0])
    width = time_width(iv_end - lo, q_time - lo, iv_start - lo)
    starts = np.sort(composite(iv_key, iv_start - lo, width))
    ends = np.sort(composite(iv_key, iv_end - lo, width))
    q = composite(q_key, q_time - lo, width)
    return (np.searchsorted(starts, q, side="right") - np.searchsorted(ends, q, side="right")).astype(np.int64)


def engagement_intervals(lead: np.ndarray, time: np.ndarray, scored: np.ndarray,
                         window: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lead, start, end) of each contact's engaged spans: from a scored event until `window` after
    the last scored event less than `window` after the previous one (events sorted by lead, time)."""
    idx = np.flatnonzero(scored)
    if idx.size == 0:
        z = np.zeros(0)
        return z.astype(np.int64), z, z
    ld, t = lead[idx], time[idx]
    cont = np.zeros(idx.size, dtype=bool)
    cont[1:] = (ld[1:] == ld[:-1]) & (t[1:] - t[:-1] < window)
    starts = np.flatnonzero(~cont)
    last = np.append(starts[1:] - 1, idx.size - 1)
    return ld[starts].astype(np.int64), t[starts], t[last] + window


def _rollup(acc: np.ndarray, time: np.ndarray, contact: np.ndarray, value: np.ndarray, delta: np.ndarray,
            rules: Rules, mode: str, k: int) -> np.ndarray:
    """float64[m]: the roll-up after each event, events sorted by (account, time).

    Accounts are ranked by event count, and step j updates every account with more than j events
    (a prefix of the ranking): one numpy call per step, like the lead scorer."""
    m = acc.shape[0]
    out = np.zeros(m)
    if m == 0:
        return out
    new = np.ones(m, dtype=bool)
    new[1:] = acc[1:] != acc[:-1]
    seg_start = np.flatnonzero(new)
    seg_len = np.diff(np.append(seg_start, m))
    rank = np.argsort(-seg_len, kind="stable")
    seg_start, seg_len = seg_start[rank], seg_len[rank]
    maxlen = int(seg_len[0])
    n_k = np.searchsorted(-seg_len, -np.arange(maxlen), side="left")   # accounts with > j events
    a = seg_start.shape[0]
    total = np.zeros(a)
    width = 1 if mode == "max" else k
    top_v = np.zeros((a, width))
    top_id = np.full((a, width), -1, dtype=np.int64)
    t_prev = np.zeros(a)
    for j in range(maxlen):
        p = int(n_k[j])
        ev = seg_start[:p] + j
        t = time[ev]
        f = decay_factor(rules, t - t_prev[:p]) if j else np.ones(p)
        t_prev[:p] = t
        if mode == "sum":
            total[:p] = total[:p] * f + delta[ev]
            out[ev] = total[:p]
            continue
        tv = top_v[:p] * f[:, None]
        ti = top_id[:p]
        c, v = contact[ev], value[ev]
        match = ti == c[:, None]
        has = match.any(axis=1)
        col = np.where(has, match.argmax(axis=1), tv.argmin(axis=1))
        rows = np.arange(p)
        put = has | (v > tv[rows, col])
        tv[rows[put], col[put]] = v[put]
        ti[rows[put], col[put]] = c[put]
        top_v[:p] = tv
        out[ev] = tv.sum(axis=1)
    return out


def account_mqas(world: World, policy: Policy, es: ContactScores | None = None,
                 rules: Rules | None = None) -> Mqas:
    """Each CRM account's first MQA under the policy's `mql.account` rule (and the demo fast lane)."""
    r = rules or compile_policy(policy)
    if r.decay_mode not in ("none", "half_life"):
        raise ValueError("account roll-ups need scoring.decay.mode none or half_life")
    es = es if es is not None else event_scores(world, policy, r)
    rule = policy.mql.account
    empty = Mqas(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int8))
    lead = es.lead.astype(np.int64)
    t = world.event_time
    m = t.shape[0]
    if m == 0:
        return empty
    # each contact's value after its events, and the change it brings to the account sum
    cap = np.inf if rule.contact_cap is None else float(rule.contact_cap)
    value = np.minimum(es.behaviour, cap)
    same = np.zeros(m, dtype=bool)
    same[1:] = lead[1:] == lead[:-1]
    dt = np.zeros(m)
    dt[1:] = np.where(same[1:], t[1:] - t[:-1], 0.0)
    f = decay_factor(r, dt)
    prev_value = np.where(same, np.roll(value, 1), 0.0) * f
    prev_behaviour = np.where(same, np.roll(es.behaviour, 1), 0.0) * f
    delta = value - prev_value
    scored = es.behaviour > prev_behaviour + TOL

    ok = es.eligible[lead]
    crm = crm_accounts(world)
    keep = np.flatnonzero(ok)
    order = keep[np.argsort(composite(crm[lead[keep]], t[keep] - min(float(t.min()), 0.0),
                                      time_width(t - min(float(t.min()), 0.0))))]
    acc_e, t_e, lead_e = crm[lead[order]], t[order], lead[order]
    roll = _rollup(acc_e, t_e, lead_e, value[order], delta[order], r, rule.rollup, rule.top_k)
    if rule.behaviour_cap is not None:
        roll = np.minimum(roll, rule.behaviour_cap)
    score = account_fit(world, policy)[lead_e] + roll

    if world.accounts is not None and rule.intent_points > 0 and world.accounts.s_account.size:
        book = world.accounts
        surging = active_count(book.s_account, book.s_start, book.s_end, acc_e, t_e) > 0
        score = score + np.where(surging, rule.intent_points, 0.0)
    iv_lead, iv_start, iv_end = engagement_intervals(lead, t, scored & ok, rule.engaged_window.minutes)
    holds_score = score >= rule.threshold - TOL
    # breadth is counted only where it can change the outcome (a sweep over intervals is not free)
    need = np.flatnonzero(holds_score if rule.combine == "and" else ~holds_score)
    breadth = np.zeros(score.shape[0], dtype=bool)
    if rule.min_engaged_contacts <= 0:
        breadth[:] = True
    elif need.size:
        breadth[need] = active_count(crm[iv_lead], iv_start, iv_end, acc_e[need], t_e[need]) \
            >= rule.min_engaged_contacts
    holds = (holds_score & breadth) if rule.combine == "and" else (holds_score | breadth)
    if rule.decision_role:
        decider = np.isin(np.arange(len(SENIORITIES)), [SENIORITIES.index(s) for s in rule.decision_seniorities])
        dec = decider[world.seniority[iv_lead]]
        where = np.flatnonzero(holds)
        holds[where] = active_count(crm[iv_lead[dec]], iv_start[dec], iv_end[dec], acc_e[where], t_e[where]) >= 1
    fast = es.fast_lane[order]
    hit = np.flatnonzero(holds | fast)
    if hit.size == 0:
        return empty
    who = acc_e[hit]
    first = np.ones(hit.size, dtype=bool)
    first[1:] = who[1:] != who[:-1]
    ev = hit[first]
    tier = np.where(fast[ev], DEMO,
                    np.where(score[ev] >= rule.high_intent - TOL, HIGH_INTENT, STANDARD)).astype(np.int8)
    lead_of = _most_engaged(acc_e, t_e, lead_e, value[order], ev, r, rule.engaged_window.minutes)
    return Mqas(acc_e[ev], t_e[ev], score[ev], np.where(fast[ev], lead_e[ev], lead_of), tier)


def _most_engaged(acc: np.ndarray, t: np.ndarray, lead: np.ndarray, value: np.ndarray, ev: np.ndarray,
                  r: Rules, window: float) -> np.ndarray:
    """int64[len(ev)]: for each MQA event (position in the account-sorted events), the contact the rep
    calls first: the one with the highest value among the account's events of the last `window`
    (an engaged contact; the latest on ties). Decay shrinks every contact alike, so comparing
    value x 2^(t/h) compares their values now."""
    if ev.size == 0:
        return np.zeros(0, dtype=np.int64)
    base = float(t.min()) if t.size else 0.0
    width = time_width(t - base, t[ev] - base)
    comp = composite(acc, t - base, width)
    start = np.searchsorted(comp, composite(acc[ev], t[ev] - base - window, width), side="right")
    start = np.minimum(start, ev)                      # the MQA's own event is always in range
    n = ev - start + 1
    pos = np.repeat(start - np.cumsum(np.concatenate(([0], n[:-1]))), n) + np.arange(int(n.sum()))
    row = np.repeat(np.arange(ev.size), n)
    if r.decay_mode == "half_life":
        key = np.log2(np.maximum(value[pos], 1e-300)) + (t[pos] - base) / r.half_life
    else:
        key = value[pos].astype(np.float64)
    best = np.full(ev.size, -np.inf)
    np.maximum.at(best, row, key)
    top = np.full(ev.size, -1, dtype=np.int64)
    hit = key == best[row]
    np.maximum.at(top, row[hit], pos[hit])
    out: np.ndarray = lead[top]
    return out


def entries(world: World, policy: Policy, scored: Scored) -> Entries:
    """Per lead, when it enters the sales queue under the policy's `mql.unit`."""
    unit = policy.mql.unit
    if unit == "lead":
        return Entries(scored.mql_time, scored.mql_tier, scored.mql_score)
    r = compile_policy(policy)
    es = event_scores(world, policy, r)
    mqa = account_mqas(world, policy, es, r)
    n = world.n
    time, tier, score = np.full(n, np.inf), np.full(n, -1, np.int8), np.full(n, np.nan)
    if unit == "account":
        time[mqa.lead], tier[mqa.lead], score[mqa.lead] = mqa.time, mqa.tier, mqa.score
        if policy.mql.account.work_items == "contact":
            crm = crm_accounts(world)
            lead = es.lead.astype(np.int64)
            prev = np.zeros(lead.shape[0])
            same = np.zeros(lead.shape[0], dtype=bool)
            same[1:] = lead[1:] == lead[:-1]
            dt = np.where(same, world.event_time - np.roll(world.event_time, 1), 0.0)
            prev = np.where(same, np.roll(es.behaviour, 1), 0.0) * decay_factor(r, dt)
            scored_ev = (es.behaviour > prev + TOL) & es.eligible[lead]
            iv_lead, iv_start, iv_end = engagement_intervals(lead, world.event_time, scored_ev,
                                                             policy.mql.account.engaged_window.minutes)
            at = np.full(int(crm.max()) + 1 if crm.size else 0, np.inf)
            at[mqa.account] = mqa.time
            t_acc = at[crm[iv_lead]]
            live = (iv_start <= t_acc) & (t_acc < iv_end)
            who = iv_lead[live]
            fresh = ~np.isfinite(time[who])
            time[who[fresh]] = t_acc[live][fresh]
            tier[who[fresh]] = STANDARD
            lookup = np.full(at.shape[0], np.nan)
            lookup[mqa.account] = mqa.score
            score[who[fresh]] = lookup[crm[who[fresh]]]
        return Entries(time, tier, score)
    # hybrid: the lead's MQL, once its account has qualified (demo fast lane: at once)
    crm = crm_accounts(world)
    at = np.full(int(crm.max()) + 1 if crm.size else 0, np.inf)
    at[mqa.account] = mqa.time
    t_acc = at[crm]
    demo = scored.mql_tier == DEMO
    time = np.where(demo, scored.mql_time, np.maximum(scored.mql_time, t_acc))
    time = np.where(np.isfinite(scored.mql_time), time, np.inf)
    tier = np.where(np.isfinite(time), scored.mql_tier, -1).astype(np.int8)
    score = np.where(np.isfinite(time), scored.mql_score, np.nan)
    return Entries(time, tier, score)


# -- multi-threading and re-qualification (cadence.threading, recycled accounts) ----------------------

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
