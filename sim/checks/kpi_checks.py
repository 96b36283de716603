"""The ``kpis`` family of run invariants (see `sim.checks.invariants`): no NaN except where a KPI's
denominator is zero, no infinities, rates in [0, 1], counts consistent down the funnel."""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from sim.calendar import BusinessCalendar
from sim.measure.detail import BUYER_FATES
from sim.measure.kpis import window_days
from sim.measure.registry import KPIS
from sim.sales.log import SDR, SalesLog
from sim.sales.outcomes import LeadOutcomes
from sim.vocab import ALL_TERMINAL_STATES, LOST_TO_COMPETITOR, TERMINAL_STATES, TIERS
from sim.world.model import World

# ---- KPIs -----------------------------------------------------------------------------------

CTX = "__context__"
# A run's KPI dict as these checks read it: numbers by name, the {name: count} tables, and the
# context under CTX. Values are read by known names (a run's, or one loaded back from JSON).
KpiRecord = Mapping[str, Any]


def _contacted(k: KpiRecord) -> float:
    contacted: float = k["sals"] + k["rejected"]
    return contacted


def _sla_episodes(tier: str) -> Callable[[KpiRecord], float]:
    return lambda k: k[f"sla_episodes_{tier}"]


# KPI -> its denominator, computed from the KPIs: NaN is allowed exactly when it is zero.
DENOMINATORS: dict[str, Callable[[KpiRecord], float]] = {
    "lead_to_mql_rate": lambda k: k["leads"],
    "mql_to_sal_rate": lambda k: k["mqls"], "mql_to_sql_rate": lambda k: k["mqls"],
    "mql_to_won_rate": lambda k: k["mqls"], "never_touched_share": lambda k: k["mqls"],
    "recycled_share": lambda k: k["mqls"], "mql_precision": lambda k: k["mqls"],
    "cost_per_mql": lambda k: k["mqls"], "cost_per_won": lambda k: k["won"],
    "sal_to_sql_rate": lambda k: k["sals"], "sql_to_opportunity_rate": lambda k: k["sqls"],
    "win_rate": lambda k: k["won"] + k["lost"], "rejection_rate": _contacted,
    "buyer_recall": lambda k: k["buyers"],
    "sla_compliance": lambda k: k["mql_episodes"], "attempts_per_mql": lambda k: k["mql_episodes"],
    **{f"sla_compliance_{t}": _sla_episodes(t) for t in TIERS},
    # denominators that are not KPIs themselves: from `context` (see `kpi_context`); when it is
    # not given (KPIs checked alone) NaN is accepted for these
    **{f"first_touch_{q}_{u}": (lambda k: k.get(CTX, {}).get("touched_first_episodes", 0))
       for q in ("p50", "p90") for u in ("hours", "business_hours")},
    "rep_utilisation": lambda k: k.get(CTX, {}).get("available_minutes", 0),
    "queue_mean": lambda k: k.get(CTX, {}).get("window_minutes", 0),
    "backlog_age_mean_business_hours": lambda k: k.get(CTX, {}).get("working_days_sampled", 0),
    "backlog_age_max_business_hours": lambda k: k.get(CTX, {}).get("working_days_sampled", 0),
    # no clearing time when the spike's backlog never cleared (sim.measure.spikes)
    "spike_clear_days": lambda k: k.get("spike_cleared", 0),
    # queueing mode: measured over the cohort's first episodes (one per MQL lead)
    **{f"queue_{m}": (lambda k: k["mqls"]) for m in ("p_wait", "mean_wait_minutes", "service_level", "p_abandon")},
    # the hand-off to AEs and the competitor (sim.measure.handoff), when on
    "ae_utilisation": lambda k: k["ae_available_hours"],
    "sqls_waiting_for_ae": lambda k: k.get(CTX, {}).get("window_minutes", 0),
    "no_show_rate": lambda k: k["meetings"], "sql_to_meeting_rate": lambda k: k["sqls_handed_over"],
    **{f"meeting_lead_time_{q}": (lambda k: k["meetings_held"])
       for q in ("p50_hours", "p50_business_hours", "p90_business_hours")},
    "lost_to_competitor_share": lambda k: k["mqls"],
}


def _registered_denominator(columns: tuple[str, ...]) -> Callable[[KpiRecord], float]:
    return lambda k: float(sum(k.get(c, 0) for c in columns))


# every other pooled KPI of the registry (the account KPIs, ...): its registered denominator columns
DENOMINATORS.update({kpi.name: _registered_denominator(kpi.denominator) for kpi in KPIS.values()
                     if kpi.pooled and kpi.name not in DENOMINATORS})
UNIT_INTERVAL = [n for n in DENOMINATORS if n.endswith(("_rate", "_share")) or n.startswith("sla_compliance")] + \
    ["mql_precision", "buyer_recall", "rep_utilisation", "ae_utilisation"]
COUNTS = ["leads", "mqls", "mql_episodes", "sals", "rejected", "sqls", "opportunities", "won", "lost", "buyers",
          "buyers_in_nurture", "queue_max", "overload_days",
          "sqls_waiting_for_ae_max", "sqls_handed_over", "meetings_held", "meetings", "no_shows", "sqls_lost_no_show",
          "sqls_without_meeting_at_end", "lost_to_competitor", "lost_to_competitor_first_touch",
          "lost_to_competitor_meeting"]


def kpi_context(world: World, cal: BusinessCalendar, log: SalesLog, out: LeadOutcomes) -> dict[str, float]:
    """The denominators of KPIs that are not KPIs themselves: first episodes of cohort MQLs that
    were touched (first-touch quantiles), team working minutes in the window (utilisation), the
    window's length (queue mean) and working days sampled at midnight in it (backlog age)."""
    c = world.in_cohort
    ws, we = world.window_start, world.window_end
    days = window_days(log, ws, we)
    return {
        "touched_first_episodes": int((c & np.isfinite(out.first_mql) & ~np.isnan(out.first_touch)).sum()),
        "available_minutes": log.team(SDR).workers * float(cal.business_between(ws, we)),
        "window_minutes": max(we - ws, 0.0),
        "working_days_sampled": sum(cal.is_working_day(int(d)) for d in days.tolist()),
    }


def kpi_violations(k: KpiRecord, context: dict[str, float] | None = None) -> list[str]:
    """The KPI invariants alone (usable on any run's KPI dict); `context` from `kpi_context`
    makes the NaN rule exact for the KPIs whose denominator is not itself a KPI."""
    p: list[str] = []
    k = {**k, CTX: context or {}}
    for name, v in k.items():
        if isinstance(v, dict) or isinstance(v, bool):
            continue
        x = float(v)
        if math.isinf(x):
            p.append(f"kpis: {name} is infinite")
        elif math.isnan(x):
            den = DENOMINATORS.get(name)
            if den is None:
                p.append(f"kpis: {name} is NaN (it has no denominator that may be zero)")
            elif den(k):
                p.append(f"kpis: {name} is NaN although its denominator is {den(k)}")
    for name in UNIT_INTERVAL:
        v = k.get(name, math.nan)
        if not math.isnan(v) and not -1e-12 <= v <= 1 + 1e-9:
            p.append(f"kpis: {name} = {v} outside [0, 1]")
    for name in COUNTS:
        if name in k and (k[name] < 0 or int(k[name]) != k[name]):
            p.append(f"kpis: {name} = {k[name]} is not a non-negative count")
    funnel = ["leads", "mqls", "sals", "sqls", "opportunities"]
    for a, b in zip(funnel, funnel[1:]):
        if k[b] > k[a]:
            p.append(f"kpis: {b} ({k[b]}) > {a} ({k[a]}): the funnel widened")
    if k["won"] + k["lost"] > k["opportunities"] or k["sals"] + k["rejected"] > k["mqls"]:
        p.append("kpis: more closed deals than opportunities, or more SALs + rejections than MQLs")
    states = k["terminal_states"]
    if sum(states.values()) != k["leads"] or set(states) not in (set(TERMINAL_STATES), set(ALL_TERMINAL_STATES)):
        p.append(f"kpis: terminal states {states} do not account for the {k['leads']} cohort leads exactly once")
    elif states["nurture"] != k["leads"] - k["mqls"] or states["won"] != k["won"] or states["lost"] != k["lost"]:
        p.append("kpis: terminal states disagree with the MQL, won or lost counts")
    if sum(k["rejection_reasons"].values()) != k["rejected"]:
        p.append("kpis: rejection reasons do not add up to the rejections")
    for u in ("hours", "business_hours"):
        p50, p90 = k[f"first_touch_p50_{u}"], k[f"first_touch_p90_{u}"]
        if not math.isnan(p50) and not 0 <= p50 <= p90 + 1e-9:
            p.append(f"kpis: first-touch p50 ({p50}) / p90 ({p90}) {u} not ordered and non-negative")
    if k["buyers_in_nurture"] > k["buyers"]:
        p.append("kpis: more buyers in nurture than buyers")
    p += _detail_sums(k)
    p += _stage_sums(k)
    return p


def _stage_sums(k: KpiRecord) -> list[str]:
    """The hand-off and competitor counts (sim.measure.handoff), when present, agree with the funnel."""
    p: list[str] = []
    if "sqls_handed_over" in k:
        if k["sqls_handed_over"] != k["sqls"]:
            p.append(f"kpis: {k['sqls_handed_over']} SQLs handed to AEs, not the {k['sqls']} SQLs")
        if not k["opportunities"] <= k["meetings_held"] <= k["sqls_handed_over"]:
            p.append("kpis: opportunities <= meetings held <= SQLs handed over does not hold")
        if k["no_shows"] + k["meetings_held"] != k["meetings"]:
            p.append("kpis: no-shows and held meetings do not add up to the meetings")
    if "lost_to_competitor" in k:
        if k["lost_to_competitor_first_touch"] + k["lost_to_competitor_meeting"] != k["lost_to_competitor"]:
            p.append("kpis: competitor losses by stage do not add up")
        if k["terminal_states"].get(LOST_TO_COMPETITOR) != k["lost_to_competitor"]:
            p.append("kpis: terminal state lost_to_competitor disagrees with the lost_to_competitor count")
    return p


def _detail_sums(k: KpiRecord) -> list[str]:
    """Detail counts (sim/measure/detail.py), when present, add up to the totals they split."""
    p: list[str] = []
    fates = [k[f"buyers_{f}"] for f in BUYER_FATES if f"buyers_{f}" in k]
    if fates and sum(fates) != k["buyers"]:
        p.append(f"kpis: buyer fates add up to {sum(fates)}, not to the {k['buyers']} buyers")
    for t in TIERS:
        parts = [v for n, v in k.items() if n.startswith(f"ttft_{t}_")]
        if parts and sum(parts) != k[f"sla_episodes_{t}"]:
            p.append(f"kpis: first-touch buckets of tier {t} add up to {sum(parts)}, not {k[f'sla_episodes_{t}']}")
    return p
