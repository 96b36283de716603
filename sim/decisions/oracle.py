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

from dataclasses import dataclass

import numpy as np

from sim.config.policy import Policy
from sim.decisions.mql import (Rules, compile_policy, decay_factor, fit_points, in_icp, passes_gates, rule_holds,
                               threshold_of, tier_code)
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


def score_lead(world: World, policy: Policy, lead: int, reset_at: float | None = None,
               rules: Rules | None = None) -> list[ScorePoint]:
    """Score after every event of one lead (only events after `reset_at` when given)."""
    r = rules or compile_policy(policy)
    fit = float(fit_points(r, world, lead))
    icp = bool(in_icp(r, world, lead))
    ok = bool(passes_gates(r, world, lead, icp))
    threshold = float(threshold_of(r, world, lead))
    arrival = float(world.arrival[lead])
    first = int(world.event_offsets[lead])
    times, kinds = (a.tolist() for a in world.events_of(lead))   # Python scalars: no numpy indexing per event

    occurrences: dict[int, int] = {}
    cumulative: dict[int, float] = {}
    window: list[tuple[float, float]] = []   # (time, contribution) of scored events, for window decay
    behaviour, t_prev = 0.0, None
    last_open = float("-inf")
    decays = r.decay_mode in ("half_life", "inactivity")     # else decay_factor is 1 (behaviour * 1.0 == behaviour)
    out: list[ScorePoint] = []
    for j in range(len(times)):
        t, kind = times[j], kinds[j]
        if kind == EMAIL_OPEN:
            last_open = t
        if reset_at is not None and t <= reset_at:
            continue
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
        elif decays:
            f = float(decay_factor(r, np.array([t - (t if t_prev is None else t_prev)]))[0])
            behaviour = behaviour * f + c
        else:
            behaviour = behaviour + c
        if r.behaviour_cap is not None:
            behaviour = min(behaviour, r.behaviour_cap)
        t_prev = t
        penalty = 0.0
        if not last_open > t - r.penalty_span and t - arrival >= r.penalty_span:
            penalty = r.penalty_points
        total = fit + behaviour + penalty
        if not icp and r.non_icp_cap is not None:
            total = min(total, r.non_icp_cap)
        holds = ok and bool(rule_holds(r, fit, behaviour + penalty, total, threshold))
        fast = r.fast_lane and kind == DEMO_REQUEST and (ok or not r.fast_lane_gates)
        out.append(ScorePoint(first + j, kind, t, fit, behaviour, penalty, total, holds, fast))
    return out


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

    The tier is demo for a demo request, else re_engaged."""
    r = rules or compile_policy(policy)
    reset = after if policy.recycle.reset_behaviour else None
    for p in score_lead(world, policy, lead, reset_at=reset, rules=r):
        if p.time > after and p.mql:
            return p.time, int(tier_code(r, p.kind == DEMO_REQUEST, p.total, re_mql=True)), p.total
    return None
