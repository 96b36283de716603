"""Plain scalar scoring loop: the test oracle for `scoring.score_world`, and the on-demand finder of a
recycled lead's next MQL (re-MQL), which the sales process needs for a handful of leads only.

Why a second implementation: vectorised score crossing is easy to get subtly wrong at ties (a
prototype lost 1.3% of MQLs). This module follows the semantics in `sim.decisions.mql` literally,
one event at a time, counting occurrences, caps, decay, windows and the penalty by itself; it shares
with the vectorised scorer only fit, gates, thresholds, decay factors, the rule and the tier.

After a recycle at time `after` with policy.recycle.reset_behaviour, behaviour restarts from zero:
only events strictly after `after` score, occurrence counters and per-type caps restart, decay starts
afresh at the first such event. Fit is unchanged, and the no-email-open penalty still looks at the
lead's whole history and arrival (an open before the recycle is still a recent open).
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from sim.config.policy import Policy
from sim.decisions.mql import (
    Rules,
    compile_policy,
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


@dataclass(frozen=True)
class ScorePoint:
    """The lead's score right after one of its events."""

    event: int          # global event index
    kind: int           # event type code (vocab.EVENT_TYPES)
    time: float
    fit: float
    behaviour: float    # after decay and behaviour_cap
    penalty: float      # no-email-open penalty (<= 0)
    total: float        # fit + behaviour + penalty, capped outside the ICP
    rule_holds: bool    # the MQL rule holds and the lead passes the gates
    fast_lane: bool     # a demo request taking the fast lane

    @property
    def mql(self) -> bool:
        return self.rule_holds or self.fast_lane


# (j, kind, time, fit, behaviour, penalty, total, rule_holds, fast_lane): the lead's j-th event
Step = tuple[int, int, float, float, float, float, float, bool, bool]


def _steps(world: World, r: Rules, lead: int, reset_at: float | None) -> Iterator[Step]:
    """The score after each scored event of one lead, lazily (the re-MQL search stops at the first
    MQL). The literal semantics of `sim.decisions.mql`, one event at a time."""
    fit = float(fit_points(r, world, lead))
    icp = bool(in_icp(r, world, lead))
    ok = bool(passes_gates(r, world, lead, icp))
    threshold = float(threshold_of(r, world, lead))
    arrival = float(world.arrival[lead])
    a, b = int(world.event_offsets[lead]), int(world.event_offsets[lead + 1])
    times, kinds = world.event_time[a:b].tolist(), world.event_type[a:b].tolist()   # Python scalars

    start = 0
    if reset_at is not None:
        start = bisect_right(times, reset_at)        # events at or before the reset do not score...
    last_open = float("-inf")
    for j in range(start):                           # ...but an earlier email open still counts
        if kinds[j] == EMAIL_OPEN:
            last_open = times[j]
    factors = None
    if r.decay_mode in ("half_life", "inactivity") and b - a > start:
        # one array call per lead (decay_factor is array-only, see its docstring); gap 0 first
        gaps = np.diff(np.asarray(times[start:], dtype=np.float64), prepend=times[start])
        factors = decay_factor(r, gaps).tolist()

    occurrences: dict[int, int] = {}
    cumulative: dict[int, float] = {}
    window: list[tuple[float, float]] = []   # (time, contribution) of scored events, for window decay
    behaviour = 0.0
    behaviour_cap, non_icp_cap = r.behaviour_cap, r.non_icp_cap
    span, penalty_points = r.penalty_span, r.penalty_points
    fast_lane = r.fast_lane and (ok or not r.fast_lane_gates)
    for j in range(start, len(times)):
        t, kind = times[j], kinds[j]
        if kind == EMAIL_OPEN:
            last_open = t
        c = 0.0
        ep = r.behaviour.get(kind)
        if ep is not None:
            occ = occurrences.get(kind, 0) + 1
            occurrences[kind] = occ
            raw = float(ep.points[occ - 1]) if occ <= len(ep.points) else float(ep.then or 0.0)
            if ep.cap is None:
                c = raw
            else:
                prev = cumulative.get(kind, 0.0)
                cum = prev + raw
                cumulative[kind] = cum
                c = min(cum, ep.cap) - min(prev, ep.cap)
        if r.decay_mode == "window":
            window.append((t, c))
            behaviour = 0.0
            for ti, ci in window:
                if ti > t - r.window:
                    behaviour += ci
        elif factors is not None:
            behaviour = behaviour * factors[j - start] + c
        else:
            behaviour = behaviour + c
        if behaviour_cap is not None:
            behaviour = min(behaviour, behaviour_cap)
        penalty = 0.0
        if not last_open > t - span and t - arrival >= span:
            penalty = penalty_points
        total = fit + behaviour + penalty
        if not icp and non_icp_cap is not None:
            total = min(total, non_icp_cap)
        holds = ok and bool(rule_holds(r, fit, behaviour + penalty, total, threshold))
        yield j, kind, t, fit, behaviour, penalty, total, holds, fast_lane and kind == DEMO_REQUEST


def score_lead(world: World, policy: Policy, lead: int, reset_at: float | None = None,
               rules: Rules | None = None) -> list[ScorePoint]:
    """Score after every event of one lead (only events after `reset_at` when given)."""
    first = int(world.event_offsets[lead])
    return [ScorePoint(first + s[0], *s[1:]) for s in _steps(world, rules or compile_policy(policy), lead, reset_at)]


def first_mql(world: World, policy: Policy, lead: int, rules: Rules | None = None
              ) -> tuple[float, int, float, int] | None:
    """(time, tier_code, score, event) of the lead's first MQL, or None: the oracle of score_world."""
    r = rules or compile_policy(policy)
    for p in score_lead(world, policy, lead, rules=r):
        if p.mql:
            return p.time, int(tier_code(r, p.kind == DEMO_REQUEST, p.total)), p.total, p.event
    return None


def next_mql(world: World, policy: Policy, lead: int, after: float,
             rules: Rules | None = None) -> tuple[float, int, float] | None:
    """(time, tier_code, score) of the first MQL strictly after a recycle at `after`, or None.

    The tier is demo for a demo request, else re_engaged. Called by the sales process for every
    recycled lead, so it stops at the first MQL."""
    b = int(world.event_offsets[lead + 1])
    if b == int(world.event_offsets[lead]) or not world.event_time[b - 1] > after:
        return None             # no event after the recycle: nothing can make it an MQL again
    r = rules or compile_policy(policy)
    reset = after if policy.recycle.reset_behaviour else None
    for _, kind, t, _, _, _, total, holds, fast in _steps(world, r, lead, reset):
        if (holds or fast) and t > after:
            return t, int(tier_code(r, kind == DEMO_REQUEST, total, re_mql=True)), total
    return None
