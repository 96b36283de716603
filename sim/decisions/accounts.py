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

