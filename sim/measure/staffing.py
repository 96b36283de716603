"""KPIs of reps as people: reassignments and their cost, and rep capacity on the hours reps were
actually available.

With a roster (`sim.sales.roster`), `rep_available_hours` counts only the working hours each rep was
on the team and not away (PTO, sick, before the first day, after leaving): utilisation is busy time
over AVAILABLE time, so a team on holiday is not "idle". Rep cost is paid on employed hours (on the
team, away or not: PTO and sick days are paid), at the MQL share of the rep's time like today's
cost. Without a roster these equal today's values (the same formulas, reps always available).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from sim.calendar import DAY, BusinessCalendar
from sim.config.scenario import Scenario
from sim.measure.kpis import HOUR, ratio
from sim.sales.log import SalesLog
from sim.sales.roster import Roster
from sim.world.model import World


def staffing_kpis(world: World, scenario: Scenario, cal: BusinessCalendar, log: SalesLog, moved: np.ndarray,
                  roster: Roster | None, kpis: dict[str, Any]) -> dict[str, Any]:
    """KPIs to add to (or correct in) `kpis`: `reassignments` (MQL episodes of cohort leads moved
    to another rep at an SLA checkpoint), `reassignment_cost`, and with a roster the available-hours
    based `rep_available_hours`, `rep_utilisation` and rep cost inside `cost_total`. `moved`: the
    lead of every reassigned item (the SDR team's log)."""
    cohort = world.in_cohort
    n_moved = int(cohort[moved].sum()) if moved.size else 0
    cost = n_moved * scenario.costs.reassignment
    out: dict[str, Any] = {"reassignments": n_moved, "reassignment_cost": float(cost)}
    total = kpis["cost_total"] + cost
    if roster is not None:
        ws, we = world.window_start, world.window_end
        share = scenario.sales.mql_time_share
        avail = available_minutes(roster, cal, ws, we)
        employed = employed_minutes(roster, cal, ws, we)
        busy = kpis["rep_busy_hours"] * HOUR
        if roster.local_hours:     # reps keep their own local hours: count clock time, not the calendar's
            start = log.at_start
            end = start + log.at_handle / share
            busy = float(np.maximum(np.minimum(end, we) - np.maximum(start, ws), 0.0).sum())
            out["rep_busy_hours"] = busy / HOUR
        out["rep_available_hours"] = avail / HOUR
        out["rep_utilisation"] = ratio(busy, avail)
        old_reps = kpis["rep_available_hours"] * share * scenario.costs.rep_hourly
        total += (employed / HOUR * share * scenario.costs.rep_hourly) - old_reps
    out["cost_total"] = total
    out["cost_per_mql"] = ratio(total, kpis["mqls"])
    out["cost_per_won"] = ratio(total, kpis["won"])
    return out


def _business_overlap(cal: BusinessCalendar | None, lo: list[float], hi: list[float], t0: float, t1: float) -> float:
    """Minutes of [lo, hi) inside [t0, t1): working minutes of `cal`, or clock minutes without one."""
    a = np.clip(np.asarray(lo, float), t0, t1)
    b = np.clip(np.asarray(hi, float), t0, t1)
    m = b > a
    if not m.any():
        return 0.0
    return float(np.sum(cal.business_between(a[m], b[m]) if cal is not None else b[m] - a[m]))


def available_minutes(roster: Roster, cal: BusinessCalendar, t0: float, t1: float) -> float:
    """Working minutes in [t0, t1) during which reps were available (summed over reps). With time
    zones the reps' availability already holds their local hours: clock minutes."""
    own = None if roster.local_hours else cal
    return sum(_business_overlap(own, rep.lo, rep.hi, t0, t1) for rep in roster.reps)


def employed_minutes(roster: Roster, cal: BusinessCalendar, t0: float, t1: float) -> float:
    """Working minutes in [t0, t1) during which reps were on the team (away or not), counted on the
    calendar's hours (with time zones: the same number of hours, in each rep's local time)."""
    return _business_overlap(cal, [r.start for r in roster.reps], [r.leave for r in roster.reps], t0, t1)


def capacity_by_day(roster: Roster | None, reps: int, cal: BusinessCalendar, days: int,
                    ramped: bool = False) -> np.ndarray:
    """Available rep-hours per day (0..days-1): the team's capacity over time. `ramped`: each hour
    weighted by the rep's productivity (an hour of a rep at 30% of its ramp counts 0.3)."""
    if roster is None:
        edges = np.arange(days + 1) * DAY
        return np.asarray(cal.business_between(edges[:-1], edges[1:])) * reps / HOUR
    return roster.available_minutes_by_day(cal, days, ramped) / HOUR
