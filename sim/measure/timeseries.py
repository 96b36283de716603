"""Daily time series of one run: arrivals, MQLs, queue, backlog age and rep utilisation per day,
for load-over-time pictures and for spotting overload (e.g. after a campaign spike). With the
hand-off on, the AE team's load too (AE utilisation, SQLs waiting for an AE, meetings per day)."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sim.calendar import DAY, BusinessCalendar
from sim.config.scenario import Scenario
from sim.measure.kpis import backlog_business_age, team_share
from sim.sales.log import AE, SalesLog, TeamRecord
from sim.sales.outcomes import LeadOutcomes
from sim.world.model import World


def daily(world: World, scenario: Scenario, cal: BusinessCalendar, log: SalesLog, out: LeadOutcomes) -> pd.DataFrame:
    """One row per simulated day (the last, partial day dropped)."""
    ndays = int(world.end // DAY)
    edges = np.arange(ndays + 1) * DAY
    arrivals = np.histogram(world.arrival, edges)[0]
    mqls = np.histogram(log.ep_mql_time, edges)[0]
    touches = np.histogram(log.at_start, edges)[0]
    # time-weighted queue length per day from the step function of changes
    area = _queue_area_per_day(log.sdr, world.end, ndays)
    # utilisation: MQL work inside working hours / MQL-available working time, per day
    avail = cal.business_between(edges[:-1], edges[1:]) * log.reps
    busy = _busy_per_day(log.sdr, cal, scenario.sales.mql_time_share, ndays)
    util = np.divide(busy, avail, out=np.full(ndays, np.nan), where=avail > 0)
    m = min(ndays, log.day_queue.size)
    queue_midnight = np.full(ndays, np.nan)
    oldest = np.full(ndays, np.nan)
    queue_midnight[:m] = log.day_queue[:m]
    oldest[:m] = log.day_oldest_age[:m] / 60.0
    backlog = np.full(ndays, np.nan)
    backlog[:m] = backlog_business_age(log, cal, np.arange(m)) / 60.0
    dates = [scenario.start_date + dt.timedelta(days=int(d)) for d in range(ndays)]
    in_window = (edges[:-1] >= world.window_start) & (edges[1:] <= world.window_end)
    frame = pd.DataFrame({
        "date": pd.to_datetime(dates), "day": np.arange(ndays), "in_window": in_window,
        "arrivals": arrivals, "mql_episodes": mqls, "touches": touches,
        "queue_mean": area / DAY, "queue_at_midnight": queue_midnight, "oldest_wait_hours": oldest,
        "oldest_wait_business_hours": backlog, "rep_utilisation": util,
        "overload": (backlog > cal.workday_minutes / 60.0) & (avail > 0),
    })
    if log.has_team(AE):
        frame = frame.assign(**ae_daily(world, scenario, cal, log.team(AE), ndays))
    return frame


def ae_daily(world: World, scenario: Scenario, cal: BusinessCalendar, ae: TeamRecord,
             ndays: int) -> dict[str, np.ndarray]:
    """The AE team's load per day: utilisation (meeting work in the AEs' working hours / their
    meeting-available working time), SQLs waiting for an AE (time-weighted mean), meetings due and held."""
    from sim.sales.handoff import HandoffParams

    ae_cal = HandoffParams.resolve(scenario).calendar(cal)
    edges = np.arange(ndays + 1) * DAY
    avail = ae_cal.business_between(edges[:-1], edges[1:]) * ae.workers
    busy = _busy_per_day(ae, ae_cal, team_share(scenario, AE), ndays)
    return {
        "ae_utilisation": np.divide(busy, avail, out=np.full(ndays, np.nan), where=avail > 0),
        "sqls_waiting_for_ae": _queue_area_per_day(ae, world.end, ndays) / DAY,
        "ae_meetings": np.histogram(ae.start, edges)[0],
        "ae_meetings_held": np.histogram(ae.start[ae.contact], edges)[0],
    }


def _queue_area_per_day(team: TeamRecord, end: float, ndays: int) -> np.ndarray:
    """Integral of a team's number waiting over each day, from its step function of changes."""
    t, n = team.q_time, team.q_len
    nxt = np.append(t[1:], end)
    area = np.zeros(ndays)
    d0 = np.clip((t // DAY).astype(np.int64), 0, ndays)
    d1 = np.clip((nxt // DAY).astype(np.int64), 0, ndays)
    same = d0 == d1
    np.add.at(area, d0[same & (d0 < ndays)], (n * (nxt - t))[same & (d0 < ndays)])
    for i in np.flatnonzero(~same):  # a level spanning midnight: split it day by day (rare)
        lo, hi = t[i], nxt[i]
        for d in range(d0[i], min(d1[i], ndays - 1) + 1):
            a, b = max(lo, d * DAY), min(hi, (d + 1) * DAY)
            if b > a:
                area[d] += n[i] * (b - a)
    return area


def _busy_per_day(team: TeamRecord, cal: BusinessCalendar, share: float, ndays: int) -> np.ndarray:
    """Blocked working minutes per day: each attempt's span (handle / share) split at midnights."""
    start, end = team.start, team.start + team.handle / share
    d0 = np.clip((start // DAY).astype(np.int64), 0, ndays)
    d1 = np.clip((np.nextafter(end, -np.inf) // DAY).astype(np.int64), d0, ndays)
    span = d1 - d0 + 1
    idx = np.repeat(np.arange(start.size), span)
    day = d0[idx] + (np.arange(idx.size) - np.repeat(np.cumsum(span) - span, span))
    lo = np.maximum(start[idx], day * DAY)
    hi = np.minimum(end[idx], (day + 1) * DAY)
    work = np.asarray(cal.business_between(lo, np.maximum(hi, lo)))
    keep = day < ndays
    return np.bincount(day[keep], weights=work[keep], minlength=ndays)[:ndays]
