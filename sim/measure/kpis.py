"""KPIs of one run, defined once (names and kinds in sim/measure/registry.py). Cohort-based: the leads created in the
measurement window, followed to the end of the run-out; time-based KPIs (utilisation, queue,
backlog) are measured over the window itself.

Rates are NaN when their denominator is zero (e.g. MQL->SQL with no MQLs): a rate of "nothing
out of nothing" is undefined, not 0, and reports show it as such.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sim.calendar import DAY, BusinessCalendar
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.sales.log import AE, SDR, SalesLog, TeamRecord
from sim.sales.outcomes import LeadOutcomes
from sim.vocab import ALL_TERMINAL_STATES, CHANNELS, REJECTION_REASONS, TERMINAL_STATES, TIERS
from sim.world.model import World

HOUR = 60.0
Record = SalesLog | TeamRecord     # the SDR team's record is also the SalesLog's own flat fields
# One run's KPIs: numbers by KPI name, plus `terminal_states` and `rejection_reasons` as {name: count}
Kpis = dict[str, float | dict[str, int]]


def ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")


def _quantile_hours(x: np.ndarray, q: float) -> float:
    return float(np.quantile(x, q) / HOUR) if x.size else float("nan")


def sla_deadlines(cal: BusinessCalendar, policy: Policy, mql_time: np.ndarray, tier: np.ndarray) -> np.ndarray:
    """Clock deadline of each episode's first touch under the policy's SLA targets."""
    out = np.full(mql_time.shape, np.inf)
    for code, name in enumerate(TIERS):
        m = tier == code
        if m.any():
            out[m] = cal.add(mql_time[m], getattr(policy.sla.targets, name))
    return out


def team_share(scenario: Scenario, name: str) -> float:
    """Share of the named team's working time its stage's work may take (an item blocks its
    worker for handle / share): SDRs `sales.mql_time_share`, AEs `handoff.time_share`."""
    return scenario.sales.mql_time_share if name == SDR else scenario.handoff.time_share


def team_load(team: TeamRecord, cal: BusinessCalendar, share: float, t0: float, t1: float) -> tuple[float, float]:
    """(blocked, available) working minutes of the team over [t0, t1): its utilisation's parts."""
    avail = team.workers * (cal.business_time(t1) - cal.business_time(t0))   # business_between, on floats
    return blocked_business(team, cal, share, t0, t1), avail


def queue_stats(log: Record, t0: float, t1: float) -> tuple[float, int]:
    """Time-weighted mean and max of the number of items waiting (a team's queue), over [t0, t1)."""
    t, n = log.q_time, log.q_len
    if t1 <= t0:
        return float("nan"), 0
    nxt = np.append(t[1:], np.inf)
    lo, hi = np.clip(t, t0, t1), np.clip(nxt, t0, t1)
    mean = float(np.sum(n * (hi - lo)) / (t1 - t0))
    # the level in force at t0 counts too
    inside = (nxt > t0) & (t < t1) & (nxt > t)  # levels that lasted some time
    return mean, int(n[inside].max()) if inside.any() else 0


def run_kpis(world: World, scenario: Scenario, policy: Policy, cal: BusinessCalendar,
             log: SalesLog, out: LeadOutcomes) -> Kpis:
    """Every KPI of one run: a flat dict of numbers, plus `terminal_states` and
    `rejection_reasons` as {name: count}."""
    cohort = world.in_cohort
    c = np.flatnonzero(cohort)
    leads = c.size
    mql = np.isfinite(out.first_mql[c])
    n_mql = int(mql.sum())
    k: dict[str, float] = {"leads": leads, "mqls": n_mql}
    ep = cohort[log.ep_lead]                          # episodes of cohort leads
    k["mql_episodes"] = int(ep.sum())
    k["sals"] = int(out.sal[c].sum())
    k["rejected"] = int(out.rejected[c].sum())
    k["sqls"] = int(np.count_nonzero(~np.isnan(out.sql_time[c])))          # out.sql of the cohort
    k["opportunities"] = int(np.count_nonzero(~np.isnan(out.opportunity_time[c])))
    k["won"] = int(out.won[c].sum())
    k["lost"] = int(out.lost[c].sum())
    k["bookings"] = float(out.amount[c][out.won[c]].sum())
    k["pipeline"] = float(out.amount[c].sum())
    contacted = int((~np.isnan(out.contact_time[c])).sum())
    k["contacted"] = contacted
    k["lead_to_mql_rate"] = ratio(n_mql, leads)
    k["mql_to_sal_rate"] = ratio(k["sals"], n_mql)
    k["mql_to_sql_rate"] = ratio(k["sqls"], n_mql)
    k["sal_to_sql_rate"] = ratio(k["sqls"], k["sals"])
    k["sql_to_opportunity_rate"] = ratio(k["opportunities"], k["sqls"])
    k["win_rate"] = ratio(k["won"], k["won"] + k["lost"])
    k["mql_to_won_rate"] = ratio(k["won"], n_mql)
    k["rejection_rate"] = ratio(k["rejected"], contacted)

    # speed: the first episode's first touch
    touched = c[mql & ~np.isnan(out.first_touch[c])]
    wait = out.first_touch[touched] - out.first_mql[touched]
    bwait = cal.business_between(out.first_mql[touched], out.first_touch[touched]) if touched.size else wait
    k["first_touch_p50_hours"] = _quantile_hours(wait, 0.5)
    k["first_touch_p90_hours"] = _quantile_hours(wait, 0.9)
    k["first_touch_p50_business_hours"] = _quantile_hours(np.asarray(bwait), 0.5)
    k["first_touch_p90_business_hours"] = _quantile_hours(np.asarray(bwait), 0.9)
    # the counts behind every share are KPIs too: intervals pool them over worlds (sim.measure.stats)
    k["never_touched"] = int((mql & ~ever_touched(world, log)[c]).sum())
    k["never_touched_share"] = ratio(k["never_touched"], n_mql)
    k["recycled"] = int((out.recycles[c] > 0).sum())
    k["recycled_share"] = ratio(k["recycled"], n_mql)

    # SLA compliance per tier, over every MQL episode of cohort leads (untouched = breach)
    deadline = sla_deadlines(cal, policy, log.ep_mql_time[ep], log.ep_tier[ep])
    met = log.ep_first_touch[ep] <= deadline          # NaN first touch compares False
    for code, name in enumerate(TIERS):
        m = log.ep_tier[ep] == code
        k[f"sla_episodes_{name}"] = int(m.sum())
        k[f"sla_met_{name}"] = int(met[m].sum())
        k[f"sla_compliance_{name}"] = ratio(k[f"sla_met_{name}"], k[f"sla_episodes_{name}"])
    k["sla_met"] = int(met.sum())
    k["sla_compliance"] = ratio(k["sla_met"], int(ep.sum()))

    # rep load over the measurement window (the SDR team's record)
    ws, we = world.window_start, world.window_end
    sdr = log.team(SDR)
    share = team_share(scenario, SDR)
    busy, avail = team_load(sdr, cal, share, ws, we)
    k["rep_busy_hours"] = busy / HOUR
    k["rep_available_hours"] = avail / HOUR
    k["rep_utilisation"] = ratio(busy, avail)
    k["attempts"] = int(cohort[log.at_lead].sum())
    k["attempts_per_mql"] = ratio(k["attempts"], k["mql_episodes"])
    k["queue_mean"], k["queue_max"] = queue_stats(sdr, ws, we)
    days = window_days(sdr, ws, we)
    days = days[[cal.is_working_day(int(d)) for d in days]] if days.size else days  # sample d closes day d
    ages = backlog_business_age(sdr, cal, days)
    k["backlog_age_mean_business_hours"] = float(ages.mean() / HOUR) if ages.size else float("nan")
    k["backlog_age_max_business_hours"] = float(ages.max() / HOUR) if ages.size else float("nan")
    k["overload_days"] = int((ages > cal.workday_minutes).sum())

    # cost
    per_lead: Mapping[Any, float] = scenario.costs.per_lead          # read by plain channel name
    cost_leads = float(np.array([per_lead.get(ch, 0.0) for ch in CHANNELS])[world.channel[c]].sum())
    cost_reps = avail * share / HOUR * scenario.costs.rep_hourly
    if log.has_team(AE):    # the AEs' discovery-meeting time too
        ae_avail = team_load(log.team(AE), cal, team_share(scenario, AE), ws, we)[1]
        cost_reps += ae_avail * team_share(scenario, AE) / HOUR * scenario.handoff.ae_hourly
    k["cost_total"] = cost_leads + cost_reps
    k["cost_per_mql"] = ratio(k["cost_total"], n_mql)
    k["cost_per_won"] = ratio(k["cost_total"], k["won"])

    # ground truth the CRM never sees
    buyers = world.buyer[c]
    k["buyers"] = int(buyers.sum())
    k["buyer_mqls"] = int((buyers & mql).sum())
    k["mql_precision"] = ratio(k["buyer_mqls"], n_mql)
    k["buyer_recall"] = ratio(k["buyer_mqls"], k["buyers"])
    k["buyers_in_nurture"] = int((buyers & ~mql).sum())

    names = ALL_TERMINAL_STATES if scenario.competitor.enabled else TERMINAL_STATES
    states = np.bincount(out.state[c], minlength=len(names))
    reasons = np.bincount(out.reason[c][out.rejected[c]], minlength=len(REJECTION_REASONS))
    kpis: Kpis = {**k, "terminal_states": {s: int(states[i]) for i, s in enumerate(names)},
                  "rejection_reasons": {r: int(reasons[i]) for i, r in enumerate(REJECTION_REASONS)}}
    from sim.measure.handoff import handoff_kpis  # (it reads this module's helpers)
    kpis.update(handoff_kpis(world, scenario, cal, log, out))
    return kpis


def _team(log: Record) -> TeamRecord:
    return log.sdr if isinstance(log, SalesLog) else log


def blocked_business(log: Record, cal: BusinessCalendar, share: float, t0: float, t1: float) -> float:
    """Working minutes inside [t0, t1) during which a team's workers were blocked by its stage's
    work (a SalesLog: the SDRs). An attempt blocks its rep for handle / mql_time_share (the rest of
    that span is the rep's other work; an AE's meeting likewise); spans are clipped to the interval,
    so a span running past its end, or begun before it, counts only in part."""
    team = _team(log)
    start, end = team.start, team.start + team.handle / share
    m = (end > t0) & (start < t1)
    if not m.any():
        return 0.0
    return float(np.asarray(cal.business_between(np.maximum(start[m], t0), np.minimum(end[m], t1))).sum())


def ever_touched(world: World, log: SalesLog) -> np.ndarray:
    """Per lead: was any of its MQL episodes touched at least once."""
    out = np.zeros(world.n, bool)
    out[log.ep_lead[log.ep_attempts > 0]] = True
    return out


def window_days(log: Record, ws: float, we: float) -> np.ndarray:
    """Indices of the midnight samples (sample d is taken at (d+1) days) inside the window."""
    t = (np.arange(log.day_queue.size) + 1) * DAY
    return np.flatnonzero((t > ws) & (t <= we))


def backlog_business_age(log: Record, cal: BusinessCalendar, days: np.ndarray) -> np.ndarray:
    """Per sampled day: how long (in working minutes) the longest-waiting work item had waited at
    midnight. Business time, so a weekend does not count as a backlog."""
    if not days.size:
        return np.zeros(0)
    t = (days + 1) * DAY
    age = log.day_oldest_age[days]
    out = np.zeros(days.size)
    has = age > 0
    out[has] = cal.business_between(t[has] - age[has], t[has])
    return out
