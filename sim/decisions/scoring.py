"""Vectorised scoring of a whole World under one policy: each lead's first MQL (time, tier, score,
triggering event). Semantics are those documented in `sim.decisions.mql`; `oracle.py` is the scalar
reference this must match exactly (tests check it on random worlds and policies).

How, and why this way:
- The decay recurrences B_j = min(B_{j-1} * f_j + c_j, cap) are linear with a min(), so log-space
  cumsum tricks would overflow and lose ties. Instead leads are ordered by event count (descending),
  and a loop over the position k within a lead updates, with one numpy call per step, every lead
  that has more than k events: those leads are a prefix of the order, so their previous state is a
  prefix slice of the previous step's. O(total events) work in about 15 x max_events_per_lead calls,
  with the oracle's arithmetic in the oracle's order (bit-identical, not just close).
- Occurrence counts per (lead, type) are kept in an n x types counter in the same loop; the capped
  contribution of the j-th occurrence of a type comes from `mql.contribution_table`.
- Window decay: per-lead running sums from the same loop, minus the sum before the first event in
  the window, found by a vectorised binary search within the lead (exact comparisons, no float key
  tricks). The difference of sums can differ from the oracle's direct sum by rounding; the TOL in
  the rule absorbs it.
- First crossing: the first True of the per-event MQL mask within each lead.
- Two parts: the score trajectory (`score_trajectory`: fit, gates, the total after every event, the
  fast lane), which no MQL threshold, tier or fit/behaviour minimum changes, and the first MQLs read
  off it (`first_mqls`). Policies that differ only in those share the first part
  (`sim.decisions.shared_scoring`): a threshold sweep scores each world once.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from sim.config.policy import Policy
from sim.decisions.mql import (
    N_TYPES,
    STANDARD,
    Rules,
    compile_policy,
    contribution_table,
    decay_factor,
    fit_points,
    in_icp,
    passes_gates,
    rule_holds,
    threshold_of,
    tier_code,
)
from sim.vocab import DEMO_REQUEST, EMAIL_OPEN
from sim.world.model import World

if TYPE_CHECKING:
    from sim.decisions.shared_scoring import SharedScoring


@dataclass(frozen=True, eq=False)
class Scored:
    """Each lead's first MQL under one policy."""

    fit: np.ndarray          # float64[n]
    mql_time: np.ndarray     # float64[n], np.inf if never
    mql_tier: np.ndarray     # int8[n], -1 if never
    mql_score: np.ndarray    # float64[n], total score at the MQL event (nan if never)
    mql_event: np.ndarray    # int32[n] (int64 from 2**31 events), global event index that triggered the MQL (-1 if never)
    eligible: np.ndarray     # bool[n], passes the gates

    @property
    def is_mql(self) -> NDArray[np.bool_]:
        finite: NDArray[np.bool_] = np.isfinite(self.mql_time)
        return finite


def _behaviour(r: Rules, world: World, counts: np.ndarray, dt: np.ndarray | None) -> np.ndarray:
    """float64[m]: behaviour after each event (before the window step for window decay). `dt`: the
    gaps between events, read only when the policy's behaviour decays.

    Works in a position-major copy of the events: slot starts[k] + rank holds event k of the lead
    ranked `rank` by event count, so each step reads and writes contiguous slices; each step also
    fills in its slots' event indices (one pass, no per-event index temporaries)."""
    off = world.event_offsets
    n, m = counts.size, int(off[-1])
    maxlen = int(counts.max())
    small = maxlen < 32767  # int16 keys let numpy use its radix sort
    keys = counts.astype(np.int16) if small else counts.astype(np.int64)
    order = np.argsort(-keys, kind="stable")
    first = off[:-1][order]                   # first event of the lead of each rank
    n_k = n - np.cumsum(np.bincount(counts, minlength=maxlen + 1))[:maxlen]   # leads with > k events
    starts = np.zeros(maxlen + 1, dtype=np.int64)
    np.cumsum(n_k, out=starts[1:])
    table = contribution_table(r, maxlen).ravel()
    rows = np.arange(n, dtype=np.intp) * N_TYPES   # occurrence counter row of each rank
    seen = np.zeros(n * N_TYPES, dtype=np.int32)
    decays = r.decay_mode in ("half_life", "inactivity")
    f = decay_factor(r, dt) if decays and dt is not None else None
    cap = None if r.decay_mode == "window" else r.behaviour_cap
    src = np.empty(m, dtype=np.intp)          # slot -> global event index
    out = np.empty(m, dtype=np.float64)
    prev = out[:0]
    for k in range(maxlen):
        a, b = int(starts[k]), int(starts[k + 1])
        at = src[a:b]
        np.add(first[: b - a], k, out=at)
        kinds = world.event_type[at].astype(np.intp)
        slot = rows[: b - a] + kinds
        occ = seen[slot]
        seen[slot] = occ + 1
        kinds *= maxlen                       # row of each slot's type in the contribution table
        kinds += occ
        val = out[a:b]
        np.take(table, kinds, out=val)
        if k:
            val += prev[: b - a] * f[at] if f is not None else prev[: b - a]   # f is set iff decays
        if cap is not None:
            np.minimum(val, cap, out=val)
        prev = val
    behaviour = np.empty(m, dtype=np.float64)
    behaviour[src] = out
    return behaviour


def _window_start(world: World, start: np.ndarray, width: float) -> np.ndarray:
    """Global index of the first event of the lead with time > t_j - width, for every event j."""
    t = world.event_time
    m = t.size
    q = t - width
    lo = start.copy()
    todo = np.flatnonzero(t[start] <= q)     # only leads older than the window need a search
    if todo.size:
        a, b, qq = lo[todo], todo + 1, q[todo]
        for _ in range(int(np.max(b - a)).bit_length() + 1):
            live = a < b
            mid = (a + b) >> 1
            go = live & (t[np.minimum(mid, m - 1)] <= qq)
            a = np.where(go, mid + 1, a)
            b = np.where(go | ~live, b, mid)
        lo[todo] = a
    return lo


@dataclass(frozen=True, eq=False)
class EventScores:
    """The score after every event (global event order): the oracle's ScorePoints, vectorised."""

    fit: np.ndarray          # float64[n]
    eligible: np.ndarray     # bool[n], passes the gates
    lead: np.ndarray         # int[m], the lead of each event
    behaviour: np.ndarray    # float64[m]
    penalty: np.ndarray      # float64[m]
    total: np.ndarray        # float64[m]
    rule_holds: np.ndarray   # bool[m], the rule holds and the lead passes the gates
    fast_lane: np.ndarray    # bool[m], a demo request taking the fast lane

    @property
    def mql(self) -> NDArray[np.bool_]:
        either: NDArray[np.bool_] = self.rule_holds | self.fast_lane
        return either


def _scores(world: World, r: Rules) -> tuple[np.ndarray, ...]:
    """(fit, ok, lead, behaviour, penalty, total): fit and gates per lead; per event its lead and the
    score after it, in parts. Everything here is the same for every MQL threshold."""
    n, every = world.n, slice(None)
    fit = np.asarray(fit_points(r, world, every), dtype=np.float64)
    icp = np.asarray(in_icp(r, world, every), dtype=bool)
    ok = np.asarray(passes_gates(r, world, every, icp), dtype=bool)
    off = np.asarray(world.event_offsets, dtype=np.int64)
    t = np.asarray(world.event_time, dtype=np.float64)
    m = int(off[-1]) if off.size else 0
    counts = np.diff(off)
    lead = np.repeat(np.arange(n, dtype=np.intp), counts)   # intp: numpy converts other index types at every gather
    if m == 0:
        z = np.zeros(0)
        return fit, ok, lead, z, z, z

    dt = None
    if r.decay_mode in ("half_life", "inactivity"):   # the gaps between events: only decay reads them
        dt = np.empty(m)
        dt[0] = 0.0
        np.subtract(t[1:], t[:-1], out=dt[1:])
        dt[off[:-1][counts > 0]] = 0.0        # unused (B_0 = 0) but keeps power() from overflowing
    behaviour = _behaviour(r, world, counts, dt)
    if r.decay_mode == "window" or r.penalty_points != 0.0:
        start = np.repeat(off[:-1], counts)   # global index of each event's lead's first event
    if r.decay_mode == "window":
        lo = _window_start(world, start, r.window)
        behaviour = behaviour - np.where(lo > start, behaviour[np.maximum(lo - 1, 0)], 0.0)
        if r.behaviour_cap is not None:
            np.minimum(behaviour, r.behaviour_cap, out=behaviour)

    if r.penalty_points != 0.0:
        last = np.where(world.event_type == EMAIL_OPEN, np.arange(m), -1)
        np.maximum.accumulate(last, out=last)    # each event's latest email open so far (of any lead)
        recent = last >= start                   # ... of its own lead
        np.maximum(last, 0, out=last)
        recent &= t[last] > t - r.penalty_span
        due = t - world.arrival[lead] >= r.penalty_span
        due &= ~recent
        penalty = np.where(due, r.penalty_points, 0.0)
        total = fit[lead] + behaviour + penalty
    else:
        penalty = np.zeros(m)
        total = fit[lead] + behaviour
    if r.non_icp_cap is not None:
        total = np.where(icp[lead], total, np.minimum(total, r.non_icp_cap))
    return fit, ok, lead, behaviour, penalty, total


def _fast_lane(r: Rules, world: World, gated: np.ndarray) -> np.ndarray:
    """bool[m]: the demo requests that take the fast lane (gates applied unless respect_gates is off);
    `gated`: whether each event's lead passes the gates."""
    fast = np.zeros(gated.size, dtype=bool)
    if r.fast_lane:
        fast = world.event_type == DEMO_REQUEST
        if r.fast_lane_gates:
            fast &= gated
    return fast


def score_events(world: World, policy: Policy, rules: Rules | None = None) -> EventScores:
    """Every lead's score after each of its events under `policy`, vectorised."""
    r = rules or compile_policy(policy)
    fit, ok, lead, behaviour, penalty, total = _scores(world, r)
    if total.size == 0:
        z = np.zeros(0)
        return EventScores(fit, ok, lead, z, z, z, z.astype(bool), z.astype(bool))
    if r.rule == "total":
        holds = rule_holds(r, None, None, total, threshold_of(r, world, slice(None))[lead])
    else:
        holds = rule_holds(r, fit[lead], behaviour + penalty, None, None)
    gated = ok[lead]
    holds &= gated
    return EventScores(fit, ok, lead, behaviour, penalty, total, holds, _fast_lane(r, world, gated))


@dataclass(frozen=True, eq=False)
class ScoreTrajectory:
    """The part of scoring that no MQL threshold changes, for one world (or chunk of leads): per lead
    its fit and gates, per event (global order) its lead, the total score after it, behaviour +
    penalty (rule fit_and_behaviour only) and whether it takes the fast lane. It depends on the world
    and the policy's fields in `trajectory_key`; `first_mqls` reads each threshold's MQLs off it, so a
    threshold sweep scores each world once (`SharedScoring`)."""

    fit: np.ndarray                        # float64[n]
    eligible: np.ndarray                   # bool[n], passes the gates
    lead: np.ndarray                       # intp[m], the lead of each event
    gated: np.ndarray                      # bool[m], the event's lead passes the gates
    total: np.ndarray                      # float64[m]
    behaviour_penalty: np.ndarray | None   # float64[m], rule fit_and_behaviour only (else None)
    fast_lane: np.ndarray                  # bool[m], a demo request taking the fast lane


def score_trajectory(world: World, r: Rules) -> ScoreTrajectory:
    """The threshold-free scores of every lead of `world` under the compiled policy `r`."""
    fit, ok, lead, behaviour, penalty, total = _scores(world, r)
    bp = None if r.rule == "total" else behaviour + penalty
    gated = ok[lead]
    return ScoreTrajectory(fit, ok, lead, gated, total, bp, _fast_lane(r, world, gated))


def first_mqls(world: World, r: Rules, traj: ScoreTrajectory) -> Scored:
    """Each lead's first MQL under `r`'s rule, thresholds and tiers: the first event of the lead at
    which the rule holds (gates passed) or that takes the fast lane. `traj` must be
    `score_trajectory(world, r2)` for a policy `r2` with the same `trajectory_key`."""
    n = world.n
    mql_time = np.full(n, np.inf)
    mql_tier = np.full(n, -1, dtype=np.int8)
    mql_score = np.full(n, np.nan)
    mql_event = np.full(n, -1, dtype=event_index_dtype(traj.total.size))
    if traj.total.size:
        if r.rule == "total":
            thr = r.threshold        # one threshold for every size: compare with a scalar, not a gather
            bar = thr[0] if bool((thr == thr[0]).all()) else threshold_of(r, world, slice(None))[traj.lead]
            holds = rule_holds(r, None, None, traj.total, bar)
        else:
            holds = rule_holds(r, traj.fit[traj.lead], traj.behaviour_penalty, None, None)
        holds &= traj.gated
        holds |= traj.fast_lane
        hit = np.flatnonzero(holds)
        if hit.size:
            who = traj.lead[hit]
            new = np.empty(hit.size, dtype=bool)
            new[0] = True
            np.not_equal(who[1:], who[:-1], out=new[1:])
            ev, who = hit[new], who[new]
            mql_time[who] = world.event_time[ev]
            mql_score[who] = traj.total[ev]
            mql_event[who] = ev
            mql_tier[who] = tier_code(r, world.event_type[ev] == DEMO_REQUEST, traj.total[ev])
    return Scored(traj.fit, mql_time, mql_tier, mql_score, mql_event, traj.eligible)


CHUNK_LEADS = 131_072  # leads scored at a time: temporaries stay ~100 MB and warm in cache/RAM


def event_index_dtype(m: int) -> type[np.signedinteger[Any]]:
    """The dtype of `Scored.mql_event` in a world of `m` events: int32 below 2**31 (4 bytes a lead)."""
    return np.int32 if m < 2**31 else np.int64


def chunk_bounds(n: int, chunk: int) -> list[tuple[int, int]]:
    """The [a, z) ranges of leads that `score_world` scores at a time."""
    return [(a, min(a + chunk, n)) for a in range(0, n, chunk)] if n > chunk else [(0, n)]


def score_world(world: World, policy: Policy, chunk: int = CHUNK_LEADS, shared: SharedScoring | None = None) -> Scored:
    """Every lead's first MQL (time, tier, score, event) under `policy`, vectorised, `chunk` leads at a
    time (leads are independent; chunks bound the peak memory of the per-event temporaries).
    A queueing-mode world (`mql_at_arrival`) bypasses scoring: every lead is a standard-tier MQL at
    arrival, with no triggering event (-1) and score 0. With `shared` (built on this world), the
    threshold-free part is computed once for the policies that share it (`SharedScoring`)."""
    if world.mql_at_arrival:
        n, events = world.n, event_index_dtype(int(world.event_offsets[-1]))
        return Scored(fit=np.zeros(n), mql_time=world.arrival.astype(np.float64, copy=True),
                      mql_tier=np.full(n, STANDARD, dtype=np.int8), mql_score=np.zeros(n),
                      mql_event=np.full(n, -1, dtype=events), eligible=np.ones(n, dtype=bool))
    r = compile_policy(policy)
    bounds = chunk_bounds(world.n, chunk)
    kept = shared.trajectories(world, policy, r, chunk) if shared is not None else None
    if len(bounds) == 1:
        return first_mqls(world, r, kept[0] if kept else score_trajectory(world, r))
    # Each chunk's results go straight into arrays for every lead: no second copy of the parts,
    # and no heap fragmented by them (about 280 MiB at 10M leads).
    out: dict[str, np.ndarray] = {}
    events = event_index_dtype(int(world.event_offsets[-1]))
    for i, (a, z) in enumerate(bounds):
        sub, e0 = world.leads(a, z), int(world.event_offsets[a])
        s = first_mqls(sub, r, kept[i] if kept else score_trajectory(sub, r))
        for f in dataclasses.fields(Scored):
            v = getattr(s, f.name)
            if f.name not in out:
                out[f.name] = np.empty(world.n, dtype=events if f.name == "mql_event" else v.dtype)
            out[f.name][a:z] = np.where(v >= 0, v.astype(events) + e0, -1) if f.name == "mql_event" else v
    return Scored(**out)
