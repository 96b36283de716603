"""KPIs of the hand-off to AEs and of competitor first response, present only when the scenario
turns them on (so the KPIs of every other run stay exactly what they were).

Cohort-based like `sim.measure.kpis` (the SQLs of leads created in the window, followed to the end
of the run), except the load KPIs (AE utilisation, SQLs waiting for an AE), measured over the
window. Every share comes with the counts behind it (registered in sim/measure/registry.py).
"""
from __future__ import annotations

import numpy as np

from sim.calendar import BusinessCalendar
from sim.config.scenario import Scenario
from sim.sales.handoff import HELD, NO_SHOW_LOST, WAITING
from sim.sales.log import AE, SalesLog
from sim.sales.outcomes import TAKEN_FIRST_TOUCH, TAKEN_MEETING, LeadOutcomes
from sim.world.model import World

HOUR = 60.0


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")


def _quantile_hours(x: np.ndarray, q: float) -> float:
    return float(np.quantile(x, q) / HOUR) if x.size else float("nan")


def handoff_kpis(world: World, scenario: Scenario, cal: BusinessCalendar, log: SalesLog,
                 out: LeadOutcomes) -> dict[str, float]:
    """AE-stage KPIs (when `out.meetings` is set) and competitor KPIs (when `out.competitor` is)."""
    from sim.measure.kpis import queue_stats, team_load, team_share

    k: dict[str, float] = {}
    cohort = world.in_cohort
    m = out.meetings
    if m is not None and log.has_team(AE):
        ws, we = world.window_start, world.window_end
        busy, avail = team_load(log.team(AE), cal, team_share(scenario, AE), ws, we)
        k["ae_busy_hours"] = busy / HOUR
        k["ae_available_hours"] = avail / HOUR
        k["ae_utilisation"] = _ratio(busy, avail)
        k["sqls_waiting_for_ae"], k["sqls_waiting_for_ae_max"] = queue_stats(log.team(AE), ws, we)
        mine = cohort[m.lead]                                     # SQLs of cohort leads
        held = mine & (m.status == HELD)
        k["sqls_handed_over"] = int(mine.sum())
        k["meetings_held"] = int(held.sum())
        k["meetings"] = int(m.meetings[mine].sum())               # booked and due: held + missed
        k["no_shows"] = k["meetings"] - k["meetings_held"]
        k["no_show_rate"] = _ratio(k["no_shows"], k["meetings"])
        k["sqls_lost_no_show"] = int((mine & (m.status == NO_SHOW_LOST)).sum())
        k["sqls_without_meeting_at_end"] = int((mine & (m.status == WAITING)).sum())
        k["sql_to_meeting_rate"] = _ratio(k["meetings_held"], k["sqls_handed_over"])
        # meeting lead time: from the SQL to its held meeting (rebooks included)
        t0, t1 = m.sql_time[held], m.meeting_time[held]
        k["meeting_lead_time_p50_hours"] = _quantile_hours(t1 - t0, 0.5)
        bwait = np.asarray(cal.business_between(t0, t1)) if t0.size else t1 - t0
        k["meeting_lead_time_p50_business_hours"] = _quantile_hours(bwait, 0.5)
        k["meeting_lead_time_p90_business_hours"] = _quantile_hours(bwait, 0.9)
    if out.competitor is not None:
        c = np.flatnonzero(cohort)
        taken = out.competitor[c]
        k["lost_to_competitor"] = int((taken > 0).sum())
        k["lost_to_competitor_first_touch"] = int((taken == TAKEN_FIRST_TOUCH).sum())
        k["lost_to_competitor_meeting"] = int((taken == TAKEN_MEETING).sum())
        mqls = int(np.isfinite(out.first_mql[c]).sum())
        k["lost_to_competitor_share"] = _ratio(k["lost_to_competitor"], mqls)
    return k
