"""A Policy's `icp`, `scoring` and `mql` sections compiled to lookup tables, plus the parts of the MQL
decision that the vectorised scorer (`scoring.py`) and the scalar oracle (`oracle.py`) share.

Why shared: the two scorers must agree bit for bit. Everything here works on numpy arrays and on
scalars with the same arithmetic (numpy's array `power`, its scalar `power` and Python's `**` differ
in the last bit on a few % of inputs, enough to flip a tie), so fit, ICP, gates, thresholds, decay
factors, the rule and the tier are computed by one piece of code whichever scorer asks. What the two compute independently
(occurrence counting, per-type caps, the decay recurrence, windows, the no-open penalty) is exactly
what the oracle checks.

Semantics (times in minutes; a lead's events sorted by time; evaluated only at event times, since
the score only rises at events, so a lead without events never becomes an MQL):

- fit = seniority + company_size + industry + region + email_kind points (+ existing_customer if
  flagged), summed in that order; missing table entries score 0; then min(fit, fit_cap).
- The j-th occurrence (j = 1, 2, ...) of an event type scores raw = points[j-1], or `then` (None = 0)
  beyond the list. With a per-type `cap`, its contribution is min(cum, cap) - min(cum_prev, cap), cum
  being the running sum of raw points of that type. Types absent from scoring.behaviour score 0.
- Behaviour B after event j (B before the first event = 0; dt = t_j - t_{j-1}, 0 for the first):
  none: B_j = B_{j-1} + c_j; half_life h: B_{j-1} * 2^(-dt/h) + c_j; inactivity (every E, drop x):
  B_{j-1} * (1-x)^floor(dt/E) + c_j; window W: sum of c_i over events i <= j with t_i > t_j - W.
  Each then min(B_j, behaviour_cap).
- penalty_j = no_email_open_points if no email_open among events 0..j (by position, so an open at
  t_j counts once processed) has time > t_j - D, and t_j - arrival >= D (D = no_email_open_days days).
- total_j = (fit + B_j) + penalty_j, then min(total_j, non_icp_cap) outside the policy ICP. ICP: every
  non-empty list in policy.icp contains the lead's value.
- Gates (business_email_only, exclude_competitors, icp_only) make a lead ineligible for ever.
- Rule "total": total_j >= threshold (by company size if set) - TOL; "fit_and_behaviour":
  fit >= fit_min - TOL and B_j + penalty_j >= behaviour_min - TOL (non_icp_cap only bounds `total`).
- Fast lane: a demo_request is an MQL whatever the score; gates apply unless respect_gates is off.
- Tier of the first MQL event: demo if that event is a demo_request; else high_intent if
  total_j >= high_intent - TOL; else standard. Re-MQLs after a recycle: demo or re_engaged.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.config.policy import EventPoints, Policy
from sim.vocab import COMPANY_SIZES, EMAIL_KINDS, EVENT_CODE, EVENT_TYPES, INDUSTRIES, REGIONS, SENIORITIES, TIER_CODE
from sim.world.model import World

TOL = 1e-9  # float sums must hit ties: a threshold equal to the points qualifies
N_TYPES = len(EVENT_TYPES)
BUSINESS = EMAIL_KINDS.index("business")
COMPETITOR = EMAIL_KINDS.index("competitor")
DEMO, HIGH_INTENT, STANDARD, RE_ENGAGED = (TIER_CODE[x] for x in ("demo", "high_intent", "standard", "re_engaged"))


def _points(table: Mapping[Any, float], names: Sequence[str]) -> np.ndarray:
    # keys typed Any: the schemas key these tables by a vocabulary's Literal, read here by plain name
    return np.array([float(table.get(x, 0.0)) for x in names], dtype=np.float64)


def _member(allowed: Sequence[str], names: Sequence[str]) -> np.ndarray:
    return np.array([not allowed or x in allowed for x in names], dtype=bool)


@dataclass(frozen=True, eq=False)
class Rules:
    """A policy's scoring and MQL sections as lookup tables indexed by the world's int8 codes."""

    fit_seniority: np.ndarray
    fit_size: np.ndarray
    fit_industry: np.ndarray
    fit_region: np.ndarray
    fit_email: np.ndarray
    fit_existing: float
    fit_cap: float | None
    icp_seniority: np.ndarray
    icp_size: np.ndarray
    icp_industry: np.ndarray
    icp_region: np.ndarray
    behaviour: dict[int, EventPoints]     # event code -> points
    behaviour_cap: float | None
    non_icp_cap: float | None
    penalty_span: float                   # minutes
    penalty_points: float
    decay_mode: str
    half_life: float                      # minutes
    every: float                          # minutes
    drop: float
    window: float                         # minutes
    rule: str
    threshold: np.ndarray                 # float64[len(COMPANY_SIZES)]
    fit_min: float
    behaviour_min: float
    high_intent: float
    business_email_only: bool
    exclude_competitors: bool
    icp_only: bool
    fast_lane: bool
    fast_lane_gates: bool


def compile_policy(policy: Policy) -> Rules:
    """Turn the pydantic Policy into arrays once, so scoring never compares strings."""
    sc, mq, icp, fit = policy.scoring, policy.mql, policy.icp, policy.scoring.fit
    by_size: Mapping[Any, float] = mq.thresholds_by_size       # read by plain company-size name
    thr = np.array([float(by_size.get(s, mq.threshold)) for s in COMPANY_SIZES])
    return Rules(
        fit_seniority=_points(fit.seniority, SENIORITIES), fit_size=_points(fit.company_size, COMPANY_SIZES),
        fit_industry=_points(fit.industry, INDUSTRIES), fit_region=_points(fit.region, REGIONS),
        fit_email=_points(fit.email_kind, EMAIL_KINDS), fit_existing=float(fit.existing_customer),
        fit_cap=sc.fit_cap,
        icp_seniority=_member(icp.seniorities, SENIORITIES), icp_size=_member(icp.company_sizes, COMPANY_SIZES),
        icp_industry=_member(icp.industries, INDUSTRIES), icp_region=_member(icp.regions, REGIONS),
        behaviour={EVENT_CODE[k]: v for k, v in sc.behaviour.items()},
        behaviour_cap=sc.behaviour_cap, non_icp_cap=sc.non_icp_cap,
        penalty_span=float(sc.negative.no_email_open_days) * 1440.0,
        penalty_points=float(sc.negative.no_email_open_points),
        decay_mode=sc.decay.mode, half_life=sc.decay.half_life.minutes, every=sc.decay.every.minutes,
        drop=float(sc.decay.drop), window=sc.decay.window.minutes,
        rule=mq.rule, threshold=thr, fit_min=float(mq.fit_min), behaviour_min=float(mq.behaviour_min),
        high_intent=float(mq.high_intent), business_email_only=mq.gates.business_email_only,
        exclude_competitors=mq.gates.exclude_competitors, icp_only=mq.gates.icp_only,
        fast_lane=mq.fast_lane.demo_request, fast_lane_gates=mq.fast_lane.respect_gates,
    )


def _is_scalar(idx: Any) -> bool:
    return isinstance(idx, (int, np.integer))


def fit_points(r: Rules, world: World, idx: Any) -> Any:
    """Fit points of the leads `idx` (an int, a slice or an index array); constant over time.

    One lead (an int): the same additions in the same order on Python floats (IEEE, so the same
    value), without numpy's per-call overhead: the re-MQL search asks for one lead at a time."""
    if _is_scalar(idx):
        i = int(idx)
        f = (float(r.fit_seniority[world.seniority[i]]) + float(r.fit_size[world.company_size[i]])
             + float(r.fit_industry[world.industry[i]]) + float(r.fit_region[world.region[i]])
             + float(r.fit_email[world.email_kind[i]]))
        f = f + (r.fit_existing if world.existing_customer[i] else 0.0)
        return f if r.fit_cap is None else min(f, float(r.fit_cap))
    f = (r.fit_seniority[world.seniority[idx]] + r.fit_size[world.company_size[idx]]
         + r.fit_industry[world.industry[idx]] + r.fit_region[world.region[idx]] + r.fit_email[world.email_kind[idx]])
    f = f + np.where(world.existing_customer[idx], r.fit_existing, 0.0)
    return f if r.fit_cap is None else np.minimum(f, r.fit_cap)


def in_icp(r: Rules, world: World, idx: Any) -> Any:
    """Inside the policy's ICP (its belief, not the scenario's truth)."""
    if _is_scalar(idx):
        i = int(idx)
        return bool(r.icp_seniority[world.seniority[i]] and r.icp_size[world.company_size[i]]
                    and r.icp_industry[world.industry[i]] and r.icp_region[world.region[i]])
    return (r.icp_seniority[world.seniority[idx]] & r.icp_size[world.company_size[idx]]
            & r.icp_industry[world.industry[idx]] & r.icp_region[world.region[idx]])


def passes_gates(r: Rules, world: World, idx: Any, icp: Any) -> Any:
    """Hard gates: a lead failing one can never be an MQL through the score."""
    if _is_scalar(idx):
        email = int(world.email_kind[int(idx)])
        return ((bool(icp) or not r.icp_only) and (not r.business_email_only or email == BUSINESS)
                and (not r.exclude_competitors or email != COMPETITOR))
    email = world.email_kind[idx]
    ok = np.logical_or(icp, not r.icp_only)
    if r.business_email_only:
        ok = ok & (email == BUSINESS)
    if r.exclude_competitors:
        ok = ok & (email != COMPETITOR)
    return ok


def threshold_of(r: Rules, world: World, idx: Any) -> Any:
    """The total-score threshold of each lead's company-size segment."""
    if _is_scalar(idx):
        return float(r.threshold[world.company_size[int(idx)]])
    return r.threshold[world.company_size[idx]]


def raw_points(ep: EventPoints, j: int) -> float:
    """Points for the j-th (1-based) occurrence of a type, before its cap."""
    return float(ep.points[j - 1]) if j <= len(ep.points) else float(ep.then or 0.0)


def contribution_table(r: Rules, width: int) -> np.ndarray:
    """float64[N_TYPES, width]: contribution of the (j+1)-th occurrence of each type, caps applied.

    np.cumsum adds strictly left to right, so the capped sums equal the oracle's running sum."""
    table = np.zeros((N_TYPES, max(width, 1)), dtype=np.float64)
    for code, ep in r.behaviour.items():
        raw = np.full(table.shape[1], float(ep.then or 0.0))
        pts = np.asarray(ep.points, dtype=np.float64)[: table.shape[1]]
        raw[: pts.size] = pts
        if ep.cap is None:
            table[code] = raw
        else:
            cum = np.cumsum(raw)
            prev = np.concatenate(([0.0], cum[:-1]))
            table[code] = np.minimum(cum, ep.cap) - np.minimum(prev, ep.cap)
    return table


def decay_factor(r: Rules, dt: np.ndarray) -> np.ndarray:
    """Multipliers of the behaviour score over gaps dt (minutes, an array) between two events.

    Arrays only, also for one gap: numpy computes a scalar power differently (0.8 ** 2.0 is 0.8 * 0.8
    for a scalar, libm-style pow for an array, 1 ulp apart), so the oracle passes a 1-element array."""
    dt = np.asarray(dt, dtype=np.float64)
    if r.decay_mode == "half_life":
        return np.power(2.0, -dt / r.half_life)
    if r.decay_mode == "inactivity":
        return np.power(1.0 - r.drop, np.floor(dt / r.every))
    return np.ones_like(dt)


def rule_holds(r: Rules, fit: Any, behaviour_penalty: Any, total: Any, threshold: Any) -> Any:
    """The MQL rule on score values alone (gates are applied by the caller)."""
    if r.rule == "total":
        return total >= threshold - TOL
    return (fit >= r.fit_min - TOL) & (behaviour_penalty >= r.behaviour_min - TOL)


def tier_code(r: Rules, is_demo: Any, total: Any, re_mql: bool = False) -> Any:
    """SLA tier (vocab.TIER_CODE) of an MQL triggered by an event of the given kind and score."""
    if isinstance(is_demo, bool) and isinstance(total, float):       # one MQL (the re-MQL search)
        if is_demo:
            return DEMO
        return RE_ENGAGED if re_mql else (HIGH_INTENT if total >= r.high_intent - TOL else STANDARD)
    other = RE_ENGAGED if re_mql else np.where(total >= r.high_intent - TOL, HIGH_INTENT, STANDARD)
    return np.where(is_demo, DEMO, other).astype(np.int8)
